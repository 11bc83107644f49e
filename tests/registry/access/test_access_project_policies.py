"""Project metadata as policy, through a real ``dockyard registry serve`` in projects mode with
skopeo and dockyard as the clients: ``auto_scan`` scans a project's pushes (the registry's
``scanning.on-push`` is off), ``prevent_vul`` with ``severity`` refuses vulnerable and
unscanned pulls in its project only, ``enable_content_trust_cosign`` refuses unsigned pulls
— each with Harbor's 412 ``PROJECTPOLICYVIOLATION`` and Harbor's message."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from _infra import DockerDaemon, run_command, run_dockyard
from _infra.oci_layout import gzip_tar, oci_layout
from _infra.projects_registry import ADMIN_PASSWORD, basic, projects_env
from _infra.registry_server import (
    OCI_MANIFEST,
    RegistryProcess,
    descriptor,
    push_blob,
    sha256,
    start_registry,
)
from _infra.scan_env import SITE, VULNDB
from dockyard.registry import Registry
from dockyard.registry._projects_mode import open_access
from dockyard.registry.access import AccessConfig
from dockyard.registry.policy._projects import (
    MAX_AGE,
    NOTATION_SIGNATURE,
    RECHECK,
    ProjectSettings,
    ProjectSettingsCache,
)

API = "/api/v2.0"
ADMIN = basic("admin", ADMIN_PASSWORD)
CREDS = f"admin:{ADMIN_PASSWORD}"
SIGNING = {"COSIGN_PASSWORD": "project-policy"}
ACCEPT = {"accept": "application/vnd.oci.image.manifest.v1+json"}
#: urllib3 1.24.1: fixable HIGH findings in the PyPI advisories of the test data
OLD_URLLIB3 = ("urllib3", "1.24.1")


@pytest.fixture(scope="module")
def vulndb_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (VULNDB / "osv" / "PyPI").is_dir():
        pytest.fail(f"the vulnerability test data is missing: expected {VULNDB.resolve()}")
    root = tmp_path_factory.mktemp("project-policy-db")
    run_dockyard("db", "import", VULNDB / "osv" / "PyPI", root=root)
    return root


@dataclass
class Served:
    server: RegistryProcess
    tmp: Path

    @property
    def host(self) -> str:
        return self.server.host

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.server.url}{API}{path}", headers=ADMIN, **kwargs)

    def project(self, name: str, **metadata: str) -> None:
        r = self.api("POST", "/projects", json={"project_name": name, "metadata": metadata})
        assert r.status_code == 201, r.text

    def push(self, repo: str, *files: tuple[str, bytes]) -> str:
        """An image of ``files`` (one layer each) pushed by skopeo as ``repo:1``; its digest."""
        layout = self.tmp / "layouts" / repo.replace("/", "-")
        digest = oci_layout(layout, [gzip_tar(name, data) for name, data in files])
        run_command(["skopeo", "copy", "-q", "--preserve-digests", "--dest-tls-verify=false",
                     "--dest-creds", CREDS, f"oci:{layout}:t", f"docker://{self.host}/{repo}:1"])  # fmt: skip
        return digest

    def pull(self, repo: str) -> tuple[int, str]:
        """skopeo's pull of ``repo:1``: its exit code and stderr."""
        dest = self.tmp / "pulled" / f"{repo.replace('/', '-')}-{time.monotonic_ns()}"
        dest.parent.mkdir(exist_ok=True)
        out = run_command(["skopeo", "copy", "-q", "--src-tls-verify=false", "--src-creds",
                           CREDS, f"docker://{self.host}/{repo}:1", f"oci:{dest}:t"],
                          check=False)  # fmt: skip
        return out.returncode, str(out.stderr)

    def refusal(self, repo: str) -> dict[str, Any]:
        """The manifest GET's refusal: 412 with one PROJECTPOLICYVIOLATION error."""
        r = httpx.get(f"{self.server.url}/v2/{repo}/manifests/1", headers={**ACCEPT, **ADMIN})
        assert r.status_code == 412, (r.status_code, r.text)
        [error] = r.json()["errors"]
        assert error["code"] == "PROJECTPOLICYVIOLATION", error
        return error  # type: ignore[no-any-return]

    def report(self, repo: str, timeout: float = 90) -> dict[str, Any]:
        """The scan report of ``repo:1`` once it is not pending (asking queues its scan)."""
        url = f"{self.server.url}/v2/{repo}/_dockyard/scan/1"
        deadline = time.monotonic() + timeout
        while True:
            r = httpx.get(url, headers=ADMIN)
            assert r.status_code == 200, r.text
            doc: dict[str, Any] = r.json()
            if doc["status"] != "pending":
                return doc
            assert time.monotonic() < deadline, f"no report for {repo} in {timeout}s: {doc}"
            time.sleep(0.2)

    def wait_scanned(self, *repos: str, timeout: float = 90) -> str:
        """The server's log once it says each of ``repos`` was scanned (nothing asked)."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.server.log.read_text(errors="replace")
            if all(f"scanned {repo}@" in log for repo in repos):
                return log
            assert time.monotonic() < deadline, f"{repos} not all scanned in {timeout}s:\n{log}"
            time.sleep(0.2)


@pytest.fixture
def served(tmp_path: Path, vulndb_store: Path) -> Iterator[Served]:
    root = tmp_path / "data"
    env = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD,
                       REGISTRY_SCANNING_DB=str(vulndb_store), REGISTRY_SCANNING_WORKERS="1")  # fmt: skip
    with start_registry(root, env=env) as server:
        yield Served(server, tmp_path)


def _old_urllib3() -> tuple[str, bytes]:
    name, version = OLD_URLLIB3
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    return f"{SITE}/{name}-{version}.dist-info/METADATA", metadata


@pytest.mark.docker
def test_prevent_vul_refuses_in_its_project_only_and_auto_scan_scans_pushes(
    served: Served, dockerd: DockerDaemon
) -> None:
    served.project("guarded", auto_scan="true", prevent_vul="true", severity="high")
    served.project("open", auto_scan="true")
    served.project("manual")  # neither: the registry's scanning.on-push is off
    for project in ("guarded", "open", "manual"):
        # a file of its own each: a report belongs to content, scanned once for every repository
        served.push(f"{project}/py", _old_urllib3(), ("seed", project.encode()))
    served.push("guarded/clean", ("etc/motd", b"nothing to see\n"))

    # auto_scan: the pushes of both projects were scanned (nothing asked for a report);
    # the other project's push, made before the clean one, was not
    log = served.wait_scanned("guarded/py", "open/py", "guarded/clean")
    assert "manual/py@" not in log, log
    vulnerable = served.report("guarded/py")
    assert vulnerable["status"] == "done", vulnerable
    results = vulnerable["report"]["Results"]
    assert any(r["Severity"] in ("HIGH", "CRITICAL") for r in results), results
    clean = served.report("guarded/clean")
    assert clean["status"] == "done" and clean["report"]["Results"] == []

    # prevent_vul: Harbor's refusal, counting every finding, for skopeo and over HTTP
    thing = "vulnerabilities" if len(results) > 1 else "vulnerability"
    expected = (
        f"current image with {len(results)} {thing} cannot be pulled due to configured policy "
        "in 'Prevent images with vulnerability severity of \"High\" or higher from running.' "
        "To continue with pull, please contact your project administrator to exempt matched "
        "vulnerabilities through configuring the CVE allowlist."
    )
    assert served.refusal("guarded/py")["message"] == expected
    code, err = served.pull("guarded/py")
    assert code != 0 and "cannot be pulled due to configured policy" in err, err
    # docker prints Harbor's message too
    config = served.tmp / "docker-config"
    config.mkdir()
    out = dockerd.run("--config", str(config), "login", served.host, "-u", "admin",
                      "--password-stdin", input=ADMIN_PASSWORD)  # fmt: skip
    assert "Login Succeeded" in out.stdout
    refused = dockerd.run("--config", str(config), "pull", f"{served.host}/guarded/py:1",
                          check=False)  # fmt: skip
    assert refused.returncode != 0 and expected in refused.stderr, refused.stderr
    dockerd.run("--config", str(config), "pull", f"{served.host}/open/py:1")
    dockerd.run("rmi", f"{served.host}/open/py:1")
    # the same image in the other projects, and a clean one in the guarded project, pull
    for repo in ("open/py", "manual/py", "guarded/clean"):
        code, err = served.pull(repo)
        assert code == 0, (repo, err)

    # a threshold above every finding lets it through; changing it takes effect at once
    assert "CRITICAL" not in {r["Severity"] for r in results}
    r = served.api("PUT", "/projects/guarded/metadatas/severity", json={"severity": "critical"})
    assert r.status_code == 200, r.text
    code, err = served.pull("guarded/py")
    assert code == 0, err
    # turning prevent_vul on where nothing scans: unscanned images are refused (and queued)
    r = served.api("PUT", "/projects/manual/metadatas/prevent_vul", json={"prevent_vul": "true"})
    assert r.status_code == 200, r.text
    served.push("manual/fresh", ("etc/hostname", b"fresh\n"))
    error = served.refusal("manual/fresh")
    assert error["message"].startswith(
        "current image without vulnerability scanning cannot be pulled due to configured "
        'policy in \'Prevent images with vulnerability severity of "Unknown" or higher'
    ), error
    # the refusal queued its scan; once done, the clean image pulls
    served.wait_scanned("manual/fresh")
    code, err = served.pull("manual/fresh")
    assert code == 0, err
    # the vulnerable one, scanned now, is refused: with no severity, any finding counts
    assert served.report("manual/py")["status"] == "done"
    assert served.refusal("manual/py")["message"].startswith(
        f"current image with {len(results)} {thing} cannot be pulled"
    )


def test_content_trust_cosign_refuses_unsigned_pulls(served: Served) -> None:
    key_prefix = served.tmp / "signer"
    store = served.tmp / "store"
    run_dockyard("generate-key-pair", "--output-key-prefix", key_prefix, root=store, env=SIGNING)
    docker_config = served.tmp / "docker-config"
    docker_config.mkdir()
    env = {**SIGNING, "DOCKER_CONFIG": str(docker_config)}
    run_dockyard("login", served.host, "--insecure", "-u", "admin", "--password-stdin",
                 root=store, env=env, input=ADMIN_PASSWORD)  # fmt: skip

    served.project("trusted", enable_content_trust_cosign="true")
    served.project("plain")
    signed = served.push("trusted/signed", ("a", b"signed image\n"))
    served.push("trusted/unsigned", ("b", b"unsigned image\n"))
    served.push("plain/app", ("c", b"plain image\n"))
    # HEAD stays open (a signer resolves the digest with it); the GET is refused
    r = httpx.head(f"{served.server.url}/v2/trusted/unsigned/manifests/1",
                   headers={**ACCEPT, **ADMIN})  # fmt: skip
    assert r.status_code == 200
    assert served.refusal("trusted/unsigned")["message"] == "The image is not signed by cosign."
    run_dockyard("sign", "--key", key_prefix.with_suffix(".key"),
                 f"{served.host}/trusted/signed@{signed}", root=store, env=env)  # fmt: skip

    code, err = served.pull("trusted/unsigned")
    assert code != 0 and "The image is not signed by cosign." in err, err
    for repo in ("trusted/signed", "plain/app"):
        code, err = served.pull(repo)
        assert code == 0, (repo, err)
    # the signature itself stays readable (clients verifying it need it)
    sig_tag = signed.replace(":", "-") + ".sig"
    r = httpx.get(f"{served.server.url}/v2/trusted/signed/manifests/{sig_tag}",
                  headers={**ACCEPT, **ADMIN})  # fmt: skip
    assert r.status_code == 200, r.text

    # switched on through the API, it holds at the next pull; switched off, it is gone
    meta = "/projects/plain/metadatas/enable_content_trust_cosign"
    r = served.api("PUT", meta, json={"enable_content_trust_cosign": "true"})
    assert r.status_code == 200, r.text
    code, err = served.pull("plain/app")
    assert code != 0 and "not signed by cosign" in err, err
    r = served.api("DELETE", meta)
    assert r.status_code == 200, r.text
    code, err = served.pull("plain/app")
    assert code == 0, err


def test_settings_cache_sees_changes_of_other_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes' caches over one database and one set of change counters (each its own
    Registry, as each worker has): a change is seen at once where it is made, by the other
    within RECHECK seconds, and one made behind the caches' backs within MAX_AGE."""
    now = [1000.0]
    registries = [Registry.open(tmp_path / "data") for _ in range(2)]
    try:
        services = [open_access(AccessConfig(password_cost=4), r.meta.db) for r in registries]
        a, b = (
            ProjectSettingsCache(s.projects, r, clock=lambda: now[0])
            for s, r in zip(services, registries, strict=True)
        )
        assert b.get("team") is None  # no such project yet: remembered too
        services[0].projects.create("team", owner_id=None, metadata={"prevent_vul": True})
        found = a.get("team")
        assert found is not None and found.prevent_vul
        assert b.get("team") is None  # not looked again yet
        now[0] += RECHECK + 0.01
        found = b.get("team")
        assert found is not None and found.prevent_vul and not found.auto_scan

        services[1].projects.update_metadata("team", {"auto_scan": "true", "severity": "high"})
        assert b.of_repository("team/app") == ProjectSettings(
            "team", auto_scan=True, prevent_vul=True, severity="high"
        )
        # peek never blocks (what the event loop asks): known only while fresh
        assert b.peek("team/app") == (True, b.of_repository("team/app"))
        now[0] += RECHECK + 0.01
        assert b.peek("team/app") == (False, None)
        assert a.of_repository("team/app") == b.of_repository("team/app")
        assert a.of_repository("app") is None  # no project: no settings
        assert a.peek("app") == (True, None)

        # a store nobody told (no cache hooked to it): seen once the entries are MAX_AGE old
        unhooked = open_access(AccessConfig(password_cost=4), registries[0].meta.db)
        unhooked.projects.update_metadata("team", {"enable_content_trust_cosign": "true"})
        now[0] += RECHECK + 0.01
        found = a.get("team")
        assert found is not None and not found.content_trust_cosign
        now[0] += MAX_AGE
        found = a.get("team")
        assert found is not None and found.content_trust_cosign
        # a read that overlapped a change made here is not kept
        store = services[0].projects
        read = store.settings_of

        def overlapped(name: str) -> dict[str, str] | None:
            found = read(name)
            store.update_metadata(name, {"auto_scan": "false"})  # after the read, before return
            return found

        monkeypatch.setattr(store, "settings_of", overlapped)
        now[0] += MAX_AGE
        found = a.get("team")
        assert found is not None and found.auto_scan  # what was read
        monkeypatch.setattr(store, "settings_of", read)
        found = a.get("team")  # no time passed: read again, not the overlapped answer
        assert found is not None and not found.auto_scan
        services[0].projects.delete("team")
        assert a.get("team") is None
    finally:
        for registry in registries:
            registry.close()


