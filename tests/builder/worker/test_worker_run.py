"""RUN in real crun and runc on real overlayfs snapshots: layers, exit codes, isolation, mounts."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.worker_helpers import commit, layer_file, layer_members
from dockyard.builder.worker import Snapshot, Worker
from dockyard.builder.worker._mounts import BindMount, CacheMount, SecretMount, TmpfsMount
from dockyard.builder.worker._run import RunRequest
from dockyard.errors import NotFound, RunFailed


def sh(script: str, **kwargs: object) -> RunRequest:
    return RunRequest(("/bin/sh", "-c", script), **kwargs)  # type: ignore[arg-type]


def run_and_commit(worker: Worker, base: Snapshot, request: RunRequest, **kw: object):  # type: ignore[no-untyped-def]
    lines: list[str] = []
    with worker.snapshots.writable(base) as work:
        worker.run(work, request, on_output=lines.append, **kw)  # type: ignore[arg-type]
        layer, snap = commit(worker, work)
    return layer, snap, lines


def test_run_writes_exactly_one_file(worker: Worker, base: Snapshot) -> None:
    layer, _, lines = run_and_commit(worker, base, sh("echo hello > /greeting; echo done"))
    assert lines == ["done"]
    members = layer_members(worker.store, layer)
    assert list(members) == ["greeting"]
    assert layer_file(worker.store, layer, "greeting") == b"hello\n"


def test_deletion_becomes_whiteout_and_child_sees_it(worker: Worker, base: Snapshot) -> None:
    layer, snap, _ = run_and_commit(worker, base, sh("rm /bin/yes && rm -r /var"))
    assert sorted(layer_members(worker.store, layer)) == [".wh.var", "bin", "bin/.wh.yes"]
    _, _, lines = run_and_commit(worker, snap, sh("ls /bin/yes /var 2>&1; echo end"))
    assert lines[-1] == "end" and all("No such file" in x for x in lines[:-1])


def test_replaced_directory_is_opaque(worker: Worker, base: Snapshot) -> None:
    layer, _, _ = run_and_commit(worker, base, sh("rm -rf /usr && mkdir /usr && echo x > /usr/new"))
    names = sorted(layer_members(worker.store, layer))
    assert names == ["usr", "usr/.wh..wh..opq", "usr/new"]


def test_exit_code_and_last_lines_are_reported(worker: Worker, base: Snapshot) -> None:
    with worker.snapshots.writable(base) as work, pytest.raises(RunFailed) as info:
        worker.run(work, sh("for i in 1 2 3; do echo line$i; done; exit 7", description="RUN x"))
    assert info.value.exit_status == 7
    assert info.value.output_tail == ("line1", "line2", "line3")
    assert "RUN x did not complete successfully: exit code: 7" in str(info.value)
    assert "line3" in str(info.value)


@pytest.mark.slow
def test_signal_and_timeout_kill_the_step(worker: Worker, base: Snapshot) -> None:
    with worker.snapshots.writable(base) as work, pytest.raises(RunFailed) as info:
        worker.run(work, sh("echo started; sleep 60", timeout=1.5))
    assert info.value.exit_status == 128 + 9
    assert info.value.output_tail[0] == "started"
    assert "timeout" in info.value.output_tail[-1]
    assert not list((worker.root / "bundles").iterdir())  # bundle cleaned up


@pytest.fixture
def http_listener() -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"reachable\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_host_network_reaches_host_and_none_does_not(
    worker: Worker, base: Snapshot, http_listener: int
) -> None:
    # busybox nc: the static busybox's wget crashes resolving names without the image's NSS
    fetch = (
        f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 127.0.0.1 {http_listener} 2>&1 "
        "| tail -n 1; echo end"
    )
    _, _, host_lines = run_and_commit(worker, base, sh(fetch))
    assert host_lines[-2:] == ["reachable", "end"]
    _, _, none_lines = run_and_commit(worker, base, sh(fetch, network="none"))
    assert "reachable" not in none_lines and none_lines[-1] == "end"
    _, _, ifaces = run_and_commit(worker, base, sh("ls /sys/class/net", network="none"))
    assert ifaces == ["lo"]


def test_run_cannot_escape_its_root(worker: Worker, base: Snapshot, tmp_path: Path) -> None:
    marker = f"escape-{os.getpid()}"
    layer, _, _ = run_and_commit(
        worker, base, sh(f"echo out > /../../{marker} && echo out > /proc/../../../tmp/{marker}")
    )
    assert sorted(layer_members(worker.store, layer)) == [marker, "tmp", f"tmp/{marker}"]
    assert not os.path.exists(f"/{marker}") and not os.path.exists(f"/tmp/{marker}")


def test_system_mounts_and_etc_files_stay_out_of_the_layer(worker: Worker, base: Snapshot) -> None:
    script = (
        "hostname; test -e /etc/hostname || echo no-hostname-file; grep -c localhost /etc/hosts; "
        "echo x 2>/dev/null >> /etc/hosts || echo hosts-read-only; test -s /etc/resolv.conf && echo dns; "
        "test -c /dev/null && echo dev; test -d /proc/self && echo proc; "
        "grep -q CapBnd /proc/self/status && echo caps; echo $PATH"
    )
    layer, _, lines = run_and_commit(worker, base, sh(script))
    assert [line for line in lines if "Read-only" not in line] == [
        "buildkitsandbox",
        "no-hostname-file",  # docker 20.10's BuildKit does not mount /etc/hostname
        "2",
        "hosts-read-only",
        "dns",
        "dev",
        "proc",
        "caps",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]
    assert layer_members(worker.store, layer) == {}


def test_user_names_env_and_workdir(worker: Worker, base: Snapshot) -> None:
    _, _, lines = run_and_commit(
        worker,
        base,
        RunRequest(
            ("/bin/sh", "-c", "id -u; id -g; pwd; echo $GREETING"),
            env=("GREETING=hi",),
            cwd="/srv/dir",
            user="daemon",
        ),
    )
    assert lines == ["1", "1", "/srv/dir", "hi"]
    _, _, lines = run_and_commit(worker, base, sh("id -u; id -g", user="nobody:daemon"))
    assert lines == ["65534", "1"]
    with (
        worker.snapshots.writable(base) as work,
        pytest.raises(Exception, match="unable to find user"),
    ):
        worker.run(work, sh("true", user="nosuchuser"))


def test_secret_is_readable_but_not_in_the_layer(
    worker: Worker, base: Snapshot, tmp_path: Path
) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cr3t")
    request = sh(
        "cat /run/secrets/token; echo; cat /etc/app-key; cp /run/secrets/token /copied",
        mounts=(SecretMount("token"), SecretMount("key", target="/etc/app-key")),
    )
    layer, _, lines = run_and_commit(
        worker, base, request, secrets={"token": secret, "key": secret}
    )
    assert lines == ["s3cr3t", "s3cr3t"]
    # as docker 20.10's BuildKit: the secrets' file stubs go, the parents made for them stay
    assert sorted(layer_members(worker.store, layer)) == ["copied", "run", "run/secrets"]
    with worker.snapshots.writable(base) as work, pytest.raises(NotFound, match="--secret id=x"):
        worker.run(work, sh("true", mounts=(SecretMount("x", required=True),)))


def test_cache_mount_persists_between_runs(worker: Worker, base: Snapshot) -> None:
    mount = (CacheMount("/tmp/cachedir"),)
    for expected in ("1", "2"):
        layer, _, lines = run_and_commit(
            worker,
            base,
            sh("echo x >> /tmp/cachedir/count; wc -l < /tmp/cachedir/count", mounts=mount),
        )
        assert lines == [expected]
        # the mount point stays in the layer (as in docker's), nothing written below it does
        assert sorted(layer_members(worker.store, layer)) == ["tmp", "tmp/cachedir"]
    other = (CacheMount("/tmp/cachedir", id="other"),)
    _, _, lines = run_and_commit(worker, base, sh("ls /tmp/cachedir | wc -l", mounts=other))
    assert lines == ["0"]


def test_bind_and_tmpfs_mounts(worker: Worker, base: Snapshot, tmp_path: Path) -> None:
    context = tmp_path / "context"
    (context / "src").mkdir(parents=True)
    (context / "src" / "a.txt").write_text("from context\n")
    request = sh(
        "cat /mnt/a.txt; (echo y > /mnt/b) 2>/dev/null || echo ro; echo t > /scratch/t; ls /scratch",
        mounts=(BindMount("/mnt", context, "src"), TmpfsMount("/scratch")),
    )
    layer, _, lines = run_and_commit(worker, base, request)
    assert lines == ["from context", "ro", "t"]
    assert sorted(layer_members(worker.store, layer)) == ["mnt", "scratch"]  # as docker's
    assert sorted(os.listdir(context / "src")) == ["a.txt"]
