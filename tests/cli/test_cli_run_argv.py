"""``dockyard run`` read without click (``dockyard.cli._run_argv``) against the click command.

The parser's table and defaults are checked against the click command's own parameters; every
command line the parser accepts must give exactly the parameters click gives, and every other
one must go to click. Then the same command lines run over real crun through both ways into
one store: the fast way with click made unimportable (so a command line it did not handle
fails loudly), the click way through the click group directly. Output, exit status, signal
forwarding and what is left in the store must be the same.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from _infra import make_busybox_rootfs, tar_rootfs
from _infra._cli import run_dockyard
from dockyard.cli._cmd_container import run_cmd
from dockyard.cli._main import cli
from dockyard.cli._run_argv import DEFAULTS, NETWORKS, OPTIONS, parse

#: the fast way: ``dockyard`` as installed, with ``import click`` failing
_FAST = (
    "import sys\n"
    "class _NoClick:\n"
    "    @staticmethod\n"
    "    def find_spec(name, path=None, target=None):\n"
    "        if name == 'click' or name.startswith('click.'):\n"
    "            raise ImportError('the fast path loaded click: ' + name)\n"
    "sys.meta_path.insert(0, _NoClick)\n"
    "sys.argv[0] = 'dockyard'\n"
    "from dockyard.cli import main\n"
    "main()\n"
)
#: the click way: the command group, without the pre-dispatch of ``dockyard.cli.main``
_CLICK = "import sys\nsys.argv[0] = 'dockyard'\nfrom dockyard.cli._main import main\nmain()\n"
#: ``dockyard`` as installed (the fast way, handing over to click when it does not apply)
_ENTRY = "import sys\nsys.argv[0] = 'dockyard'\nfrom dockyard.cli import main\nmain()\n"


def _click_params(args: list[str]) -> dict[str, Any]:
    """The parameters click parses ``dockyard run ARGS`` into (under the real group, so its
    help option names apply)."""
    parent = cli.make_context("dockyard", ["run", "x"])
    with run_cmd.make_context("run", list(args), parent=parent) as ctx:
        return dict(ctx.params)


def _param(name: str) -> click.Parameter:
    return next(p for p in run_cmd.params if p.name == name)


def test_the_table_is_the_click_commands_own() -> None:
    for opt, (dest, takes_value, multiple) in OPTIONS.items():
        param = _param(dest)
        assert isinstance(param, click.Option)
        assert opt in param.opts, opt
        assert param.is_flag is not takes_value, opt
        assert param.multiple is multiple, opt
    # every spelling of a flag the table reads is in it
    for dest in {spec[0] for spec in OPTIONS.values()}:
        assert set(_param(dest).opts) <= set(OPTIONS), dest
    network = _param("network")
    assert isinstance(network.type, click.Choice)
    assert tuple(network.type.choices) == NETWORKS


def test_every_click_option_is_read_here_or_handed_to_click() -> None:
    """The two tables cannot drift apart: each option string of the click command (its help
    option included) is in :data:`OPTIONS` naming the same parameter, or a command line with it
    goes to click; and the table has no option the click command lacks."""
    ctx = click.Context(run_cmd, info_name="run", parent=cli.make_context("dockyard", ["run"]))
    click_options = {
        opt: param
        for param in run_cmd.get_params(ctx)
        if isinstance(param, click.Option)
        for opt in (*param.opts, *param.secondary_opts)
    }
    assert set(OPTIONS) <= set(click_options)
    handed_over = []
    for opt, param in click_options.items():
        if opt in OPTIONS:
            assert OPTIONS[opt][0] == param.name, opt
            continue
        value = [] if param.is_flag else ["v"]
        for argv in (["run", opt, *value, "img"], ["run", "--rm", opt, *value, "img", "true"]):
            assert parse(argv) is None, argv
        handed_over.append(opt)
    assert sorted(handed_over) == ["--debug", "--env-file", "--help", "--platform", "--tty", "-t"]


def test_the_defaults_are_the_click_commands_own() -> None:
    params = _click_params(["img"])
    assert {k: v for k, v in params.items() if k not in ("image", "command")} == DEFAULTS


ACCEPTED = [
    ["run", "img"],
    ["run", "--rm", "img", "true"],
    ["run", "--rm", "-e", "A=1", "--env", "B", "--env=C=", "img", "sh", "-c", "echo $A"],
    ["run", "-i", "--interactive", "-w", "/tmp", "--workdir=/", "img"],
    ["run", "-u", "1:1", "--user", "daemon", "--entrypoint", "", "img", "--rm", "-x"],
    ["run", "--network", "none", "--network=host", "--name", "n", "img", "-it"],
    ["run", "-v", "/a:/b", "--volume=/c:/d:ro", "--tmpfs", "/t", "--read-only", "img"],
    ["run", "-h", "box", "--hostname", "box2", "img", "--help"],
    ["run", "--rm", "-", "x"],
    ["--root", "/store", "run", "--rm", "img"],
    ["--root=/store", "run", "img", "true"],
    ["run", "--entrypoint=", "--name=", "img"],
]


@pytest.mark.parametrize("argv", ACCEPTED, ids=lambda a: " ".join(a))
def test_an_accepted_command_line_gives_clicks_parameters(argv: list[str]) -> None:
    parsed = parse(argv)
    assert parsed is not None
    root, params = parsed
    assert root == ("/store" if argv[0].startswith("--root") else None)
    assert params == _click_params(argv[argv.index("run") + 1 :])


@pytest.mark.parametrize(
    "argv",
    [
        ["run"],  # no image: click's usage error
        ["run", "--rm"],
        ["run", "--help"],
        ["run", "-t", "img"],
        ["run", "-it", "img"],
        ["run", "--tty", "img"],
        ["run", "--platform", "linux/amd64", "img"],
        ["run", "--env-file", "f", "img"],
        ["run", "-eA=1", "img"],  # a value attached to a short flag
        ["run", "--rm=yes", "img"],
        ["run", "--network", "bridge", "img"],
        ["run", "--network=Host", "img"],
        ["run", "-e", "img"],  # the value is missing, or the image is
        ["run", "-e", "-x", "img"],  # a value that looks like a flag
        ["run", "--", "img"],
        ["run", "--unknown", "img"],
        ["run", "--na", "n", "img"],  # no abbreviations
        ["--root", "", "run", "img"],
        ["--root"],
        ["--debug", "run", "img"],
        ["-v", "run", "img"],
        ["build", "run"],
        ["runs", "img"],
    ],
    ids=lambda a: " ".join(a),
)
def test_anything_else_goes_to_click(argv: list[str]) -> None:
    assert parse(argv) is None


# --- real runs, both ways -------------------------------------------------------------------


class Store:
    def __init__(self, root: Path, work: Path) -> None:
        self.root = root
        self.work = work

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKYARD_ROOT": str(self.root)}

    def run(self, way: str, args: list[str], stdin: str | None = None) -> tuple[int, str, str]:
        done = subprocess.run(
            [sys.executable, "-c", way, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(),
            stdin=None if stdin is not None else subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
        return done.returncode, done.stdout, done.stderr

    def containers(self) -> list[dict[str, Any]]:
        """What the store keeps of each container (its record without ids, times and pid)."""
        out = []
        for path in sorted((self.root / "containers").iterdir()):
            if path.name.startswith("."):
                continue
            record = json.loads((path / "container.json").read_text())
            for key in ("id", "created", "started", "finished", "pid"):
                record.pop(key)
            out.append(record)
        return sorted(out, key=lambda r: str(r["name"]))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """``fast:1`` (busybox) and ``fast-cfg:1`` (the same with Env, WorkingDir, User and an
    Entrypoint), each run once so that its snapshot exists."""
    work = tmp_path_factory.mktemp("run-argv")
    root = work / "store"
    base = tar_rootfs(make_busybox_rootfs(work / "rootfs"), work / "base.tar")
    run_dockyard("import", base, "fast:1", root=root)
    run_dockyard(
        "import",
        "-c",
        "ENV GREETING=image PATH=/usr/bin:/bin",
        "-c",
        "WORKDIR /tmp",
        "-c",
        "USER daemon",
        "-c",
        'ENTRYPOINT ["echo", "entry"]',
        base,
        "fast-cfg:1",
        root=root,
    )
    for image in ("fast:1", "fast-cfg:1"):
        run_dockyard("run", "--rm", image, "true", root=root)
    (work / "vol").mkdir()
    (work / "vol" / "f").write_text("from the host\n")
    return Store(root, work)


#: the exit status of each of ``_cases``, as docker gives it (1: busybox's touch failing)
_STATUSES = [0, 3, 127, 127, 126, 126, 125, 125, 125, 125, 125]
_STATUSES += [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 125]  # from the -e/--env case on


def _cases(work: Path) -> list[list[str]]:
    vol = f"{work / 'vol'}:/mnt/vol:ro"
    return [
        ["run", "--rm", "fast:1", "true"],
        ["run", "--rm", "fast:1", "sh", "-c", "echo out; echo err >&2; exit 3"],
        ["run", "--rm", "fast:1", "nothere"],  # 127
        ["run", "--rm", "fast:1", "/bin/nothere"],  # 127
        ["run", "--rm", "fast:1", "/etc"],  # 126
        ["run", "--rm", "fast:1", "/etc/passwd"],  # 126
        ["run", "--rm", "fast:1"],  # no command: 125
        ["run", "--rm", "-e", "=x", "fast:1", "true"],  # 125
        ["run", "--rm", "-v", "rel:/x", "fast:1", "true"],  # 125
        ["run", "--rm", "-w", "rel", "fast:1", "true"],  # 125
        ["run", "--rm", "-u", "nosuch", "fast:1", "true"],  # 125
        ["run", "--rm", "-e", "A=1", "--env=B", "fast:1", "sh", "-c", "echo ${A}-${B}-$HOME"],
        ["run", "--rm", "-w", "/var/x", "-u", "1:1", "fast:1", "sh", "-c", "pwd; id"],
        ["run", "--rm", "fast-cfg:1"],
        ["run", "--rm", "fast-cfg:1", "more"],
        ["run", "--rm", "-e", "GREETING=flag", "fast-cfg:1", "$GREETING"],
        ["run", "--rm", "--entrypoint", "sh", "fast-cfg:1", "-c", "env | sort; pwd; id"],
        ["run", "--rm", "--entrypoint=", "fast-cfg:1", "id"],
        ["run", "--rm", "-u", "root", "--entrypoint", "id", "fast-cfg:1"],
        ["run", "--rm", "--network", "none", "-h", "box", "fast:1", "sh", "-c", "hostname"],
        ["run", "--rm", "-v", vol, "fast:1", "sh", "-c", "cat /mnt/vol/f; touch /mnt/vol/g"],
        ["run", "--rm", "--read-only", "fast:1", "touch", "/x"],
        ["run", "--rm", "--tmpfs", "/scratch", "fast:1", "sh", "-c", "echo a > /scratch/f"],
        ["run", "--rm", "--name", "taken", "fast:1", "true"],  # 125: the name is taken
    ]


@pytest.mark.slow
@pytest.mark.privileged
def test_the_same_command_lines_give_the_same_results(store: Store) -> None:
    run_dockyard("run", "--name", "taken", "fast:1", "true", root=store.root)
    kept = store.containers()
    statuses = []
    for args in _cases(store.work):
        fast = store.run(_FAST, args)
        slow = store.run(_CLICK, args)
        assert fast == slow, args
        assert store.containers() == kept, args  # --rm left nothing, a failure neither
        statuses.append(fast[0])
    # and the results are the right ones (docker's statuses; tests/container compares more)
    assert statuses == _STATUSES
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(store.root) not in mounts
    run_dockyard("rm", "taken", root=store.root)


@pytest.mark.slow
@pytest.mark.privileged
@pytest.mark.parametrize(
    "args",
    [
        ["run", "--rm", "nosuch:1", "true"],  # not in the store
        ["run", "--rm", "fast:1@sha256:" + "0" * 64, "true"],  # a digest reference
        ["run", "--rm", "-t", "fast:1", "true"],  # a flag the fast way does not read
        ["run", "--rm", "--network", "bridge", "fast:1", "true"],  # click's usage error
    ],
    ids=["no-image", "digest", "tty", "bad-network"],
)
def test_what_the_fast_way_hands_over_ends_as_with_click(store: Store, args: list[str]) -> None:
    assert "the fast path loaded click" in store.run(_FAST, args)[2]  # it really hands over
    assert store.run(_ENTRY, args) == store.run(_CLICK, args)


@pytest.mark.slow
@pytest.mark.privileged
def test_stdin_and_kept_containers_are_the_same(store: Store) -> None:
    fast = store.run(_FAST, ["run", "-i", "--rm", "fast:1", "cat"], stdin="hello\n")
    slow = store.run(_CLICK, ["run", "-i", "--rm", "fast:1", "cat"], stdin="hello\n")
    assert fast == slow == (0, "hello\n", "")
    before = store.containers()
    for way, name in ((_FAST, "kept-fast"), (_CLICK, "kept-click")):
        status = store.run(
            way, ["run", "--name", name, "-e", "K=v", "fast:1", "sh", "-c", "exit 4"]
        )
        assert status == (4, "", "")
    records = [r for r in store.containers() if r not in before]
    assert [r.pop("name") for r in records] == ["kept-click", "kept-fast"]
    assert records[0] == records[1]
    assert records[0]["status"] == "exited" and records[0]["exit_code"] == 4
    for name in ("kept-fast", "kept-click"):
        run_dockyard("rm", name, root=store.root)


@pytest.mark.slow
@pytest.mark.privileged
@pytest.mark.parametrize("way", [_FAST, _CLICK], ids=["fast", "click"])
def test_sigterm_reaches_the_container(store: Store, way: str) -> None:
    script = 'trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.05; done'
    proc = subprocess.Popen(
        [sys.executable, "-c", way, "run", "--rm", "fast:1", "sh", "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=store.env(),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert (proc.returncode, out, err) == (7, "got TERM\n", "")
    assert not [p for p in (store.root / "containers").iterdir() if not p.name.startswith(".")]
