"""Scan on push and the block-severity pull policy through a real ``dockyard registry serve``,
with docker and skopeo pushing and pulling, and the advisories of the shared test data."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from _infra import BuiltImage, DockerDaemon, run_command, run_dockyard
from _infra.registry_server import RegistryProcess, start_registry

# the scan tests' helpers: an environment of old pip-installed packages and the test data
from _infra.scan_env import SITE, VULNDB
from _infra.scan_pyenv import PYTHON_FINDINGS, python_site_packages

pytestmark = pytest.mark.docker

#: the HIGH findings of the old environment, both with a fix (from test_scan_e2e's ground truth)
BLOCKING = {"PYSEC-2023-192": ("urllib3", "1.26.17"), "PYSEC-2024-60": ("idna", "3.7")}


@pytest.fixture(scope="module")
def vulndb_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dockyard store whose vulnerability database holds the PyPI advisories."""
    if not (VULNDB / "osv" / "PyPI").is_dir():
        pytest.fail(f"the vulnerability test data is missing: expected {VULNDB.resolve()}")
    root = tmp_path_factory.mktemp("scan-db-store")
    out = run_dockyard("db", "import", VULNDB / "osv" / "PyPI", root=root)
    assert "258 osv advisories imported" in out.stdout
    return root


def wait_report(server: RegistryProcess, repo: str, ref: str, timeout: float = 60) -> Any:
    url = f"{server.url}/v2/{repo}/_dockyard/scan/{ref}"
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.get(url)
        assert r.status_code == 200, r.text
        doc = r.json()
        if doc["status"] != "pending":
            return doc
        assert time.monotonic() < deadline, f"no report for {repo}:{ref} in {timeout}s: {doc}"
        time.sleep(0.2)


def _skopeo_pull(host: str, ref: str, dest: Path) -> tuple[int, str]:
    out = run_command(
        ["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{host}/{ref}", f"oci:{dest}"],
        check=False,
    )
    return out.returncode, str(out.stderr)


def test_scan_on_push_report_and_blocked_pulls(
    vulndb_store: Path, dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path: Path
) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / SITE).parent.mkdir(parents=True)
    shutil.copytree(python_site_packages(), rootfs / SITE)
    layer = tmp_path / "rootfs.tar"
    run_command(["tar", "-C", str(rootfs), "-cf", str(layer), "."])

    config = tmp_path / "config.yml"
    config.write_text(
        f"version: 0.1\nscanning:\n  on-push: true\n  block-severity: HIGH\n  db: {vulndb_store}\n"
    )
    with start_registry(tmp_path / "data", "--config", str(config)) as server:
        host = server.host
        vulnerable = f"{host}/apps/pyold:1"
        dockerd.run("import", layer, vulnerable)
        dockerd.run("push", vulnerable)  # pushes are never blocked
        clean = f"{host}/apps/busybox:1"
        run_command(
            [
                "skopeo", "copy", "-q", "--src-daemon-host", dockerd.host,
                "--dest-tls-verify=false", f"docker-daemon:{busybox_image.ref}",
                f"docker://{clean}",
            ]
        )  # fmt: skip

        doc = wait_report(server, "apps/pyold", "1")
        assert doc["status"] == "done", doc
        found = {(r["PkgName"].lower(), r["VulnerabilityID"]) for r in doc["report"]["Results"]}
        assert found == PYTHON_FINDINGS
        assert doc["database"]["advisories"] == 258
        assert 0 <= doc["database"]["ageSeconds"] < 3600
        policy = doc["policy"]
        assert policy["blockSeverity"] == "HIGH" and policy["blocked"] is True
        assert {
            b["VulnerabilityID"]: (b["PkgName"], b["FixedVersion"]) for b in policy["blocking"]
        } == BLOCKING
        # by digest too: the report belongs to the manifest digest
        digest = httpx.head(
            f"{server.url}/v2/apps/pyold/manifests/1",
            headers={"accept": "application/vnd.docker.distribution.manifest.v2+json"},
        ).headers["docker-content-digest"]
        assert doc["digest"] == digest
        assert wait_report(server, "apps/pyold", digest)["summary"] == doc["summary"]

        clean_doc = wait_report(server, "apps/busybox", "1")
        assert clean_doc["status"] == "done"
        assert clean_doc["report"]["Results"] == []
        assert clean_doc["policy"]["blocked"] is False

        # docker: the vulnerable image is refused with DENIED naming the findings
        dockerd.run("rmi", vulnerable)
        out = dockerd.run("pull", vulnerable, check=False)
        assert out.returncode != 0
        assert "denied" in out.stderr.lower(), out.stderr
        for advisory, (package, fixed) in BLOCKING.items():
            assert advisory in out.stderr and package in out.stderr and fixed in out.stderr
        r = httpx.get(f"{server.url}/v2/apps/pyold/manifests/1")
        assert r.status_code == 403
        [error] = r.json()["errors"]
        assert error["code"] == "DENIED"
        assert "block-severity: HIGH" in error["message"]
        assert {f["VulnerabilityID"] for f in error["detail"]["findings"]} == set(BLOCKING)

        # skopeo too; the clean image pulls with both clients
        code, err = _skopeo_pull(host, "apps/pyold:1", tmp_path / "pulled-old")
        assert code != 0 and "denied" in err.lower() and "PYSEC-2023-192" in err, err
        code, err = _skopeo_pull(host, "apps/busybox:1", tmp_path / "pulled-clean")
        assert code == 0, err
        dockerd.run("pull", clean)
        dockerd.run("rmi", clean)

        # a rescan (POST) after a fresher import is queued and finishes with the same result
        r = httpx.post(f"{server.url}/v2/apps/pyold/_dockyard/scan/1")
        assert r.status_code == 202
        again = wait_report(server, "apps/pyold", "1")
        assert again["summary"] == doc["summary"]
        log = server.log.read_text()
        assert "scanning apps/pyold@" in log
    assert json.dumps(doc)  # the report is plain JSON
