"""Project metadata as policy, per project, as Harbor reads it (``auth: projects``).

- ``enable_content_trust_cosign: "true"``: a pull (manifest GET) of a runnable image in the
  project is refused unless a cosign signature is attached to it (or to an index in the same
  repository listing it) — any signature, as Harbor accepts any cosign signature accessory:
  the keys are not checked here (the registry-wide ``policies.signatures`` rules check keys,
  and stay in force on top).
- ``enable_content_trust: "true"``: the same with a Notation signature (an OCI referrer of
  artifact type ``application/vnd.cncf.notary.signature``), as Harbor 2.x means it.
- ``prevent_vul`` / ``severity`` and ``auto_scan`` are read by the scanning service
  (:mod:`dockyard.registry.scanning`) through the same cache.

Refusals are Harbor's: 412 with code ``PROJECTPOLICYVIOLATION`` and Harbor's message.

A project's metadata is cached per process and read again when the project changed: its
store tells the cache (:attr:`ProjectStore.changed`), which drops it here at once and bumps
the registry's shared change counters (the other processes and replicas look at them at most
every :data:`RECHECK` seconds); a cached entry is also read again after :data:`MAX_AGE`
seconds, whatever changed it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from dockyard.digest import Digest
from dockyard.errors import DockyardError, FailedPrecondition, NotFound
from dockyard.oci import Manifest
from dockyard.registry._registry import PullPolicy, Registry
from dockyard.registry.access import ProjectStore
from dockyard.registry.metadata import ManifestRecord
from dockyard.registry.policy.signature import RegistryRepository, _runnable
from dockyard.sign import (
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
    find_referrers,
    parse_payload,
    signature_layers,
)

if TYPE_CHECKING:
    from dockyard.registry.scanning import ScanningService

__all__ = [
    "NOTATION_SIGNATURE",
    "ContentTrust",
    "ProjectPolicyViolation",
    "ProjectSettings",
    "ProjectSettingsCache",
    "add_pull_policy",
    "use_project_metadata",
]

#: Seconds a process trusts a cached project's metadata without reading it again.
MAX_AGE = 5.0
#: Seconds a process trusts it without looking at the shared change counter (a Redis round
#: trip on a cluster): how long another process's change may take to be seen here.
RECHECK = 0.25
#: Projects whose metadata a process keeps (the least recently read are dropped).
MAX_PROJECTS = 4096
NOTATION_SIGNATURE = "application/vnd.cncf.notary.signature"
COSIGN_KEY, NOTATION_KEY = "enable_content_trust_cosign", "enable_content_trust"


class ProjectPolicyViolation(FailedPrecondition):
    """A project's policy refuses the pull (Harbor's ``PROJECTPOLICYVIOLATION``, 412)."""

    oci_code: ClassVar[str] = "PROJECTPOLICYVIOLATION"


def _true(metadata: Mapping[str, str], key: str) -> bool:
    return metadata.get(key, "").lower() == "true"


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    """What a project's metadata asks of the registry's policies."""

    name: str
    auto_scan: bool = False
    prevent_vul: bool = False
    #: the project's ``severity`` as stored ("" when it has none)
    severity: str = ""
    content_trust: bool = False
    content_trust_cosign: bool = False

    @classmethod
    def of(cls, name: str, metadata: Mapping[str, str]) -> ProjectSettings:
        return cls(
            name,
            auto_scan=_true(metadata, "auto_scan"),
            prevent_vul=_true(metadata, "prevent_vul"),
            severity=metadata.get("severity", ""),
            content_trust=_true(metadata, NOTATION_KEY),
            content_trust_cosign=_true(metadata, COSIGN_KEY),
        )


def project_of(repository: str) -> str | None:
    """The project owning ``repository`` (its first path component); None without one."""
    name, slash, _ = repository.partition("/")
    return name if slash and name else None


class ProjectSettingsCache:
    """Project name → :class:`ProjectSettings` (None: no such project), from ``store``."""

    def __init__(
        self,
        store: ProjectStore,
        registry: Registry | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._shared = registry.shared if registry is not None else None
        self._clock = clock
        self._lock = threading.Lock()
        #: name → (shared counter, read at, counter checked at, settings)
        self._entries: dict[str, tuple[int, float, float, ProjectSettings | None]] = {}
        #: changes told here so far: a read that overlapped one is not kept
        self._changes = 0
        store.changed.append(self.changed)

    @staticmethod
    def _key(project: str) -> str:
        return f"\0project-settings\0{project}"

    def _generation(self, project: str) -> int:
        return 0 if self._shared is None else self._shared.get(self._key(project))

    def changed(self, project: str) -> None:
        """After ``project``'s metadata changed (committed): every process reads it again."""
        with self._lock:
            self._entries.pop(project, None)
            self._changes += 1
        if self._shared is not None:
            self._shared.bump(self._key(project))

    def get(self, project: str) -> ProjectSettings | None:
        now = self._clock()
        with self._lock:
            found = self._entries.get(project)
            changes = self._changes
        if found is not None and now - found[2] < RECHECK:
            return found[3]  # dropped at once by a change made here; others' seen in RECHECK
        generation = self._generation(project)
        if found is not None and found[0] == generation and now - found[1] < MAX_AGE:
            with self._lock:
                if self._entries.get(project) is found and self._changes == changes:
                    self._entries[project] = (generation, found[1], now, found[3])
            return found[3]
        metadata = self._store.settings_of(project)
        settings = None if metadata is None else ProjectSettings.of(project, metadata)
        with self._lock:
            if self._changes != changes:
                return settings  # a change was told meanwhile: this read may predate it
            if len(self._entries) >= MAX_PROJECTS:
                self._entries.pop(next(iter(self._entries)))
            self._entries[project] = (generation, now, now, settings)
        return settings

    def peek(self, repository: str) -> tuple[bool, ProjectSettings | None]:
        """Without blocking (no database, no Redis: for the event loop): (True, the settings
        of ``repository``'s project) when they were looked at within RECHECK seconds or there
        is no project; (False, None) when only :meth:`get` can tell."""
        project = project_of(repository)
        if project is None:
            return True, None
        with self._lock:
            found = self._entries.get(project)
        if found is not None and self._clock() - found[2] < RECHECK:
            return True, found[3]
        return False, None

    def of_repository(self, repository: str) -> ProjectSettings | None:
        project = project_of(repository)
        return None if project is None else self.get(project)


