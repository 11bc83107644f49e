"""Labels: Harbor's labels and their attachment to artifacts, in the registry's database
(every write one transaction)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.registry.labels._schema import (
    MAX_COLOR,
    MAX_DESCRIPTION,
    MAX_NAME,
    artifact_labels,
    labels,
    metadata,
)
from dockyard.registry.metadata import Database, one_per_database
from dockyard.registry.metadata._schema import manifests, repositories

__all__ = [
    "GLOBAL",
    "PROJECT",
    "Label",
    "LabelExists",
    "LabelNotFound",
    "Labels",
    "labels_of",
]

GLOBAL = "g"
PROJECT = "p"
#: Labels one artifact may carry.
MAX_PER_ARTIFACT = 256


def labels_of(db: Database) -> Labels:
    """The labels kept in ``db`` (one store per database; its tables made on first use, so
    call it from a thread)."""
    return _labels_of(db)


class LabelExists(Conflict):
    """A label of that name in that scope (and project) exists already (409)."""


class LabelNotFound(NotFound):
    """No such label (404)."""


@dataclass(frozen=True, slots=True)
class Label:
    id: int
    name: str
    description: str
    color: str
    #: "g" global, "p" project
    scope: str
    #: the project of a project label; 0 for a global one (as Harbor answers)
    project_id: int
    created_at: float
    updated_at: float


def _label(row: Any) -> Label:
    return Label(
        id=int(row.id),
        name=str(row.name),
        description=str(row.description or ""),
        color=str(row.color or ""),
        scope=str(row.scope),
        project_id=int(row.project_id or 0),
        created_at=float(row.created_at),
        updated_at=float(row.updated_at),
    )


def check_label(name: str, description: str, color: str) -> None:
    """InvalidArgument for what Harbor's ``Label.Valid`` refuses (and over-long fields)."""
    if not name:
        raise InvalidArgument("the label's name is empty", hint="give the label a name")
    if len(name) > MAX_NAME:
        raise InvalidArgument(f"the label's name is longer than {MAX_NAME} characters")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidArgument(f"the label's description is longer than {MAX_DESCRIPTION}")
    if len(color) > MAX_COLOR:
        raise InvalidArgument(f"the label's color is longer than {MAX_COLOR} characters")


def _not_found(label_id: int) -> LabelNotFound:
    return LabelNotFound(f"label {label_id} not found", hint="list labels to see their ids")


