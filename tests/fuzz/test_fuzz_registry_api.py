"""The registry API fuzzed from its OpenAPI description (docs/registry-api.yaml).

schemathesis generates requests for every operation — valid and invalid parameters, headers
and bodies — and sends them to a real ``dockyard registry serve`` process. Every answer must
be no 5xx, a status and body the description declares, and come within a bound (no hang); after
the run the server must still answer ``GET /v2/`` and its RSS must not have grown by 50 MB.

``{name}`` holds slashes, so generated names are sent unescaped, and about half the cases use
a repository, tag, digest or upload session that exists, so the handlers get past their lookups.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from _infra.registry_server import RegistryProcess, push_blob, push_image, start_registry

from ._budget import EXAMPLES_ENV, budget

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

DESCRIPTION = Path(__file__).resolve().parents[2] / "docs" / "registry-api.yaml"
#: Generated cases per operation in CI (19 operations); DOCKYARD_FUZZ_EXAMPLES scales it.
EXAMPLES = 15
#: (connect, read) seconds: a liveness bound, far above any answer on a busy machine.
TIMEOUT = (10, 60)
#: How much the server's resident memory may grow over the whole run.
RSS_GROWTH_LIMIT = 50 << 20

#: /v2/ answering 200 to every method was found by this fuzz (fixed; pinned below as
#: test_base_refuses_methods_it_does_not_serve).
CHECKS = [
    unsupported_method,
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _config() -> schemathesis.Config:
    """In CI, no coverage phase for the manifest PUT: its boundary cases over 4 media types and
    the nested descriptor schema come to thousands of requests. Long runs do them all."""
    if os.environ.get(EXAMPLES_ENV):
        return schemathesis.Config.from_dict({})
    return schemathesis.Config.from_dict(
        {
            "operations": [
                {"include-operation-id": "putManifest", "phases": {"coverage": {"enabled": False}}}
            ]
        }
    )


schema = schemathesis.openapi.from_path(DESCRIPTION, config=_config())


@dataclass
class Target:
    """The running server and what exists on it for cases to aim at."""

    server: RegistryProcess
    rss_before: int
    names: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    root = tmp_path_factory.mktemp("fuzz-registry") / "root"
    env = {"REGISTRY_STORAGE_DELETE_ENABLED": "true"}
    with start_registry(root, env=env) as server, httpx.Client(base_url=server.url) as client:
        names = ["library/busybox", "team/app/web", "a"]
        digests: list[str] = []
        for i, name in enumerate(names):
            image = push_image(client, name, "latest", seed=str(i))
            digests += [image.digest, push_blob(client, name, b"blob %d" % i)]
        push_image(
            client,
            names[0],
            "v1",
            seed="referrer",
            subject={
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": digests[0],
                "size": 1,
            },
            artifactType="application/vnd.example+json",
        )
        uploads = []
        for name in names:
            r = client.post(f"/v2/{name}/blobs/uploads/")
            assert r.status_code == 202, r.text
            uploads.append(r.headers["location"].rsplit("/", 1)[1])
        state = Target(
            server, rss_bytes(server.process.pid), names, ["latest", "v1"], digests, uploads
        )
        yield state
        state.session.close()


def _crc(value: object) -> int:
    return zlib.crc32(repr(value).encode("utf-8", "surrogatepass"))


def aim(case: schemathesis.Case[Any], target: Target) -> None:
    """Point about half the cases at one repository that exists and at its tags, digests and
    upload session (chosen from what was generated, so the run stays deterministic); send the
    other cases' names with their slashes."""
    params = case.path_parameters
    if not params or "name" not in params:
        return
    pick = _crc(sorted(params.items()))
    if pick % 2:
        params["name"] = unquote(str(params["name"]))  # "a%2Fb" → "a/b": path segments
        return
    i = (pick // 2) % len(target.names)
    params["name"] = target.names[i]
    mine = target.digests[2 * i : 2 * i + 2]
    if "digest" in params:
        params["digest"] = mine[pick // 8 % 2]
    if "reference" in params:
        params["reference"] = [*target.tags, *mine][pick // 8 % 4]
    if "uuid" in params:
        params["uuid"] = target.uploads[i]


@schema.parametrize()
@settings(
    max_examples=budget(EXAMPLES),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api(case: schemathesis.Case[Any], target: Target) -> None:
    aim(case, target)
    response = case.call(base_url=target.server.url, session=target.session, timeout=TIMEOUT)
    case.validate_response(response, checks=CHECKS)


def test_server_survives_the_fuzz(target: Target) -> None:
    """Runs after the fuzz (file order): still answering, no runaway memory."""
    assert target.server.process.poll() is None, target.server.log.read_text(errors="replace")
    r = requests.get(f"{target.server.url}/v2/", timeout=TIMEOUT)
    assert r.status_code == 200
    growth = rss_bytes(target.server.process.pid) - target.rss_before
    assert growth < RSS_GROWTH_LIMIT, f"server RSS grew by {growth >> 20} MiB during the fuzz"
    log = target.server.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-5000:]


@pytest.mark.parametrize("method", ["PUT", "POST", "PATCH", "DELETE"])
def test_base_refuses_methods_it_does_not_serve(target: Target, method: str) -> None:
    r = requests.request(method, f"{target.server.url}/v2/", timeout=TIMEOUT)
    assert r.status_code == 405, (method, r.status_code)
    assert r.json()["errors"][0]["code"] == "UNSUPPORTED"
