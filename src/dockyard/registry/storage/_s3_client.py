"""The S3 driver's connection: one aiobotocore client on one private event-loop thread.

Why a loop thread: the registry's storage calls are synchronous (the HTTP layer runs them in
its worker threads, the CLI and jobs call them directly), while the well-kept S3 client for
Python with real streaming and connection pooling is asynchronous (aiobotocore). Running
``asyncio.run`` per call would build a client and a connection pool per call; a client per
calling thread would multiply pools. So the driver owns one daemon thread running one event
loop with one client (one pool of keep-alive connections), and every blocking method submits
a coroutine there and waits for its result. Calls from many threads interleave on the loop.
A process forked after first use (server workers) starts its own loop and client on first
use, as the parent's thread does not exist in the child.

Errors of the store become dockyard categories here, once: a missing key is NotFound, an
unreachable store or one refusing the credentials is Unavailable (retryable), naming the
bucket and what to check.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
)

from dockyard.errors import NotFound, Unavailable
from dockyard.registry._outages import Outage
from dockyard.registry.storage._s3_config import S3Config

__all__ = ["S3Client", "error_code"]

T = TypeVar("T")

_MISSING = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchUpload"})
#: connections kept open to the store, shared by every thread of the process
_POOL = 64


def error_code(exc: BaseException) -> str | None:
    """The S3 error code of a ClientError ("NoSuchKey", "PreconditionFailed"…), else None."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or None
    return None


class S3Client:
    """Runs coroutines that use the client on the driver's loop; blocking, thread-safe."""

    def __init__(self, config: S3Config) -> None:
        self.config = config
        self._guard = threading.Lock()
        self._pid = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._client_ready: asyncio.Lock | None = None
        #: the store as this process sees it: one log line per outage
        self.outage = Outage(
            f"the S3 store at {config.endpoint_url() or 'AWS'} (bucket {config.bucket})",
            "check storage.s3.regionendpoint and that the store runs there; "
            "uploads in progress continue once it answers",
        )

    # --- the loop ------------------------------------------------------------------------

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="dockyard-s3", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
                self._pid, self._client, self._stack = os.getpid(), None, None
                self._client_ready = None
            return self._loop

    def run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """``await work(client)`` on the loop; its result, or its error as a category."""
        loop = self._running_loop()
        if _on_loop(loop):
            raise RuntimeError("S3Client.run called from its own loop; await the coroutine")
        future = asyncio.run_coroutine_threadsafe(self._call(work), loop)
        return future.result()

    def submit(self, work: Callable[[Any], Awaitable[T]]) -> concurrent.futures.Future[T]:
        """Start ``work`` on the loop without waiting (a lease's renewals); ``cancel()`` on
        the result cancels it there."""
        return asyncio.run_coroutine_threadsafe(self._call(work), self._running_loop())

    async def _call(self, work: Callable[[Any], Awaitable[T]]) -> T:
        try:
            client = await self._get_client()
            result = await work(client)
        except ClientError as exc:
            if _status(exc) >= 500:
                self.outage.failed(exc)
            else:  # the store answered (NoSuchKey, PreconditionFailed…)
                self.outage.succeeded()
            raise self.translate(exc) from exc
        except BotoCoreError as exc:
            self.outage.failed(exc)
            raise Unavailable(
                f"the S3 store at {self.config.endpoint_url() or 'AWS'} "
                f"(bucket {self.config.bucket}) cannot be reached: {exc}",
                hint="check storage.s3.regionendpoint and that the store is up",
            ) from exc
        self.outage.succeeded()
        return result

    def translate(self, exc: ClientError) -> Exception:
        code = error_code(exc) or "?"
        if code in _MISSING:
            return NotFound(f"no such object in bucket {self.config.bucket}")
        if code == "NoSuchBucket":
            return Unavailable(
                f"bucket {self.config.bucket} does not exist",
                hint="create the bucket; the registry does not create it",
            )
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
            return Unavailable(
                f"the S3 store refused the registry's credentials for bucket "
                f"{self.config.bucket} ({code})",
                hint="check storage.s3.accesskey/secretkey and the bucket's policy",
            )
        return Unavailable(
            f"the S3 store failed a request on bucket {self.config.bucket}: {code}: "
            f"{exc.response.get('Error', {}).get('Message', exc)}",
            hint="retry; if it persists, check the store's health",
        )

    async def _get_client(self) -> Any:
        if self._client is not None:
            return self._client
        if self._client_ready is None:
            self._client_ready = asyncio.Lock()
        async with self._client_ready:
            if self._client is None:
                stack = contextlib.AsyncExitStack()
                client = await stack.enter_async_context(self._create())
                try:  # once per process: a missing bucket must not read as missing keys
                    await client.head_bucket(Bucket=self.config.bucket)
                except BaseException as exc:
                    await stack.aclose()
                    if error_code(exc) in ("404", "NoSuchBucket"):
                        raise self.translate(_no_such_bucket(exc)) from exc
                    raise
                self._client, self._stack = client, stack
        return self._client

    def _create(self) -> Any:
        c = self.config
        addressing = "path" if c.forcepathstyle else "auto"
        config = Config(
            region_name=c.region,
            signature_version="s3v4",
            s3={"addressing_style": addressing},
            retries={"max_attempts": c.maxretries, "mode": "standard"},
            max_pool_connections=_POOL,
            connect_timeout=10,
            read_timeout=120,
            user_agent_extra=c.useragent,
            # checksums the store may not know (SeaweedFS, MinIO before 2024) only when asked
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return _session().create_client(
            "s3",
            region_name=c.region,
            endpoint_url=c.endpoint_url(),
            aws_access_key_id=c.accesskey,
            aws_secret_access_key=c.secretkey,
            aws_session_token=c.sessiontoken,
            use_ssl=c.secure,
            verify=False if c.skipverify else None,
            config=config,
        )

    def close(self) -> None:
        """Close the client and stop the loop (this process's; idempotent)."""
        with self._guard:
            loop, thread, stack = self._loop, self._thread, self._stack
            mine = self._pid == os.getpid()
            self._loop, self._thread, self._client, self._stack = None, None, None, None
            self._client_ready = None
        if loop is None or thread is None or not mine:
            return
        if stack is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(stack.aclose(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()


def _status(exc: ClientError) -> int:
    """The HTTP status of the store's answer (0 when unknown)."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status if isinstance(status, int) else 0


def _no_such_bucket(exc: BaseException) -> ClientError:
    """A HEAD's bare 404 on the bucket, as the NoSuchBucket error it stands for."""
    return ClientError({"Error": {"Code": "NoSuchBucket", "Message": str(exc)}}, "HeadBucket")


_session_guard = threading.Lock()
_shared_session: Any = None


def _session() -> Any:
    """One botocore session per process: it holds the parsed service model, which costs far
    more to load than a client costs to create (clients themselves are per driver and loop)."""
    global _shared_session
    with _session_guard:
        if _shared_session is None:
            _shared_session = get_session()
        return _shared_session


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