class Labels:
    """Create, list, change and delete labels; attach them to artifacts and read them back."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        db.create_tables(metadata)

    # --- labels ----------------------------------------------------------------------------

    def get(self, label_id: int) -> Label | None:
        with self._db.read() as conn:
            row = conn.execute(select(labels).where(labels.c.id == label_id)).first()
        return None if row is None else _label(row)

    def page(
        self,
        scope: str,
        project_id: int | None = None,
        *,
        name: str | None = None,
        name_contains: str | None = None,
        sort: Sequence[tuple[str, bool]] = (),
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[int, list[Label]]:
        """(how many match, those of the page): the labels of ``scope`` (of ``project_id``
        for project labels), by ``name`` or a part of it; oldest first unless ``sort``
        (``id``, ``name``, ``creation_time``, ``update_time``, each ascending or not)."""
        where = [labels.c.scope == scope]
        if scope == PROJECT:
            where.append(labels.c.project_id == project_id)
        if name is not None:
            where.append(labels.c.name == name)
        if name_contains is not None:
            where.append(labels.c.name.contains(name_contains, autoescape=True))
        columns = {
            "id": labels.c.id,
            "name": labels.c.name,
            "creation_time": labels.c.created_at,
            "update_time": labels.c.updated_at,
        }
        order = [columns[k].desc() if descending else columns[k] for k, descending in sort]
        query = select(labels).where(*where).order_by(*order, labels.c.id)
        with self._db.read() as conn:
            total = conn.execute(select(func.count()).select_from(labels).where(*where))
            rows = conn.execute(query.offset(offset).limit(limit)).all()
            return int(total.scalar_one()), [_label(r) for r in rows]

    @staticmethod
    def _no_duplicate(
        conn: Connection, name: str, scope: str, project_id: int | None, label_id: int = 0
    ) -> None:
        same = conn.execute(
            select(labels.c.id).where(
                labels.c.name == name,
                labels.c.scope == scope,
                labels.c.project_id.is_(None) if project_id is None else
                labels.c.project_id == project_id,
                labels.c.id != label_id,
            )
        ).first()  # fmt: skip
        if same is not None:
            where = "global" if scope == GLOBAL else f"project {project_id}"
            raise LabelExists(
                f"label {name} already exists ({where} label {same[0]})",
                hint="use that label, or give this one another name",
            )

    def create(
        self, name: str, scope: str, project_id: int | None, description: str = "",
        color: str = "",
    ) -> Label:  # fmt: skip
        """A new label: global (``scope`` g, ``project_id`` None) or of a project (p)."""
        check_label(name, description, color)
        if scope not in (GLOBAL, PROJECT):
            raise InvalidArgument(f"invalid scope: {scope!r}", hint="use g or p")
        if scope == GLOBAL:
            project_id = None
        elif not project_id or project_id <= 0:
            raise InvalidArgument(f"invalid project_id: {project_id}",
                                  hint="a project label needs its project's id")  # fmt: skip
        now = self._clock()
        try:
            with self._db.write() as conn:
                self._no_duplicate(conn, name, scope, project_id)
                result = conn.execute(
                    labels.insert().values(
                        name=name, description=description, color=color, scope=scope,
                        project_id=project_id, created_at=now, updated_at=now,
                    )
                )  # fmt: skip
                (label_id,) = result.inserted_primary_key or (0,)
        except IntegrityError:  # a concurrent create of the same label
            raise LabelExists(f"label {name} already exists") from None
        found = self.get(int(label_id))
        assert found is not None
        return found

    def update(self, label_id: int, name: str, description: str, color: str) -> Label:
        """Rename, describe and colour label ``label_id`` (its scope and project stay)."""
        check_label(name, description, color)
        try:
            with self._db.write() as conn:
                row = conn.execute(select(labels).where(labels.c.id == label_id)).first()
                if row is None:
                    raise _not_found(label_id)
                self._no_duplicate(conn, name, row.scope, row.project_id, label_id)
                conn.execute(
                    update(labels).where(labels.c.id == label_id).values(
                        name=name, description=description, color=color,
                        updated_at=self._clock(),
                    )
                )  # fmt: skip
        except IntegrityError:
            raise LabelExists(f"label {name} already exists") from None
        found = self.get(label_id)
        assert found is not None
        return found

    def delete(self, label_id: int) -> None:
        """The label and its every attachment."""
        with self._db.write() as conn:
            conn.execute(delete(artifact_labels).where(artifact_labels.c.label_id == label_id))
            if not conn.execute(delete(labels).where(labels.c.id == label_id)).rowcount:
                raise _not_found(label_id)

    # --- artifacts' labels -----------------------------------------------------------------

    def attach(self, label_id: int, artifact_id: int) -> None:
        """Attach label ``label_id`` to the artifact (a ``manifests`` row); 409 when it is
        attached already."""
        try:
            with self._db.write() as conn:
                if conn.execute(select(labels.c.id).where(labels.c.id == label_id)).first() is None:
                    raise _not_found(label_id)
                has = conn.execute(
                    select(artifact_labels.c.label_id).where(
                        artifact_labels.c.label_id == label_id,
                        artifact_labels.c.manifest_id == artifact_id,
                    )
                ).first()
                if has is not None:
                    raise Conflict(f"label {label_id} is already added to artifact {artifact_id}")
                count = conn.execute(
                    select(func.count()).select_from(artifact_labels)
                    .where(artifact_labels.c.manifest_id == artifact_id)
                ).scalar_one()  # fmt: skip
                if count >= MAX_PER_ARTIFACT:
                    raise InvalidArgument(f"an artifact carries at most {MAX_PER_ARTIFACT} labels")
                conn.execute(
                    artifact_labels.insert().values(
                        label_id=label_id, manifest_id=artifact_id, created_at=self._clock()
                    )
                )
        except IntegrityError:  # a concurrent attach, or the artifact went meanwhile
            raise Conflict(f"label {label_id} cannot be added to artifact {artifact_id}") from None

    def detach(self, label_id: int, artifact_id: int) -> None:
        """Remove label ``label_id`` from the artifact; 404 when it does not carry it."""
        with self._db.write() as conn:
            gone = conn.execute(
                delete(artifact_labels).where(
                    artifact_labels.c.label_id == label_id,
                    artifact_labels.c.manifest_id == artifact_id,
                )
            )
            if not gone.rowcount:
                raise LabelNotFound(
                    f"reference with label {label_id} and artifact {artifact_id} not found"
                )

    def of_artifacts(self, artifact_ids: Collection[int]) -> dict[int, list[Label]]:
        """Each artifact's labels, in the order they were attached."""
        if not artifact_ids:
            return {}
        query = (
            select(artifact_labels.c.manifest_id, labels)
            .join(labels, labels.c.id == artifact_labels.c.label_id)
            .where(artifact_labels.c.manifest_id.in_(list(artifact_ids)))
            .order_by(artifact_labels.c.created_at, labels.c.id)
        )
        out: dict[int, list[Label]] = {}
        with self._db.read() as conn:
            for row in conn.execute(query):
                out.setdefault(int(row.manifest_id), []).append(_label(row))
        return out

    def names(self, repository: str, digest: str) -> frozenset[str]:
        """The names of the labels attached to ``digest`` in ``repository``."""
        query = (
            select(labels.c.name)
            .select_from(
                artifact_labels.join(labels, labels.c.id == artifact_labels.c.label_id)
                .join(manifests, manifests.c.id == artifact_labels.c.manifest_id)
                .join(repositories, repositories.c.id == manifests.c.repo_id)
            )
            .where(repositories.c.name == repository, manifests.c.digest == digest)
        )  # fmt: skip
        with self._db.read() as conn:
            return frozenset(str(r[0]) for r in conn.execute(query))

    def digests_with_all(self, repository: str, label_ids: Collection[int]) -> tuple[str, ...]:
        """The digests in ``repository`` carrying every one of ``label_ids``."""
        wanted = sorted(set(label_ids))
        query = (
            select(manifests.c.digest)
            .select_from(
                artifact_labels.join(manifests, manifests.c.id == artifact_labels.c.manifest_id)
                .join(repositories, repositories.c.id == manifests.c.repo_id)
            )
            .where(and_(repositories.c.name == repository,
                        artifact_labels.c.label_id.in_(wanted)))
            .group_by(manifests.c.digest)
            .having(func.count(func.distinct(artifact_labels.c.label_id)) == len(wanted))
        )  # fmt: skip
        with self._db.read() as conn:
            return tuple(str(r[0]) for r in conn.execute(query))


_labels_of = one_per_database(Labels)
