"""``rmi`` and ``image prune`` with docker's rules for what may go."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from dockyard.errors import Conflict
from dockyard.imageservice._filters import parse_filters
from dockyard.imageservice._lookup import find_image, looks_like_id
from dockyard.imageservice._summary import ImageSummary, summaries
from dockyard.local import LocalStore
from dockyard.reference import Reference

__all__ = ["DeleteResult", "PruneResult", "prune_images", "remove_image"]


@dataclass
class DeleteResult:
    """docker's delete response: what was untagged, what was deleted."""

    untagged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"Untagged: {u}" for u in self.untagged] + [f"Deleted: {d}" for d in self.deleted]

    def to_json(self) -> list[dict[str, str]]:
        return [{"Untagged": u} for u in self.untagged] + [{"Deleted": d} for d in self.deleted]


def _children(image: ImageSummary, images: list[ImageSummary]) -> list[ImageSummary]:
    return [i for i in images if i.parent is not None and i.parent == image.id]


def _untag(store: LocalStore, ref: Reference, result: DeleteResult) -> None:
    store.remove_tag(ref)
    result.untagged.append(ref.familiar)


def _delete(store: LocalStore, image: ImageSummary, result: DeleteResult) -> None:
    for ref in image.tags + image.digests:
        _untag(store, ref, result)
    store.remove_image(image.descriptor.digest)
    result.deleted.append(str(image.id))


def remove_image(
    store: LocalStore, text: str, *, force: bool = False, images: list[ImageSummary] | None = None
) -> DeleteResult:
    """Remove one image or tag, as ``docker rmi`` does. Blobs go at the next GC."""
    images = images if images is not None else summaries(store)
    image = find_image(text, images)
    result = DeleteResult()
    children = _children(image, images)
    by_id = looks_like_id(text) and not any(
        t.familiar == text or str(t) == text or t.familiar_name == text for t in image.tags
    )
    if not by_id:
        ref = Reference.parse_with_default_tag(text)
        match = next((r for r in image.tags + image.digests if str(r) == str(ref)), None)
        if match is None:  # name@digest where the digest is the image's, not a stored ref
            match = next((r for r in image.digests if r.name == ref.name), None)
        if match is not None:
            _untag(store, match, result)
            remaining = [r for r in image.tags if str(r) != str(match)]
            if remaining or children:
                return result
            # the last tag: docker also drops the digest references, then the image
            for ref_digest in image.digests:
                if str(ref_digest) != str(match):
                    _untag(store, ref_digest, result)
            store.remove_image(image.descriptor.digest)
            result.deleted.append(str(image.id))
            return result
    short = image.id.short
    if children:
        raise Conflict(
            f"conflict: unable to delete {short} (cannot be forced) - image has dependent child images"
        )
    repositories = {r.name for r in image.tags + image.digests}
    if len(repositories) > 1 and not force:
        raise Conflict(
            f"conflict: unable to delete {short} (must be forced) - image is referenced in "
            "multiple repositories",
            hint="use -f to remove every tag and the image",
        )
    _delete(store, image, result)
    return result


@dataclass
class PruneResult:
    deleted: DeleteResult
    reclaimed: int


def prune_images(
    store: LocalStore,
    *,
    all_images: bool = False,
    filters: Iterable[str] = (),
    now: datetime | None = None,
) -> PruneResult:
    """Remove dangling images (with ``all_images``: every image) that pass the filters."""
    images = summaries(store)
    test = parse_filters(filters, images, allowed=frozenset({"until", "label", "label!"}), now=now)
    result = DeleteResult()
    doomed = [i for i in images if (all_images or i.dangling) and test(i)]
    doomed_ids = {i.id for i in doomed}
    for image in doomed:
        # a parent stays while a child that is not itself being pruned needs it
        if any(c.id not in doomed_ids for c in _children(image, images)):
            continue
        _delete(store, image, result)
    return PruneResult(result, store.gc().reclaimed)
