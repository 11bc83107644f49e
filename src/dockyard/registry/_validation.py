"""Which children of a pushed index must already be in the repository.

distribution 3's ``validation.manifests.indexes`` section, read the same way::

    validation:
      manifests:
        indexes:
          platforms: list          # all (the default) | none | list, in any case
          platformlist:
            - {os: linux, architecture: amd64}

``all``: every child must be there (an index is complete). ``none``: no child need be — a
*sparse* index, as a filtered mirror of a multi-platform image holds (``skopeo copy
--multi-arch index-only``). ``list``: only children whose platform (os and architecture, as
distribution compares them) is listed must be there; with an empty list, every child must. A
child that is not there is answered 404 MANIFEST_UNKNOWN when pulled, as any unknown manifest.

Every mistake here errs towards checking more: an entry missing ``os`` or ``architecture`` (a
misspelt key, which the config warns about) matches any value of it, so ``{os: linux}``
requires every linux child; distribution would match nothing with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from dockyard.errors import InvalidArgument
from dockyard.oci import Index

__all__ = ["IndexValidation", "PlatformRule", "index_validation_from_section"]

Platforms = Literal["all", "none", "list"]
_OPTIONS: dict[str, Platforms] = {"all": "all", "none": "none", "list": "list"}
_KEY = "validation.manifests.indexes"


@dataclass(frozen=True, slots=True)
class PlatformRule:
    """One ``platformlist`` entry: children of this os and architecture must exist."""

    #: None: any (an entry that leaves it out asks for more children, never fewer)
    os: str | None
    architecture: str | None

    def matches(self, os_name: str, architecture: str) -> bool:
        return self.os in (None, os_name) and self.architecture in (None, architecture)


@dataclass(frozen=True, slots=True)
class IndexValidation:
    """The ``validation.manifests.indexes`` setting in force (the default: ``all``)."""

    platforms: Platforms = "all"
    platform_list: tuple[PlatformRule, ...] = ()

    @property
    def strict(self) -> bool:
        """Whether every child of every index must exist (``all``, or ``list`` of nothing)."""
        return self.platforms == "all" or (self.platforms == "list" and not self.platform_list)

    def required_children(self, index: Index) -> set[str]:
        """Digests of the children of ``index`` the repository must already hold."""
        if self.strict:
            return {str(d.digest) for d in index.manifests}
        if self.platforms == "none":
            return set()
        return {
            str(d.digest)
            for d in index.manifests
            if d.platform is not None
            and any(r.matches(d.platform.os, d.platform.architecture) for r in self.platform_list)
        }


def index_validation_from_section(section: Mapping[str, Any] | None) -> IndexValidation:
    """:class:`IndexValidation` from the checked ``validation`` config section."""
    indexes = ((section or {}).get("manifests") or {}).get("indexes") or {}
    raw = indexes.get("platforms")
    platforms = _OPTIONS.get("all" if raw is None or raw == "" else str(raw).strip().lower())
    if platforms is None:
        raise InvalidArgument(
            f"configuration key '{_KEY}.platforms' must be all, none or list, got {raw!r}",
            hint="all: every child of an index must be pushed first (the default); none: "
            "sparse indexes are accepted; list: only the platforms in platformlist must be",
        )
    rules: list[PlatformRule] = []
    for i, entry in enumerate(indexes.get("platformlist") or []):
        key = f"{_KEY}.platformlist[{i}]"
        if not isinstance(entry, Mapping):
            raise InvalidArgument(
                f"configuration key {key!r} must be a mapping with os and architecture, "
                f"got {entry!r}",
                hint="write each platform as {os: linux, architecture: amd64}",
            )
        os_name, arch = entry.get("os"), entry.get("architecture")
        rules.append(PlatformRule(str(os_name) if os_name else None, str(arch) if arch else None))
    if platforms == "none" and rules:  # (with `all` the list is moot: everything is checked)
        raise InvalidArgument(
            f"configuration key '{_KEY}.platformlist' is set but platforms is none, which "
            "checks no platform",
            hint="set platforms: list for platformlist to apply, or remove platformlist",
        )
    return IndexValidation(platforms, tuple(rules))
