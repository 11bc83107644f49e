"""One upstream fetch of a blob, shared by every client that asks for it meanwhile.

The fetch writes the upstream's bytes into an upload of the mirror's own registry; clients read
the bytes that have landed (from a descriptor the fetch holds open, so the file's rename into
``blobs/`` does not disturb them) and then follow the writer. A storage with no local file (S3)
gets a spool beside the upload: the same bytes in an unlinked file of the temporary directory
(``TMPDIR``), which clients follow the same way and which is gone when the last one is done. The upload is published only
after its digest is verified, and the last byte of every client's body is held back until then:
a truncated or corrupt upstream response ends every client's connection before its body is
complete (an error, never wrong bytes) and leaves no blob behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable

import httpx

from dockyard.digest import Digest
from dockyard.errors import BlobUnknown, DigestInvalid, DockyardError
from dockyard.registry._registry import Registry
from dockyard.registry.proxy._errors import UpstreamBadGateway, upstream_status_error
from dockyard.registry.proxy._upstream import UpstreamClient
from dockyard.registry.storage import upload_data_key

__all__ = ["BlobFetch"]

log = logging.getLogger("dockyard.registry.proxy")

#: Bytes per read when a client follows a fetch.
CHUNK = 1 << 20

Run = Callable[..., Awaitable[object]]


class BlobFetch:
    """A blob on its way from the upstream; ``run()`` is the fetch, ``stream()`` a client."""

    def __init__(
        self,
        registry: Registry,
        client: UpstreamClient,
        repository: str,
        upstream_repository: str,
        digest: Digest,
        run: Callable[..., Awaitable[object]],
    ) -> None:
        self.registry = registry
        self.client = client
        self.repository = repository
        self.upstream_repository = upstream_repository
        self.digest = digest
        self._run = run
        #: the upstream's Content-Length, once its headers are in
        self.size: int | None = None
        self.written = 0
        #: set once the upstream answered (size known) or the fetch failed
        self.started = asyncio.Event()
        #: None while running; then True (verified and published) or the error
        self.outcome: bool | DockyardError | None = None
        self._progress = asyncio.Condition()
        self._fd: int | None = None
        self._readers = 0
        self._finished = False

    # --- the fetch ---------------------------------------------------------------------------

    async def run(self) -> int:
        """Fetch, verify and publish the blob; the bytes received. Never raises: the outcome
        (and every client following) says how it ended."""
        uploads = self.registry.uploads
        upload_id: str | None = None
        writer = None
        outcome: bool | DockyardError = UpstreamBadGateway(
            f"fetching blob {self.digest} from {self.client.upstream.name} was cancelled"
        )
        try:
            response = await self.client.send(
                "GET",
                f"/v2/{self.upstream_repository}/blobs/{self.digest}",
                self.upstream_repository,
                stream=True,
            )
            try:
                if response.status_code != 200:
                    raise upstream_status_error(
                        response.status_code,
                        self.client.upstream.name,
                        f"blob {self.digest} of {self.upstream_repository}",
                        BlobUnknown,
                        response.headers.get("retry-after"),
                    )
                length = response.headers.get("content-length")
                if length is None or not length.isdigit():
                    raise UpstreamBadGateway(
                        f"upstream {self.client.upstream.name} sent blob {self.digest} "
                        "without a Content-Length"
                    )
                upload_id = str(await self._run(uploads.start, self.repository, persistent=False))
                writer = uploads.open_unrecorded(upload_id)
                path = self.registry.storage.local_path(upload_data_key(upload_id))
                spool: int | None = None
                if path is not None:
                    self._fd = os.open(path, os.O_RDONLY)
                else:  # clients follow a local copy of what the storage receives
                    spool = self._fd = _anonymous_file()
                self.size = int(length)
                self.started.set()
                async for chunk in response.aiter_raw():
                    if self.written + len(chunk) > self.size:
                        raise UpstreamBadGateway(
                            f"upstream {self.client.upstream.name} sent more than the "
                            f"{self.size} bytes of blob {self.digest}"
                        )
                    if spool is None:
                        await self._run(writer.write, chunk)
                    else:
                        await self._run(_write_both, writer.write, spool, chunk)
                    await self._advance(len(chunk))
            except httpx.HTTPError as exc:
                raise UpstreamBadGateway(
                    f"upstream {self.client.upstream.name} broke off blob {self.digest} after "
                    f"{self.written} of {self.size} bytes: {type(exc).__name__}"
                ) from exc
            finally:
                await response.aclose()
            if self.written != self.size:
                raise UpstreamBadGateway(
                    f"upstream {self.client.upstream.name} sent {self.written} of the "
                    f"{self.size} bytes of blob {self.digest}"
                )
            assert writer is not None and upload_id is not None
            await self._run(writer.done)
            writer = None
            # verifies the digest, then links and renames into place (DigestInvalid: nothing)
            await self._run(uploads.finish, self.repository, upload_id, self.digest, self.size)
            upload_id = None
            outcome = True
        except DigestInvalid as exc:
            outcome = UpstreamBadGateway(
                f"upstream {self.client.upstream.name} sent bytes that are not blob "
                f"{self.digest}: {exc.message}"
            )
        except DockyardError as exc:
            outcome = exc
        except Exception as exc:
            log.exception("fetching blob %s from %s failed", self.digest, self.client.upstream.name)
            outcome = UpstreamBadGateway(f"fetching blob {self.digest} failed: {exc}")
        finally:
            # the partial bytes go before any client hears of the failure
            if writer is not None:
                with contextlib.suppress(Exception):
                    await self._run(writer.abort)
            if upload_id is not None:
                with contextlib.suppress(Exception):
                    await self._run(uploads.cancel, upload_id)
            await self._end(outcome)
        return self.written

    async def _advance(self, count: int) -> None:
        async with self._progress:
            self.written += count
            self._progress.notify_all()

    async def _end(self, outcome: bool | DockyardError) -> None:
        async with self._progress:
            self.outcome = outcome
            self._finished = True
            self.started.set()
            self._progress.notify_all()
        self._release()

    def _release(self) -> None:
        if self._finished and self._readers == 0 and self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # --- the clients -------------------------------------------------------------------------

    def _moved(self, pos: int) -> bool:
        """Whether a client at ``pos`` has something to do: bytes it may send (all but the
        last one before the verification), or the end."""
        assert self.size is not None
        return self._finished or min(self.written, self.size - 1) > pos

    def attach(self) -> bool:
        """Join as a client reading the bytes as they land; False when that is not possible
        (the fetch is over: the blob is read from the storage instead).
        An attached client calls ``detach()`` when it is done, however it ends."""
        if self._fd is None:
            return False
        self._readers += 1
        return True

    def detach(self) -> None:
        self._readers -= 1
        self._release()

    async def wait(self) -> bool | DockyardError:
        """Wait for the end of the fetch; its outcome."""
        async with self._progress:
            await self._progress.wait_for(lambda: self._finished)
        assert self.outcome is not None
        return self.outcome

    async def follow(self, send_chunk: Callable[[bytes, bool], Awaitable[None]]) -> None:
        """Send the blob to an attached client as it lands: ``send_chunk(data, more)``. Raises the
        fetch's error if it fails (after the body began, the client's connection must then
        be closed without completing it)."""
        assert self._fd is not None and self.size is not None
        fd, size, pos = self._fd, self.size, 0
        while True:
            async with self._progress:
                await self._progress.wait_for(functools.partial(self._moved, pos))
                written, outcome = self.written, self.outcome
            if isinstance(outcome, DockyardError):
                raise outcome
            # the last byte waits for the verification
            limit = written if outcome is True else min(written, size - 1)
            while pos < limit:
                data = await self._run(os.pread, fd, min(CHUNK, limit - pos), pos)
                assert isinstance(data, bytes)
                if not data:
                    raise UpstreamBadGateway(f"blob {self.digest} ended early on disk")
                pos += len(data)
                await send_chunk(data, True)
            if outcome is True and pos >= size:
                await send_chunk(b"", False)
                return


def _anonymous_file() -> int:
    """A read-write descriptor of a new file in the temporary directory that no name reaches
    (its space is freed when the descriptor is closed, however the process ends)."""
    fd, name = tempfile.mkstemp(prefix="dockyard-proxy-")
    os.unlink(name)
    return fd


def _write_both(write: Callable[[bytes], object], fd: int, data: bytes) -> None:
    """``write(data)`` to the storage, then append ``data`` to the spool ``fd``."""
    write(data)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