def test_content_trust_wants_a_notation_signature(served: Served) -> None:
    """``enable_content_trust`` is Harbor 2's Notation content trust: a referrer of Notation's
    artifact type must name the image (its envelope is not verified, as in Harbor); a cosign
    signature does not count."""
    key_prefix = served.tmp / "signer"
    store = served.tmp / "store"
    run_dockyard("generate-key-pair", "--output-key-prefix", key_prefix, root=store, env=SIGNING)
    docker_config = served.tmp / "docker-config"
    docker_config.mkdir()
    env = {**SIGNING, "DOCKER_CONFIG": str(docker_config)}
    run_dockyard("login", served.host, "--insecure", "-u", "admin", "--password-stdin",
                 root=store, env=env, input=ADMIN_PASSWORD)  # fmt: skip
    served.project("notary", enable_content_trust="true")
    image = served.push("notary/app", ("d", b"notation image\n"))
    run_dockyard("sign", "--key", key_prefix.with_suffix(".key"),
                 f"{served.host}/notary/app@{image}", root=store, env=env)  # fmt: skip
    assert served.refusal("notary/app")["message"] == "The image is not signed by notation."
    code, err = served.pull("notary/app")
    assert code != 0 and "not signed by notation" in err, err

    with httpx.Client(base_url=served.server.url, headers=ADMIN) as client:
        size = int(
            client.head("/v2/notary/app/manifests/1", headers=ACCEPT).headers["content-length"]
        )
        empty, envelope = b"{}", b'{"payload":"e30","signatures":[]}'
        for blob in (empty, envelope):
            push_blob(client, "notary/app", blob)
        signature = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": NOTATION_SIGNATURE,
            "config": descriptor(empty, "application/vnd.oci.empty.v1+json"),
            "layers": [descriptor(envelope, "application/jose+json")],
            "subject": {"mediaType": OCI_MANIFEST, "digest": image, "size": size},
        }).encode()  # fmt: skip
        r = client.put(f"/v2/notary/app/manifests/{sha256(signature)}", content=signature,
                       headers={"content-type": OCI_MANIFEST})  # fmt: skip
        assert r.status_code == 201, r.text
    code, err = served.pull("notary/app")
    assert code == 0, err


