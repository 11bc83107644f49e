"""docker manifest's local manifest lists: ``create`` a draft from images in a registry,
``annotate`` an entry's platform, ``push`` it as one index, ``rm`` it.

A draft is one JSON file per list under ``<store root>/manifests/`` (docker keeps them under
``~/.docker/manifests``), written atomically: the list's name and, per entry, the source
reference and the descriptor (digest, size, media type, platform from the image's config,
changed by ``annotate``, which refuses an os/arch pair docker refuses and a variant the
architecture does not have). ``push`` copies each entry into the list's repository by digest —
blobs the registry has are skipped, blobs of a sibling repository mounted — then pushes the
index under the list's tag: a Docker manifest list when every entry is a Docker schema 2
manifest, else an OCI index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dockyard.atomicfile import write_atomic
from dockyard.client._remote import RegistryClient
from dockyard.client.imagetools import build_index, doubled_platforms
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.image.copy import copy
from dockyard.oci import (
    Descriptor,
    ImageConfig,
    Index,
    Platform,
    parse_manifest_or_index,
)
from dockyard.reference import Reference

__all__ = ["VALID_OS_ARCH", "VARIANTS", "Draft", "ManifestLists", "check_platform"]

#: Entries one list takes, at most.
MAX_ENTRIES = 128

#: The GOOS/GOARCH pairs ``docker manifest annotate`` accepts (docker's list), and linux/loong64,
#: which ``dockyard build --platform`` builds.
VALID_OS_ARCH = frozenset(
    [
        ("darwin", "386"), ("darwin", "amd64"), ("darwin", "arm"), ("darwin", "arm64"),
        ("dragonfly", "amd64"),
        ("freebsd", "386"), ("freebsd", "amd64"), ("freebsd", "arm"),
        ("linux", "386"), ("linux", "amd64"), ("linux", "arm"), ("linux", "arm64"),
        ("linux", "loong64"), ("linux", "mips64"), ("linux", "mips64le"), ("linux", "ppc64le"),
        ("linux", "riscv64"), ("linux", "s390x"),
        ("netbsd", "386"), ("netbsd", "amd64"), ("netbsd", "arm"),
        ("openbsd", "386"), ("openbsd", "amd64"), ("openbsd", "arm"),
        ("plan9", "386"), ("plan9", "amd64"),
        ("solaris", "amd64"),
        ("windows", "386"), ("windows", "amd64"),
    ]
)  # fmt: skip

#: The variants of the architectures that have them (the OCI image index's and containerd's).
VARIANTS = {
    "arm": frozenset(["v5", "v6", "v7", "v8"]),
    "arm64": frozenset(
        ["v8", *(f"v8.{n}" for n in range(1, 10)), "v9", *(f"v9.{n}" for n in range(1, 6))]
    ),
    "amd64": frozenset(["v1", "v2", "v3", "v4"]),
}


def check_platform(platform: Platform) -> None:
    """Refuse an os/arch pair docker refuses, or a variant its architecture does not have."""
    pair = (platform.os, platform.architecture)
    if pair not in VALID_OS_ARCH:
        arches = sorted(a for o, a in VALID_OS_ARCH if o == platform.os)
        hint = (
            f"{platform.os} takes --arch {', '.join(arches)}"
            if arches
            else f"--os is one of {', '.join(sorted({o for o, _ in VALID_OS_ARCH}))}"
        )
        raise InvalidArgument(
            "manifest entry for image has unsupported os/arch combination: "
            f"{platform.os}/{platform.architecture}",
            hint=hint,
        )
    if platform.variant:
        known = VARIANTS.get(platform.architecture, frozenset())
        if platform.variant not in known:
            raise InvalidArgument(
                f"manifest entry for image has unsupported variant {platform.variant!r} for "
                f"{platform.os}/{platform.architecture}",
                hint=f"use one of {', '.join(sorted(known))}"
                if known
                else f"{platform.architecture} has no variants",
            )


@dataclass(frozen=True)
class Draft:
    """A manifest list not pushed yet."""

    name: str
    entries: tuple[tuple[str, Descriptor], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entries": [{"ref": ref, "descriptor": d.to_json()} for ref, d in self.entries],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        return cls(
            str(data["name"]),
            tuple((str(e["ref"]), Descriptor.from_json(e["descriptor"])) for e in data["entries"]),
        )


class ManifestLists:
    """The drafts kept under ``root`` (the local store's root)."""

    def __init__(self, root: Path) -> None:
        self.directory = Path(root) / "manifests"

    def _path(self, name: Reference) -> Path:
        # percent-encoded: one file per name, never shared by two (``a_b/c`` vs ``a/b_c``)
        return self.directory / (quote(str(name), safe="") + ".json")

    def get(self, name: Reference) -> Draft:
        path = self._path(name)
        try:
            return Draft.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            raise NotFound(
                f"No such manifest: {name}",
                hint=f"create it first: dockyard manifest create {name} IMAGE…",
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidArgument(
                f"the local manifest list {name} ({path}) cannot be read: {exc}",
                hint=f"remove it (dockyard manifest rm {name}) and create it again",
            ) from None

    def _save(self, draft: Draft, name: Reference) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        write_atomic(self._path(name), json.dumps(draft.to_json(), indent=2).encode())

    def create(
        self,
        client: RegistryClient,
        name: Reference,
        sources: list[Reference],
        *,
        amend: bool = False,
    ) -> Draft:
        """A draft of ``sources`` (images, not lists) as ``name``; an existing draft only with
        ``amend`` (its entries kept, these added or replaced)."""
        if not sources:
            raise InvalidArgument("manifest create needs at least one image")
        entries: dict[str, tuple[str, Descriptor]] = {}
        if self._path(name).exists():
            if not amend:
                raise AlreadyExists(
                    f"refusing to amend an existing manifest list with no --amend flag: {name}",
                    hint="pass --amend, or dockyard manifest rm it first",
                )
            entries = {str(d.digest): (ref, d) for ref, d in self.get(name).entries}
        for ref in sources:
            source = client.source(ref)
            descriptor, raw = source.root()
            parsed = parse_manifest_or_index(raw, descriptor.media_type)
            if isinstance(parsed, Index):
                raise InvalidArgument(
                    f"{ref} is a manifest list", hint="give the images of its platforms instead"
                )
            config = ImageConfig.parse(source.blobs.read_blob(parsed.config))
            entries[str(descriptor.digest)] = (
                str(ref),
                replace(descriptor, platform=config.platform()),
            )
        if len(entries) > MAX_ENTRIES:
            raise InvalidArgument(
                f"{len(entries)} entries; a manifest list holds at most {MAX_ENTRIES}"
            )
        draft = Draft(str(name), tuple(entries.values()))
        self._save(draft, name)
        return draft

    def annotate(
        self,
        name: Reference,
        image: Reference,
        *,
        os: str | None = None,
        arch: str | None = None,
        variant: str | None = None,
        os_version: str | None = None,
        os_features: tuple[str, ...] = (),
    ) -> Draft:
        """Change the platform of ``image``'s entry in the draft ``name``."""
        draft = self.get(name)
        wanted = str(image)
        found = [
            i
            for i, (ref, d) in enumerate(draft.entries)
            if ref == wanted or (image.digest and d.digest == image.digest)
        ]
        if not found:
            raise NotFound(f"manifest for image {image} does not exist in {name}")
        entries = list(draft.entries)
        for i in found:
            ref, d = entries[i]
            old = d.platform or Platform(os="linux", architecture="amd64")
            platform = Platform(
                os=os or old.os,
                architecture=arch or old.architecture,
                variant=variant if variant is not None else old.variant,
                os_version=os_version if os_version is not None else old.os_version,
                os_features=os_features or old.os_features,
            )
            check_platform(platform)
            entries[i] = (ref, replace(d, platform=platform))
        draft = Draft(draft.name, tuple(entries))
        self._save(draft, name)
        return draft

    def push(self, client: RegistryClient, name: Reference, *, purge: bool = False) -> Descriptor:
        """Copy every entry into ``name``'s repository and push the index as ``name``."""
        draft = self.get(name)
        doubled_platforms([d for _, d in draft.entries], f"{name} has several images for {{}}",
                          "annotate one of them with its real platform, or rm and create the "
                          "list again")  # fmt: skip
        base = name.without_tag_or_digest()
        for ref, descriptor in draft.entries:
            source = client.source(
                Reference.parse(ref).without_tag_or_digest().with_digest(descriptor.digest)
            )
            copy(source, client.destination(base.with_digest(descriptor.digest)))
        index = build_index([d for _, d in draft.entries])
        client.repository(name).put_manifest(name.tag or "latest", index.raw, index.media_type)
        if purge:
            self.rm(name)
        return Descriptor.of(index.raw, index.media_type)

    def rm(self, name: Reference) -> None:
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            raise NotFound(f"No such manifest: {name}") from None
