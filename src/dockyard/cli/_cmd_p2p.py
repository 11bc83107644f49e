"""``dockyard p2p``: the node agent (a registry mirror fed by a libtorrent swarm) and preheat."""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from dockyard.cli._format import human_size, table
from dockyard.cli._main import cli
from dockyard.client import ClientOptions, Credentials, CredentialStore, registry_host
from dockyard.errors import InvalidArgument

_RATE = re.compile(r"(\d+)\s*([kmg]?)(i?b)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_rate(text: str | None) -> int:
    """``"5M"`` → 5 MiB per second; 0 or nothing: unlimited."""
    if not text:
        return 0
    m = _RATE.fullmatch(text.strip())
    if m is None:
        raise InvalidArgument(f"rate {text!r} is not BYTES[K|M|G] per second, e.g. 5M")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def _token(value: str | None, path: Path | None, option: str) -> str | None:
    """A token given as ``value`` or in the file ``path`` (not both), checked."""
    from dockyard.p2p.agent import check_token

    if path is not None:
        if value:
            raise InvalidArgument(f"give {option} or {option}-file, not both")
        try:
            value = path.read_text().splitlines()[0].strip() if path.stat().st_size else ""
        except OSError as exc:
            raise InvalidArgument(f"cannot read {option}-file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise InvalidArgument(f"{option}-file {path} is not text") from None
    return check_token(value) if value else None


@cli.group("p2p")
def p2p_group() -> None:
    """Peer-to-peer pulls: the node agent (a registry mirror) and preheating."""


@p2p_group.command("agent")
@click.option(
    "--registry", "registry", required=True, help="The registry's URL, e.g. https://reg:5000."
)
@click.option(
    "--listen",
    default="127.0.0.1:5050",
    show_default=True,
    help="HOST:PORT of the mirror endpoint (registry-mirrors, registries.conf).",
)
@click.option(
    "--peer-listen",
    default="0.0.0.0:6881",
    show_default=True,
    help="HOST:PORT libtorrent accepts peers on.",
)
@click.option(
    "--data",
    "data",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the swarm's files and verified blobs.",
)
@click.option(
    "--tracker",
    "trackers",
    multiple=True,
    help="Tracker announce URL (repeatable), besides the registry's p2p.trackers.",
)
@click.option(
    "--mirror-of",
    "mirror_of",
    multiple=True,
    help="Upstream host (repeatable) the registry stands in for, besides its own, in "
    "containerd's ?ns= (e.g. docker.io); other hosts get 404 and containerd's next host.",
)
@click.option("-u", "--username", help="Registry user (default: the docker config's credentials).")
@click.option("-p", "--password", help="Registry password (prefer --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--upload-limit", help="Upload bytes per second, e.g. 5M (default unlimited).")
@click.option("--download-limit", help="Download bytes per second, e.g. 20M (default unlimited).")
@click.option(
    "--tls-verify/--no-tls-verify",
    default=None,
    help="Verify the registry's certificate (default: except for localhost).",
)
@click.option(
    "--timeout",
    type=float,
    default=3600.0,
    show_default=True,
    help="Seconds a blob may take to arrive.",
)
@click.option(
    "--admin-listen",
    help="HOST:PORT serving /metrics and POST /_dockyard/preheat instead of --listen "
    "(registry:2's http.debug.addr); default: --listen serves them.",
)
@click.option(
    "--preheat-token",
    envvar="DOCKYARD_P2P_PREHEAT_TOKEN",
    help="Bearer token POST /_dockyard/preheat requires (prefer the environment variable "
    "DOCKYARD_P2P_PREHEAT_TOKEN or --preheat-token-file); default: none.",
)
@click.option(
    "--preheat-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the preheat token (its first line).",
)
def agent_command(
    registry: str,
    listen: str,
    peer_listen: str,
    data: Path,
    trackers: tuple[str, ...],
    mirror_of: tuple[str, ...],
    username: str | None,
    password: str | None,
    password_stdin: bool,
    upload_limit: str | None,
    download_limit: str | None,
    tls_verify: bool | None,
    timeout: float,
    admin_listen: str | None,
    preheat_token: str | None,
    preheat_token_file: Path | None,
) -> None:
    """Serve a registry mirror on --listen whose blobs come from peers (and the registry as
    a web seed of last resort), e.g.

      dockyard p2p agent --registry https://reg:5000 --data /var/lib/dockyard-p2p
    """
    from dockyard.p2p.agent import Agent, AgentConfig

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    creds: Credentials | None = None
    if username:
        creds = Credentials(username, password or "")
    elif password:
        raise InvalidArgument("--password needs --username")
    else:
        creds = CredentialStore().get(registry_host(registry))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = AgentConfig(
        registry=registry,
        data=data,
        listen=listen,
        peer_listen=peer_listen,
        credentials=creds,
        trackers=trackers,
        upload_limit=parse_rate(upload_limit),
        download_limit=parse_rate(download_limit),
        timeout=timeout,
        options=ClientOptions(tls_verify=tls_verify),
        mirror_of=mirror_of,
        admin_listen=admin_listen,
        preheat_token=_token(preheat_token, preheat_token_file, "--preheat-token"),
    )
    agent = Agent(config)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    agent.start()
    admin = f"; metrics and preheat on {admin_listen}" if admin_listen else ""
    click.echo(
        f"p2p agent for {registry} listening on {listen} (peers on {peer_listen}{admin})", err=True
    )
    stop.wait()
    agent.close()


@p2p_group.command("preheat")
@click.argument("image")
@click.option(
    "--agent",
    "agents",
    multiple=True,
    required=True,
    help="An agent's URL, e.g. http://node1:5050 (repeatable).",
)
@click.option(
    "--timeout", type=float, default=3600.0, show_default=True, help="Seconds each agent may take."
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--token",
    envvar="DOCKYARD_P2P_PREHEAT_TOKEN",
    help="The agents' preheat token (prefer DOCKYARD_P2P_PREHEAT_TOKEN or --token-file).",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the agents' preheat token (its first line).",
)
def preheat_command(
    image: str,
    agents: tuple[str, ...],
    timeout: float,
    fmt: str,
    token: str | None,
    token_file: Path | None,
) -> None:
    """Make every --agent fetch and seed IMAGE (team/app:v1 of the agents' registry) now,
    so that a deploy's pulls find it in the swarm. --agent is the address serving preheat:
    the agent's --admin-listen when it has one."""
    from dockyard.p2p.preheat import check, preheat

    outcomes = preheat(image, agents, timeout=timeout,
                       token=_token(token, token_file, "--token"))  # fmt: skip
    if fmt == "json":
        doc = [
            {"agent": o.agent, "ok": o.ok, "error": o.error,
             "blobs": [{"digest": d, "size": s} for d, s in o.blobs]}
            for o in outcomes
        ]  # fmt: skip
        click.echo(json.dumps(doc, indent=2))
    else:
        rows = [
            [o.agent, "ok" if o.ok else "failed", str(len(o.blobs)),
             human_size(sum(s for _, s in o.blobs)), o.error]
            for o in outcomes
        ]  # fmt: skip
        click.echo(table(["AGENT", "STATUS", "BLOBS", "SIZE", "ERROR"], rows))
    check(outcomes)
