"""Where an IMAGE argument points: ``oci:DIR[:TAG|@DIGEST]`` or a registry reference."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockyard.client import ClientOptions, RegistryClient
from dockyard.digest import Digest
from dockyard.errors import InvalidArgument
from dockyard.reference import Reference
from dockyard.sign._remote import ClientRepository
from dockyard.sign._repository import LayoutRepository, Repository

__all__ = ["Target", "open_target"]


@dataclass(frozen=True, slots=True)
class Target:
    repo: Repository
    #: A tag or a digest, as given (``latest`` when nothing was).
    reference: str
    text: str

    @property
    def by_digest(self) -> bool:
        return Digest.is_valid(self.reference)

    def digest(self) -> Digest:
        """The manifest digest the reference names now."""
        if self.by_digest:
            digest = Digest.parse(self.reference)
            self.repo.resolve(self.reference)
            return digest
        return self.repo.resolve(self.reference).digest


def open_target(text: str, client: RegistryClient | None = None) -> Target:
    """``oci:DIR[:TAG|@DIGEST]`` opens an OCI layout; anything else is a registry reference
    (opened with ``client``, or one configured from the registries config)."""
    if text.startswith("oci:"):
        rest = text[4:]
        if "@" in rest:
            path, reference = rest.rsplit("@", 1)
        elif ":" in rest:
            path, reference = rest.split(":", 1)
        else:
            path, reference = rest, "latest"
        if not path:
            raise InvalidArgument(f"{text!r}: oci: needs a directory (oci:DIR[:TAG|@DIGEST])")
        return Target(LayoutRepository(Path(path)), reference, text)
    ref = Reference.parse_with_default_tag(text)
    reference = str(ref.digest) if ref.digest is not None else (ref.tag or "latest")
    client = client or RegistryClient(ClientOptions.from_config())
    return Target(ClientRepository(client.repository(ref), ref), reference, text)