def test_registry_wide_block_severity_stays_and_project_checks_come_first(
    tmp_path: Path, vulndb_store: Path
) -> None:
    """With ``scanning.block-severity: HIGH`` for the whole registry: a project without
    prevent_vul is still guarded by it (403 DENIED), a project whose own severity is higher
    cannot lift it, and where both refuse, the project's Harbor answer (412) comes first."""
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\nscanning:\n  on-push: true\n  block-severity: HIGH\n"
        f"  workers: 1\n  db: {vulndb_store}\n"
    )
    root = tmp_path / "data"
    env = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD)
    with start_registry(root, "--config", str(config), env=env) as server:
        served = Served(server, tmp_path)
        served.project("plain")
        served.project("lenient", prevent_vul="true", severity="critical")
        served.project("strict", prevent_vul="true", severity="medium")
        for project in ("plain", "lenient", "strict"):
            served.push(f"{project}/py", _old_urllib3(), ("seed", project.encode()))
        served.wait_scanned("plain/py", "lenient/py", "strict/py")
        for repo in ("plain/py", "lenient/py"):
            r = httpx.get(f"{server.url}/v2/{repo}/manifests/1", headers={**ACCEPT, **ADMIN})
            assert r.status_code == 403, (repo, r.text)
            [error] = r.json()["errors"]
            assert error["code"] == "DENIED" and "block-severity: HIGH" in error["message"]
        error = served.refusal("strict/py")
        assert 'severity of "Medium" or higher' in error["message"], error
        code, err = served.pull("lenient/py")
        assert code != 0 and "block-severity: HIGH" in err, err
