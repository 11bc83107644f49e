"""``cosign tree``: what is attached to an image (signatures, attestations, SBOMs, referrers)."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.digest import Digest
from dockyard.oci import Descriptor
from dockyard.sign._attach import read_tag_layers
from dockyard.sign._layout_names import attachment_tag
from dockyard.sign._repository import Repository
from dockyard.sign._verify import find_referrers

__all__ = ["Attached", "Tree", "tree"]

_KINDS = (("sig", "signatures"), ("att", "attestations"), ("sbom", "SBOMs"))


@dataclass(frozen=True, slots=True)
class Attached:
    kind: str
    tag: str
    layers: list[Descriptor]


@dataclass(frozen=True, slots=True)
class Tree:
    image: Digest
    attached: list[Attached]
    referrers: list[Descriptor]


def tree(repo: Repository, image: Digest) -> Tree:
    attached = []
    for suffix, kind in _KINDS:
        manifest, layers = read_tag_layers(repo, image, suffix)
        if manifest is not None:
            attached.append(Attached(kind, attachment_tag(image, suffix), layers))
    return Tree(image, attached, find_referrers(repo, image))
