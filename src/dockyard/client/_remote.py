"""Registry images as copy sources and destinations, and the registry client that opens them."""

from __future__ import annotations

from dockyard.client._options import ClientOptions
from dockyard.client._repository import RemoteRepository
from dockyard.client._transport import Transport
from dockyard.errors import DockyardError, NotFound, Unavailable
from dockyard.image import ImageSource, OpenStream
from dockyard.oci import Descriptor
from dockyard.reference import Reference

__all__ = ["RegistryClient", "RegistryDestination", "RemoteImageSource"]


class RegistryClient:
    """Opens repositories (and mirrors) over one shared :class:`Transport`."""

    def __init__(self, options: ClientOptions | None = None) -> None:
        self.options = options or ClientOptions()
        self.transport = Transport(self.options)

    def repository(self, ref: Reference) -> RemoteRepository:
        return RemoteRepository(self.transport, _registry_host(ref.domain), ref.path)

    def pull_repositories(self, ref: Reference) -> list[RemoteRepository]:
        """Mirrors first (docker's ``registry-mirrors``), then the registry itself."""
        host = _registry_host(ref.domain)
        mirrors = self.options.mirrors.get(ref.domain, []) or self.options.mirrors.get(host, [])
        repos = [RemoteRepository(self.transport, m, ref.path, host=host) for m in mirrors]
        repos.append(self.repository(ref))
        return repos

    def source(self, ref: Reference) -> RemoteImageSource:
        return RemoteImageSource(self, ref)

    def destination(self, ref: Reference) -> RegistryDestination:
        return RegistryDestination(self.repository(ref), ref)


def _registry_host(domain: str) -> str:
    return "registry-1.docker.io" if domain == "docker.io" else domain


def _reference_part(ref: Reference) -> str:
    if ref.digest is not None:
        return str(ref.digest)
    return ref.tag or "latest"


class RemoteImageSource:
    """The manifest a reference names, and blobs from the repository that served it (a mirror
    when one has it). Every blob is verified by digest as it streams; dropped connections
    resume with ``Range``."""

    def __init__(self, client: RegistryClient, ref: Reference) -> None:
        self.client = client
        self.ref = ref
        self._candidates = client.pull_repositories(ref)
        self.repository = self._candidates[-1]

    @property
    def blobs(self) -> RemoteRepository:
        return self.repository

    def describe(self) -> str:
        return f"docker://{self.ref}"

    def root(self) -> tuple[Descriptor, bytes]:
        reference = _reference_part(self.ref)
        last: DockyardError | None = None
        for repo in self._candidates:
            mirror = repo is not self._candidates[-1]
            try:
                found = repo.get_manifest(reference)
            except (NotFound, Unavailable) as exc:
                if not mirror:
                    raise
                last = exc
                continue
            self.repository = repo
            return found
        assert last is not None
        raise last

    def close(self) -> None:
        pass


class RegistryDestination:
    """Pushes blobs (skipping those the registry has, mounting from a sibling repository),
    children manifests by digest, then the root under the reference's tag."""

    keeps_partial_index = False

    def __init__(self, repository: RemoteRepository, ref: Reference) -> None:
        self.repository = repository
        self.ref = ref

    def describe(self) -> str:
        return f"docker://{self.ref}"

    def has_blob(self, descriptor: Descriptor) -> bool:
        return self.repository.blob_exists(descriptor.digest, push=True)

    def mount_blob(self, descriptor: Descriptor, source: ImageSource) -> bool:
        if not isinstance(source, RemoteImageSource):
            return False
        origin = source.repository
        if origin.where != self.repository.where or origin.path == self.repository.path:
            return False
        return self.repository.mount_blob(descriptor.digest, origin.path)

    def put_blob(self, descriptor: Descriptor, open_stream: OpenStream) -> None:
        self.repository.upload_blob(descriptor, open_stream)

    def put_manifest(self, descriptor: Descriptor, raw: bytes) -> None:
        self.repository.put_manifest(str(descriptor.digest), raw, descriptor.media_type)

    def commit(self, root: Descriptor, raw: bytes) -> None:
        reference = self.ref.tag if self.ref.tag is not None else str(root.digest)
        if self.ref.digest is not None and self.ref.digest != root.digest:
            raise DockyardError(
                f"cannot push {root.digest} as {self.ref}: the reference names another digest"
            )
        self.repository.put_manifest(reference, raw, root.media_type)

    def close(self) -> None:
        pass
