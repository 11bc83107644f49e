"""A small network for peer-to-peer tests: a Linux bridge, N network namespaces joined to it
by veth pairs (rate-limited with ``tc``), opentracker and a registry on the bridge's address,
one ``dockyard p2p agent`` per namespace. Everything is torn down on every exit path.

Needs root, ``ip``/``tc`` (iproute2) and ``/usr/bin/opentracker``. Names and the subnet are
derived from the process id, so two runs at once do not collide.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from _infra._cli import dockyard_executable
from _infra.registry_server import wait_ready

OPENTRACKER = "/usr/bin/opentracker"
FETCH_SCRIPT = Path(__file__).with_name("p2p_fetch.py")


def available() -> str | None:
    """Why the network cannot be built here (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"needs {tool} (iproute2)"
    if not Path(OPENTRACKER).exists():
        return "needs opentracker"
    return None


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


@dataclass
class Fabric:
    """``bridge`` with address ``prefix.1``; namespace ``i`` has ``prefix.(i + 2)``."""

    tag: str
    prefix: str
    bridge: str
    namespaces: list[str] = field(default_factory=list)

    @property
    def host_ip(self) -> str:
        return f"{self.prefix}.1"

    def ip(self, i: int) -> str:
        return f"{self.prefix}.{i + 2}"

    def exec_argv(self, i: int, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.namespaces[i], *argv]


@contextlib.contextmanager
def fabric(n: int, rate_mbit: int) -> Iterator[Fabric]:
    """``n`` namespaces on one bridge, every veth limited to ``rate_mbit`` each way."""
    pid = os.getpid()
    tag = f"dyp{pid % 100000}"
    net = Fabric(tag, f"10.231.{pid % 250}", f"{tag}br")
    # SIGTERM (a timeout's kill) unwinds like Ctrl-C, so the finally below still runs
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        _ip("link", "add", net.bridge, "type", "bridge")
        # bridged frames skip iptables: a host firewall (dockerd's FORWARD DROP) stays out
        _ip("link", "set", net.bridge, "type", "bridge", "nf_call_iptables", "0", check=False)
        _ip("addr", "add", f"{net.host_ip}/24", "dev", net.bridge)
        _ip("link", "set", net.bridge, "up")
        for i in range(n):
            ns, host_end, ns_end = f"{tag}n{i}", f"{tag}h{i}", f"{tag}v{i}"
            _ip("netns", "add", ns)
            net.namespaces.append(ns)
            _ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
            _ip("link", "set", ns_end, "netns", ns)
            _ip("link", "set", host_end, "master", net.bridge)
            _ip("link", "set", host_end, "up")
            _ip("-n", ns, "addr", "add", f"{net.ip(i)}/24", "dev", ns_end)
            _ip("-n", ns, "link", "set", ns_end, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            limit = ["root", "tbf", "rate", f"{rate_mbit}mbit", "burst", "64kb", "latency", "100ms"]
            # the host end's egress is the namespace's download; the other end's its upload
            subprocess.run(["tc", "qdisc", "add", "dev", host_end, *limit], check=True)
            subprocess.run(
                ["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", ns_end, *limit],
                check=True,
            )
        yield net
    finally:
        for ns in net.namespaces:
            _ip("netns", "del", ns, check=False)
        for i in range(n):
            _ip("link", "del", f"{tag}h{i}", check=False)
        _ip("link", "del", net.bridge, check=False)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Tracker:
    """opentracker. Debian builds it in whitelist mode: it tracks only the info-hashes
    listed in its whitelist file, which :meth:`allow` extends (and signals it to reread)."""

    announce: str
    whitelist: Path
    process: subprocess.Popen[bytes]

    def allow(self, torrents: Sequence[bytes]) -> None:
        """Track these torrents (bencoded metainfo; v2, so the 20-byte truncated hash)."""
        from dockyard.p2p import bdecode, bencode

        lines = []
        for raw in torrents:
            meta = bdecode(raw)
            assert isinstance(meta, dict)
            lines.append(hashlib.sha256(bencode(meta[b"info"])).hexdigest()[:40] + "\n")
        with open(self.whitelist, "a") as f:
            f.writelines(lines)
        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.2)  # opentracker rereads the list in the background


@contextlib.contextmanager
def tracker(ip: str, port: int, workdir: Path) -> Iterator[Tracker]:
    """opentracker on ``ip:port`` (TCP and UDP) with an empty whitelist."""
    workdir.mkdir(parents=True, exist_ok=True)
    whitelist = workdir / "whitelist.txt"
    whitelist.write_text("")
    # it chroots into workdir and reads the list as nobody
    workdir.chmod(0o755)
    whitelist.chmod(0o644)
    with open(workdir / "opentracker.log", "wb") as log:
        process = subprocess.Popen(
            [OPENTRACKER, "-i", ip, "-p", str(port), "-P", str(port), "-d", str(workdir),
             "-u", "nobody", "-w", whitelist.name],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://{ip}:{port}/stats", timeout=1)
                break
            if process.poll() is not None or time.monotonic() > deadline:
                text = (workdir / "opentracker.log").read_text()
                raise RuntimeError(f"opentracker did not start: {text}")
            time.sleep(0.05)
        yield Tracker(f"http://{ip}:{port}/announce", whitelist, process)
    finally:
        stop(process)


@contextlib.contextmanager
def registry(addr: str, root: Path, env: Mapping[str, str]) -> Iterator[str]:
    """``dockyard registry serve`` on ``addr`` (the bridge's address); yields its URL."""
    root.mkdir(parents=True, exist_ok=True)
    log = root.parent / "registry.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(dockyard_executable()), "registry", "serve", "--root", str(root), "--addr", addr],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    url = f"http://{addr}"
    try:
        wait_ready(url, process, log)
        yield url
    finally:
        stop(process)


@dataclass
class AgentProcess:
    index: int
    url: str
    data: Path
    log: Path
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def agents(
    net: Fabric,
    registry_url: str,
    workdir: Path,
    *,
    username: str,
    password: str,
    extra: Sequence[str] = (),
) -> Iterator[list[AgentProcess]]:
    """One agent per namespace, its mirror on ``0.0.0.0:5050`` there (so ``127.0.0.1:5050``
    inside the namespace, ``<ip>:5050`` from the host); waits until every one answers."""
    started: list[AgentProcess] = []
    try:
        for i in range(len(net.namespaces)):
            data = workdir / f"agent{i}"
            log = workdir / f"agent{i}.log"
            argv = [
                str(dockyard_executable()), "p2p", "agent", "--registry", registry_url,
                "--listen", "0.0.0.0:5050", "--peer-listen", f"{net.ip(i)}:6881",
                "--data", str(data), "--username", username, "--password-stdin", *extra,
            ]  # fmt: skip
            with open(log, "wb") as out:
                process = subprocess.Popen(
                    net.exec_argv(i, argv),
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            assert process.stdin is not None
            process.stdin.write(password.encode() + b"\n")
            process.stdin.close()
            started.append(AgentProcess(i, f"http://{net.ip(i)}:5050", data, log, process))
        for agent in started:
            wait_ready(agent.url, agent.process, agent.log, timeout=30)
        yield started
    finally:
        for agent in started:
            stop(agent.process)


def pull_in_namespace(net: Fabric, i: int, name: str, reference: str) -> subprocess.Popen[bytes]:
    """Start pulling ``name:reference`` through agent ``i``'s mirror from inside its
    namespace (``p2p_fetch.py``); read the outcome with :func:`outcome`."""
    argv = [sys.executable, str(FETCH_SCRIPT), "http://127.0.0.1:5050", name, reference]
    return subprocess.Popen(net.exec_argv(i, argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def outcome(process: subprocess.Popen[bytes], timeout: float) -> dict[str, object]:
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"pull failed ({process.returncode}): {err.decode(errors='replace')}")
    result: dict[str, object] = json.loads(out)
    return result


def metric(text: str, name: str, labels: str = "") -> float:
    """The value of one sample of a Prometheus text page (0 when absent)."""
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)"
    m = re.search(rf"^{pattern}$", text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0
