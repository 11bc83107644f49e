"""Find an image the way docker does: by name[:tag], name@digest, full ID or ID prefix."""

from __future__ import annotations

from dockyard.errors import InvalidArgument, NotFound, ReferenceInvalid
from dockyard.imageservice._summary import ImageSummary
from dockyard.reference import Reference

__all__ = ["find_image", "looks_like_id"]

_HEX = set("0123456789abcdef")


def looks_like_id(text: str) -> bool:
    body = text.removeprefix("sha256:")
    return bool(body) and set(body) <= _HEX and (len(body) >= 1 and len(body) <= 64)


def find_image(text: str, images: list[ImageSummary]) -> ImageSummary:
    """Resolve ``text`` against ``images``; docker's NotFound message when nothing matches."""
    ref: Reference | None = None
    try:
        ref = Reference.parse_with_default_tag(text)
    except ReferenceInvalid:
        ref = None
    if ref is not None:
        for image in images:
            if ref.digest is not None and ref.tag is None:
                if image.descriptor.digest == ref.digest and any(
                    r.name == ref.name for r in image.tags + image.digests
                ):
                    return image
                if image.descriptor.digest == ref.digest:
                    return image
            elif any(str(t) == str(ref) for t in image.tags):
                return image
    if looks_like_id(text):
        body = text.removeprefix("sha256:")
        hits = {i.id: i for i in images if i.id.hex.startswith(body)}
        if len(hits) == 1:
            return next(iter(hits.values()))
        if len(hits) > 1:
            raise InvalidArgument(
                f"image ID prefix {body!r} is ambiguous: it matches {len(hits)} images; "
                "give more characters"
            )
    if ref is None and not looks_like_id(text):
        raise ReferenceInvalid("invalid reference format")
    raise NotFound(f"No such image: {text}")