def _has_cosign_signature(repo: RegistryRepository, image: Digest) -> bool:
    """Whether a cosign signature of ``image`` is attached (tag schema or referrer): a
    simple-signing layer with a signature annotation whose payload names ``image``. Its key
    is not checked (Harbor accepts any cosign signature accessory)."""
    try:
        layers = signature_layers(repo, image, "sig")
    except DockyardError:
        return False
    for layer in layers:
        annotations = layer.annotations or {}
        if layer.media_type != SIMPLESIGNING_MEDIA_TYPE or not annotations.get(
            SIGNATURE_ANNOTATION
        ):
            continue
        try:
            claims = parse_payload(repo.get_blob(layer))
        except (DockyardError, OSError):
            continue
        if claims.manifest_digest == str(image):
            return True
    return False


def _has_notation_signature(repo: RegistryRepository, image: Digest) -> bool:
    """Whether a Notation signature (an OCI referrer of its artifact type) names ``image``."""
    try:
        for desc in find_referrers(repo, image):
            if desc.artifact_type != NOTATION_SIGNATURE:
                continue
            raw, media_type = repo.get_manifest(str(desc.digest))
            manifest = Manifest.parse(raw, media_type)
            if manifest.subject is not None and manifest.subject.digest == image:
                return True
    except (DockyardError, NotFound):
        return False
    return False


class ContentTrust:
    """The pull policy of ``enable_content_trust_cosign`` and ``enable_content_trust``."""

    def __init__(self, settings: ProjectSettingsCache) -> None:
        self.settings = settings

    def applies(self, repository: str) -> bool:
        known, found = self.settings.peek(repository)
        if not known:
            return True  # check() looks the project up, in a thread
        return found is not None and (found.content_trust_cosign or found.content_trust)

    def check(
        self, registry: Registry, repository: str, reference: str, record: ManifestRecord
    ) -> None:
        found = self.settings.of_repository(repository)
        if found is None or not _runnable(registry, repository, record):
            return  # signatures, SBOMs and other artifacts pull freely (signers need them)
        repo = RegistryRepository(registry, repository)
        digests = [
            Digest.parse(record.digest),
            *(Digest.parse(d) for d in registry.meta.parent_indexes(repository, record.digest)),
        ]
        for wanted, has, kind, key in (
            (found.content_trust_cosign, _has_cosign_signature, "cosign", COSIGN_KEY),
            (found.content_trust, _has_notation_signature, "notation", NOTATION_KEY),
        ):
            if wanted and not any(has(repo, digest) for digest in digests):
                # Harbor's words exactly; the detail says which project setting refused
                raise ProjectPolicyViolation(
                    f"The image is not signed by {kind}.",
                    detail={"project": found.name, "metadata": key},
                )


def add_pull_policy(registry: Registry, *policies: PullPolicy, first: bool = False) -> None:
    """Check ``policies`` (in this order) after the registry's own pull policies, or before
    them with ``first`` (one flat chain)."""
    from dockyard.registry.scanning._service import PolicyChain

    existing = registry.pull_policy
    have: tuple[PullPolicy, ...] = (
        () if existing is None
        else existing.policies if isinstance(existing, PolicyChain)
        else (existing,)
    )  # fmt: skip
    chain = (*policies, *have) if first else (*have, *policies)
    registry.pull_policy = chain[0] if len(chain) == 1 else PolicyChain(*chain)


def use_project_metadata(
    registry: Registry, store: ProjectStore, scanning: ScanningService | None = None
) -> ProjectSettingsCache:
    """Make the projects' metadata policy in ``registry``, checked before the registry-wide
    policies and in Harbor's order: content trust, then (with ``scanning``) ``prevent_vul``;
    ``auto_scan`` with ``scanning`` too. Without a scanner those two do nothing, as in a
    Harbor without one. Returns the settings cache they share."""
    settings = ProjectSettingsCache(store, registry)
    policies: list[PullPolicy] = [ContentTrust(settings)]
    if scanning is not None:
        policies.append(scanning.use_projects(settings))
    add_pull_policy(registry, *policies, first=True)
    return settings
