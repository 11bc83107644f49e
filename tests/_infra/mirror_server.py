"""A pull-through cache under test: ``dockyard registry serve`` with a ``proxy:`` section in
front of a :class:`~_infra.mirror.Relay` to a token-authenticated upstream
(:func:`~_infra.mirror.token_upstream`), and what the tests ask of it: push an image straight to
the upstream, look into the mirror's storage (files or the bucket: DOCKYARD_TEST_BACKEND), read
one of its metrics."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from _infra import backend
from _infra._process import run_command
from _infra.mirror import PASSWORD, USER, Relay, Upstream, relay, token_upstream
from _infra.oci_layout import oci_layout
from _infra.registry_server import RegistryProcess, start_registry
from dockyard.digest import Digest
from dockyard.registry.storage import blob_key

__all__ = ["Mirror", "serve_mirror"]


@dataclass
class Mirror:
    upstream: Upstream
    relay: Relay
    server: RegistryProcess
    #: where :meth:`push` writes its layouts
    layouts: Path

    @property
    def url(self) -> str:
        return f"http://{self.server.host}"

    def push_layout(self, layout: Path, repo: str, tag: str, *, timeout: float = 600) -> None:
        """Push the one-image OCI layout ``layout`` (tag ``t``) straight to the upstream."""
        run_command(
            ["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
             "--dest-creds", f"{USER}:{PASSWORD}", f"oci:{layout}:t",
             f"docker://{self.upstream.host}/{repo}:{tag}"],
            timeout=timeout,
        )  # fmt: skip

    def push(self, layers: list[bytes], repo: str, tag: str) -> str:
        """Push a one-image layout of ``layers`` straight to the upstream; the manifest digest."""
        layout = self.layouts / f"{repo.replace('/', '_')}-{tag}-{len(os.listdir(self.layouts))}"
        digest = oci_layout(layout, layers)
        self.push_layout(layout, repo, tag, timeout=120)
        return digest

    def blob_size(self, digest: str) -> int | None:
        """The stored size of blob ``digest`` in the mirror's storage, None when absent."""
        with backend.storage(self.server.root) as storage:
            found = storage.stat(blob_key(Digest.parse(digest)))
        return None if found is None else found.size

    def upload_keys(self) -> list[str]:
        """What the mirror's storage holds under ``uploads/`` (partial bytes of fetches)."""
        with backend.storage(self.server.root) as storage:
            return list(storage.list("uploads"))

    def metric(self, line: str) -> float:
        """The value of the sample ``line`` (name and labels) on /metrics; 0 when absent."""
        text = httpx.get(self.url + "/metrics", timeout=30).text
        found = re.search(rf"^{re.escape(line)} (\S+)$", text, re.MULTILINE)
        return float(found[1]) if found else 0.0


@contextmanager
def serve_mirror(tmp: Path, proxy_config: Callable[[str], str]) -> Iterator[Mirror]:
    """The upstream, its relay and the mirror, in ``tmp``; ``proxy_config(relay_host)`` is the
    mirror's config file."""
    with token_upstream(tmp / "upstream") as upstream, relay(upstream.host) as rel:
        config = tmp / "mirror.yml"
        config.write_text(proxy_config(rel.host))
        with start_registry(tmp / "mirror", "--config", str(config)) as server:
            layouts = tmp / "layouts"
            layouts.mkdir()
            yield Mirror(upstream, rel, server, layouts)
