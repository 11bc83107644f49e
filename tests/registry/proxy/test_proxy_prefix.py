"""Several upstreams for clients that send no ``?ns=`` (podman, skopeo, docker): a first path
component naming an upstream selects it and is stripped before the upstream request.

A real ``dockyard registry serve`` mirror fronts two real distribution 2.8.2 registries with
token auth (``hub``, the default, and ``ghcr``); each upstream's own access log shows which
one a pull reached and under which name."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from _infra import Podman
from _infra._process import run_command
from _infra.mirror import PASSWORD, USER, Upstream, token_upstream
from _infra.oci_layout import gzip_tar, oci_layout
from _infra.registry_server import RegistryProcess, start_registry
from dockyard.errors import InvalidArgument
from dockyard.registry.proxy import proxy_from_section

pytestmark = pytest.mark.slow

ACCEPT = {"accept": "application/vnd.oci.image.manifest.v1+json"}


@dataclass
class Mirrors:
    hub: Upstream
    ghcr: Upstream
    mirror: RegistryProcess
    layouts: Path

    def push(self, upstream: Upstream, payload: bytes, repo: str, tag: str) -> str:
        layout = self.layouts / f"{upstream.host.replace(':', '_')}-{repo.replace('/', '_')}"
        digest = oci_layout(layout, [gzip_tar("f.txt", payload)])
        run_command(
            ["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
             "--dest-creds", f"{USER}:{PASSWORD}", f"oci:{layout}:t",
             f"docker://{upstream.host}/{repo}:{tag}"],
            timeout=120,
        )  # fmt: skip
        return digest

    def metric(self, line: str) -> float:
        text = httpx.get(f"{self.mirror.url}/metrics", timeout=30).text
        for row in text.splitlines():
            if row.startswith(line + " "):
                return float(row.split()[-1])
        return 0.0


@pytest.fixture(scope="module")
def mirrors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirrors]:
    tmp = tmp_path_factory.mktemp("prefix")
    with token_upstream(tmp / "hub") as hub, token_upstream(tmp / "ghcr") as ghcr:
        creds = f"username: {USER}, password: {PASSWORD}, ttl: 1h"
        config = tmp / "mirror.yml"
        config.write_text(
            "version: 0.1\n"
            "proxy:\n"
            "  upstreams:\n"
            f"    - {{name: hub, remoteurl: 'http://{hub.host}', {creds}}}\n"
            f"    - {{name: ghcr, remoteurl: 'http://{ghcr.host}', {creds}}}\n"
        )
        with start_registry(tmp / "mirror", "--config", str(config)) as mirror:
            layouts = tmp / "layouts"
            layouts.mkdir()
            yield Mirrors(hub, ghcr, mirror, layouts)


def test_podman_and_skopeo_reach_the_second_upstream_through_a_prefixed_location(
    mirrors: Mirrors, podman: Podman, tmp_path: Path
) -> None:
    digest = mirrors.push(mirrors.ghcr, b"only on the second upstream\n" * 100, "org/app", "v1")
    conf = tmp_path / "registries.conf"
    conf.write_text(
        '[[registry]]\nprefix = "ghcr.example"\nlocation = "ghcr.example"\n'
        f'[[registry.mirror]]\nlocation = "{mirrors.mirror.host}/ghcr"\ninsecure = true\n'
    )
    hub_mark = len(mirrors.hub.hits_since(0))
    ghcr_mark = len(mirrors.ghcr.hits_since(0))
    env = {**podman.env, "CONTAINERS_REGISTRIES_CONF": str(conf)}
    pulled = Podman(podman.base, env).run("pull", "-q", "ghcr.example/org/app:v1")
    assert pulled.returncode == 0
    reached = mirrors.ghcr.hits_since(ghcr_mark)
    # the prefix is stripped: the upstream is asked for org/app
    assert any(h.method == "GET" and h.path.startswith("/v2/org/app/blobs/") for h in reached)
    assert all("/ghcr/" not in h.path for h in reached), reached
    assert mirrors.hub.hits_since(hub_mark) == []
    assert mirrors.metric('registry_proxy_misses_total{type="manifest",upstream="ghcr"}') >= 1

    mark = len(mirrors.ghcr.hits_since(0))
    out = tmp_path / "copy"
    run_command(
        ["skopeo", "copy", "--quiet", "--registries-conf", str(conf),
         "docker://ghcr.example/org/app:v1", f"oci:{out}:t"],
        timeout=120,
    )  # fmt: skip
    assert mirrors.ghcr.hits_since(mark) == []  # within the TTL: from the mirror alone
    assert digest in (out / "index.json").read_text()


def test_a_name_without_an_upstreams_prefix_goes_to_the_default(mirrors: Mirrors) -> None:
    on_hub = mirrors.push(mirrors.hub, b"on the default upstream\n" * 100, "team/tool", "v1")
    url = mirrors.mirror.url
    r = httpx.get(f"{url}/v2/team/tool/manifests/v1", headers=ACCEPT, timeout=60)
    assert r.status_code == 200 and r.headers["docker-content-digest"] == on_hub
    # the default's own name selects it too, and names the same cached repository
    mark = len(mirrors.hub.hits_since(0))
    r = httpx.get(f"{url}/v2/hub/team/tool/manifests/v1", headers=ACCEPT, timeout=60)
    assert r.status_code == 200 and r.headers["docker-content-digest"] == on_hub
    assert mirrors.hub.hits_since(mark) == []
    # ghcr/… goes to the second upstream, which has no team/tool
    r = httpx.get(f"{url}/v2/ghcr/team/tool/manifests/v1", headers=ACCEPT, timeout=60)
    assert r.status_code == 404
    assert "upstream ghcr" in r.json()["errors"][0]["message"]


def test_which_names_are_prefixes() -> None:
    proxy = proxy_from_section(
        {
            "remoteurl": "https://registry-1.docker.io",
            "upstreams": [
                {"name": "ghcr", "remoteurl": "https://ghcr.io"},
                {"name": "quay", "remoteurl": "https://quay.io"},
            ],
        }
    )
    assert proxy is not None
    default, ghcr, quay = proxy.upstreams
    assert proxy.for_path("ghcr/org/app") == (ghcr, "org/app")
    assert proxy.for_path("quay/a/b/c") == (quay, "a/b/c")
    assert proxy.for_path("ghcr") == (default, "ghcr")  # a bare name is no prefix
    assert proxy.for_path("library/nginx") == (default, "library/nginx")
    # registry:2's unnamed remoteurl keeps its names whole: default/x is a repository
    assert proxy.for_path("default/x") == (default, "default/x")
    with pytest.raises(InvalidArgument):
        proxy_from_section({"upstreams": [{"remoteurl": "https://ghcr.io"}]})
