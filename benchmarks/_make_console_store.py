"""Write a projects-mode registry store for the console benchmark, in-process and in bulk.

Usage: python _make_console_store.py ROOT ADMIN_PASSWORD [REPOSITORIES] [TAGS_PER] [AUDIT]

``ROOT`` is the registry's filesystem root (``REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY``).
Made: the ``admin`` user, 50 projects — ``bench`` holding REPOSITORIES-49 repositories
``bench/r000…`` and ``p01``…``p49`` one repository ``pNN/app`` each (1,000 repositories in all
by default) — every repository with TAGS_PER tagged images ``t0…`` (default 10: 10,000 tags),
each image a config with a history of three commands and two small gzip tar layers shared by
the repository's images; and AUDIT audit-log entries (default 20,000) spread over 30 days.
The projects go through the access service (as the console's form would make them), the
repositories, manifests, tags and audit entries through bulk inserts, the blobs directly.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import time
from pathlib import Path

from sqlalchemy import insert

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
PROJECTS = 50


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _put(root: Path, data: bytes) -> str:
    digest = _digest(data)
    hexa = digest[7:]
    path = root / "blobs" / "sha256" / hexa[:2] / hexa
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def _layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzip tar of ``files`` and its diff id."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), _digest(raw.getvalue())


def _environ(root: Path, password: str) -> dict[str, str]:
    return {
        **os.environ,
        "REGISTRY_AUTH": "projects",
        "REGISTRY_AUTH_PROJECTS_PASSWORDCOST": "4",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root),
        "DOCKYARD_ADMIN_PASSWORD": password,
    }


def main(root: Path, password: str, count: int, per: int, audit: int) -> None:
    from dockyard.registry import Registry
    from dockyard.registry._projects_mode import open_access
    from dockyard.registry.access._schema import audit_log
    from dockyard.registry.config import load
    from dockyard.registry.metadata._schema import (
        blobs,
        manifest_refs,
        manifests,
        repo_blobs,
        repositories,
        tags,
    )

    began = time.monotonic()
    now = time.time()
    config = load(None, _environ(root, password))
    assert config.access is not None
    registry = Registry.open(root)
    access = open_access(config.access, registry.meta.db)
    access.users.ensure_admin(password)
    admin = access.authenticate("admin", password, client_ip="127.0.0.1")
    others = [f"p{i:02d}" for i in range(1, PROJECTS)]
    for project in ("bench", *others):
        access.create_project(admin, project)
    repos = [f"bench/r{i:03d}" for i in range(count - len(others))] + [f"{p}/app" for p in others]
    blob_rows: dict[str, dict[str, object]] = {}
    link_rows: list[dict[str, object]] = []
    manifest_rows: list[dict[str, object]] = []
    ref_rows: list[dict[str, object]] = []
    tag_rows: list[dict[str, object]] = []
    for r, repo in enumerate(repos):
        repo_id = r + 1
        layers = [
            _layer({"etc/os-release": b"ID=bench\n", f"srv/{r}/base": b"x" * (r % 500)}),
            _layer({f"app/{repo}/main.py": f"print({r})\n".encode() * 20}),
        ]
        for i in range(per):
            n = r * per + i
            when = now - 30 * 86400 + n * (30 * 86400 / (len(repos) * per))
            config_blob = json.dumps(
                {
                    "architecture": "amd64",
                    "os": "linux",
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
                    "config": {"Cmd": ["python", "main.py"], "Env": [f"BUILD={n}"]},
                    "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]},
                    "history": [
                        {"created_by": "ADD rootfs.tar /"},
                        {"created_by": f"COPY main.py /app/{repo}/"},
                        {"created_by": 'CMD ["python", "main.py"]', "empty_layer": True},
                    ],
                }
            ).encode()
            descriptors = []
            for data in (config_blob, *(blob for blob, _ in layers)):
                digest = _put(root, data) if data is config_blob or i == 0 else _digest(data)
                if digest not in blob_rows:
                    blob_rows[digest] = {"digest": digest, "size": len(data), "created_at": when}
                    link_rows.append({"repo_id": repo_id, "digest": digest, "created_at": when})
                descriptors.append((digest, len(data)))
                ref_rows.append({"manifest_id": n + 1, "digest": digest, "kind": "blob"})
            (config_digest, config_size), *layer_refs = descriptors
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": {
                        "mediaType": OCI_CONFIG,
                        "digest": config_digest,
                        "size": config_size,
                    },
                    "layers": [
                        {"mediaType": OCI_LAYER, "digest": d, "size": s} for d, s in layer_refs
                    ],
                },
                separators=(",", ":"),
            ).encode()
            manifest_rows.append(
                {
                    "id": n + 1,
                    "repo_id": repo_id,
                    "digest": _digest(manifest),
                    "media_type": OCI_MANIFEST,
                    "size": len(manifest),
                    "content": manifest,
                    "artifact_type": OCI_CONFIG,
                    "subject": None,
                    "annotations": None,
                    "created_at": when,
                }
            )
            tag_rows.append(
                {"repo_id": repo_id, "name": f"t{i}", "manifest_id": n + 1, "updated_at": when}
            )
    operations = ("create", "pull", "pull", "pull", "delete")
    audit_rows = [
        {
            "op_time": now - 30 * 86400 + k * (30 * 86400 / max(audit, 1)),
            "operation": operations[k % len(operations)],
            "resource_type": "artifact",
            "resource": f"{repos[k % len(repos)]}:t{k % per}",
            "username": "admin",
            "project": repos[k % len(repos)].split("/", 1)[0],
            "client_ip": "127.0.0.1",
            "ok": True,
            "description": "",
        }
        for k in range(audit)
    ]
    with registry.meta.db.write() as conn:
        conn.execute(
            insert(repositories),
            [
                {"id": i + 1, "name": name, "created_at": now - 31 * 86400}
                for i, name in enumerate(repos)
            ],
        )
        conn.execute(insert(blobs), list(blob_rows.values()))
        conn.execute(insert(repo_blobs), link_rows)
        conn.execute(insert(manifests), manifest_rows)
        conn.execute(insert(manifest_refs), ref_rows)
        conn.execute(insert(tags), tag_rows)
        if audit_rows:
            conn.execute(insert(audit_log), audit_rows)
    registry.close()
    print(
        f"{PROJECTS} projects, {len(repos)} repositories, {len(tag_rows)} tags, "
        f"{len(blob_rows)} blobs, {len(audit_rows)} audit entries in "
        f"{time.monotonic() - began:.0f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) not in (2, 3, 4, 5):
        sys.exit(__doc__)
    main(
        Path(args[0]),
        args[1],
        int(args[2]) if len(args) > 2 else 1_000,
        int(args[3]) if len(args) > 3 else 10,
        int(args[4]) if len(args) > 4 else 20_000,
    )
