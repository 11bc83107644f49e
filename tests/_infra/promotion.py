"""A registry with promotions wired as ``auth: projects`` wires them, served in process: the
access model behind ``/api/v2.0``, the promotion guard in ``Registry.guard``, a vulnerability
database, and a signing :class:`~dockyard.sign.Repository` over ``/v2/`` (so images are signed
and attested exactly as ``dockyard sign``/``attest`` do it against a registry)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from _infra import backend
from _infra.harbor_api import ADMIN_PASSWORD, basic
from _infra.registry_server import ASGIClient, push_image
from dockyard.digest import Digest, digest_of
from dockyard.errors import ManifestUnknown
from dockyard.oci import Descriptor, Index
from dockyard.oci import mediatypes as mt

__all__ = [
    "ASGIRepository",
    "PromotionRegistry",
    "fresh_scan",
    "promotion_registry",
]


class ASGIRepository:
    """Signing's Repository over an unauthenticated ``/v2/`` of an in-process app."""

    def __init__(self, client: ASGIClient, name: str) -> None:
        self.client = client
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def resolve(self, reference: str) -> Descriptor:
        raw, media_type = self.get_manifest(reference)
        return Descriptor.of(raw, media_type)

    def get_manifest(self, reference: str) -> tuple[bytes, str]:
        r = self.client.get(
            f"/v2/{self._name}/manifests/{reference}",
            headers={"accept": ", ".join((mt.OCI_MANIFEST, mt.OCI_INDEX))},
        )
        if r.status_code == 404:
            raise ManifestUnknown(f"{self._name} has no {reference}")
        assert r.status_code == 200, r.text
        return r.content, mt.base(r.headers["content-type"])

    def put_manifest(self, raw: bytes, media_type: str, tag: str | None = None) -> bool:
        reference = tag or str(digest_of(raw))
        r = self.client.put(
            f"/v2/{self._name}/manifests/{reference}",
            content=raw,
            headers={"content-type": media_type},
        )
        assert r.status_code == 201, r.text
        return r.headers.get("oci-subject") is not None

    def get_blob(self, descriptor: Descriptor) -> bytes:
        r = self.client.get(f"/v2/{self._name}/blobs/{descriptor.digest}")
        assert r.status_code == 200, r.text
        descriptor.digest.verify(r.content)
        return r.content

    def put_blob(self, data: bytes) -> Digest:
        digest = digest_of(data)
        r = self.client.post(f"/v2/{self._name}/blobs/uploads/")
        assert r.status_code == 202, r.text
        location = httpx.URL(r.headers["location"]).copy_merge_params({"digest": str(digest)})
        r = self.client.put(str(location), content=data)
        assert r.status_code == 201, r.text
        return digest

    def tags(self) -> list[str]:
        r = self.client.get(f"/v2/{self._name}/tags/list")
        return sorted(r.json().get("tags") or [])

    def referrers(self, digest: Digest) -> list[Descriptor] | None:
        r = self.client.get(f"/v2/{self._name}/referrers/{digest}")
        assert r.status_code == 200, r.text
        return list(Index.parse(r.content, mt.OCI_INDEX).manifests)


@dataclass
class PromotionRegistry:
    """``client`` speaks to ``/v2/`` (open) and ``/api/v2.0`` (``admin`` header); ``vulndb`` is
    the vulnerability database the scan gate compares reports with."""

    app: Any
    access: Any
    client: ASGIClient
    promotions: Any
    vulndb: Path

    @property
    def admin(self) -> dict[str, str]:
        return basic("admin", ADMIN_PASSWORD)

    def repository(self, name: str) -> ASGIRepository:
        return ASGIRepository(self.client, name)

    def push(self, name: str, tag: str | None, seed: str) -> str:
        """A small image pushed as ``name:tag`` (or by digest); its digest."""
        return push_image(self.client, name, tag, seed=seed).digest

    def db_updated(self) -> float:
        updated = self.promotions.gates.vulndb_updated()
        assert updated is not None
        return float(updated)


def fresh_scan(
    reg: PromotionRegistry,
    digest: str,
    repository: str,
    severities: tuple[str, ...] = (),
    *,
    age: float = 0.0,
) -> None:
    """Record a finished scan report of ``digest`` with one finding per severity given, made
    with the vulnerability database as it is now (``age`` seconds older with ``age``)."""
    from dockyard.registry.scanning import ScanRecords

    records = ScanRecords(reg.app.registry.meta.db)
    records.queue(digest, repository, again=True)
    findings = [
        {
            "VulnerabilityID": f"CVE-2024-{1000 + i}",
            "PkgName": "openssl",
            "InstalledVersion": "1.0",
            "FixedVersion": "1.1",
            "Severity": severity,
        }
        for i, severity in enumerate(severities)
    ]
    records.finish(
        digest,
        report_json=json.dumps({"Results": findings}),
        error=None,
        db_updated_at=reg.db_updated() - age,
        db_advisories=1,
    )


def _vulndb(path: Path) -> Path:
    from dockyard.scan import VulnDB
    from dockyard.scan._vulndb import Advisory

    db = VulnDB(path)
    try:
        db.add([Advisory("CVE-2024-0001", "test", summary="a test advisory")], "test", "osv")
    finally:
        db.close()
    return path


@contextmanager
def promotion_registry(root: Path) -> Iterator[PromotionRegistry]:
    """The real app (filesystem storage under ``root``, or with DOCKYARD_TEST_BACKEND=cluster
    the cluster's servers; deletes on, ``/v2/`` open) with the
    access model behind ``/api/v2.0``, project ``team`` (``dev`` a developer, ``maint`` a
    maintainer) and promotions wired as ``auth: projects`` wires them."""
    from dockyard.registry._push_guard import GuardChain
    from dockyard.registry._server import build_app
    from dockyard.registry.access import AccessConfig, AccessService, LockoutPolicy, Role
    from dockyard.registry.config import load
    from dockyard.registry.harbor import PREFIX, ApiSettings, HarborApi
    from dockyard.registry.harbor._promotion import promotion_guards

    config = load(
        None,
        {
            # DOCKYARD_TEST_BACKEND=cluster: on PostgreSQL, S3 and Redis
            **backend.serve_env(root / "data", {}),
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root / "data"),
            "REGISTRY_STORAGE_DELETE_ENABLED": "true",
            "REGISTRY_LOG_ACCESSLOG_DISABLED": "true",
        },
    )
    app = build_app(config, access_log=False)
    access = AccessService(
        app.registry.meta.db,
        AccessConfig(
            password_cost=4,
            lockout=LockoutPolicy(delay_after=50, refuse_after=100, window=60.0, delay=0.0),
        ),
    )
    access.users.ensure_admin(ADMIN_PASSWORD)
    admin = access.authenticate("admin", ADMIN_PASSWORD, client_ip="127.0.0.1")
    access.create_project(admin, "team")
    for name, role in (("dev", Role.DEVELOPER), ("maint", Role.MAINTAINER)):
        access.users.create(name, "Passw0rd1")
        access.add_member(admin, "team", role_id=int(role), username=name)
    api = HarborApi(access, ApiSettings(realm="dockyard-tests"))
    app.prefix_routes[PREFIX + "/"] = api
    vulndb = _vulndb(root / "vulndb.sqlite")
    [guard] = promotion_guards(api, app.registry, access, vulndb=vulndb)
    app.registry.guard = GuardChain([guard])
    client = ASGIClient(app)
    try:
        yield PromotionRegistry(app, access, client, guard.promotions, vulndb)
    finally:
        client.close()
        app.registry.close()
