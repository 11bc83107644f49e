"""Write a projects-mode registry store for the console benchmark, in-process and in bulk.

Usage: python _make_console_store.py ROOT ADMIN_PASSWORD [REPOSITORIES] [TAGS_PER] [AUDIT]

``ROOT`` is the registry's filesystem root (``REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY``).
Made: the ``admin`` user, 50 projects — ``bench`` holding REPOSITORIES-49 repositories
``bench/r000…`` and ``p01``…``p49`` one repository ``pNN/app`` each (1,000 repositories in all
by default) — every repository with TAGS_PER tagged images ``t0…`` (default 10: 10,000 tags),
each image a config with a history of three commands and two small gzip tar layers shared by
the repository's images; and AUDIT audit-log entries (default 20,000) spread over 30 days.
Two more repositories in ``bench``:

- ``bench/big``: 120 tagged images ``t0…t119`` like the others (a repository page of 100
  artifacts, and a second page);
- ``bench/vuln``: one image ``1.0`` that looks like a Debian 12 image with an old Python
  web application and a Rust service: a dpkg status of 99 Debian packages, 19 Python
  distributions (``site-packages/*.dist-info/METADATA``: Django 1.11.0, Pillow 6.2.0, …) and
  a ``Cargo.lock`` of 40 crates (openssl 0.10.40, hyper 0.14.2, tokio 1.8.0, …) — 158
  packages; against the pypa and RustSec advisories the tests use, 129 findings (100 of the
  Python distributions, 29 of the crates). It is not scanned here: ``console_pages.sh`` has
  the registry scan it, as after a push.

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
BIG, BIG_TAGS = "bench/big", 120
VULNERABLE = "bench/vuln"
#: Debian 12's base packages (as in a debian:12 image), name=version
DEBIAN = """adduser=3.134 apt=2.6.1 base-files=12.4+deb12u11 base-passwd=3.6.1 bash=5.2.15-2+b8
bsdutils=1:2.38.1-5+deb12u3 ca-certificates=20230311+deb12u1 coreutils=9.1-1 dash=0.5.12-2
debconf=1.5.82 debian-archive-keyring=2023.3+deb12u2 debianutils=5.7-0.5~deb12u1
diffutils=1:3.8-4 dpkg=1.21.22 e2fsprogs=1.47.0-2 findutils=4.9.0-4
gcc-12-base=12.2.0-14+deb12u1 gpgv=2.2.40-1.1+deb12u2 grep=3.8-5 gzip=1.12-1
hostname=3.23+nmu1 init-system-helpers=1.65.2 libacl1=2.3.1-3 libapt-pkg6.0=2.6.1
libattr1=1:2.5.1-4 libaudit-common=1:3.0.9-1 libaudit1=1:3.0.9-1 libblkid1=2.38.1-5+deb12u3
libbz2-1.0=1.0.8-5+b1 libc-bin=2.36-9+deb12u14 libc6=2.36-9+deb12u14 libcap-ng0=0.8.3-1+b3
libcap2=1:2.66-4+deb12u2+b2 libcom-err2=1.47.0-2 libcrypt1=1:4.4.33-2 libdb5.3=5.3.28+dfsg2-1
libdebconfclient0=0.270 libext2fs2=1.47.0-2 libffi8=3.4.4-1 libgcc-s1=12.2.0-14+deb12u1
libgcrypt20=1.10.1-3 libgmp10=2:6.2.1+dfsg1-1.1 libgnutls30=3.7.9-2+deb12u6
libgpg-error0=1.46-1 libhogweed6=3.8.1-2 libidn2-0=2.3.3-1+b1 liblz4-1=1.9.4-1
liblzma5=5.4.1-1 libmd0=1.0.4-2 libmount1=2.38.1-5+deb12u3 libnettle8=3.8.1-2
libp11-kit0=0.24.1-2 libpam-modules=1.5.2-6+deb12u1 libpam-modules-bin=1.5.2-6+deb12u1
libpam-runtime=1.5.2-6+deb12u1 libpam0g=1.5.2-6+deb12u1 libpcre2-8-0=10.42-1
libseccomp2=2.5.4-1+deb12u1 libselinux1=3.4-1+b6 libsemanage-common=3.4-1
libsemanage2=3.4-1+b5 libsepol2=3.4-2.1 libsmartcols1=2.38.1-5+deb12u3 libss2=1.47.0-2
libssl3=3.0.19-1~deb12u2 libstdc++6=12.2.0-14+deb12u1 libsystemd0=252.39-1~deb12u2
libtasn1-6=4.19.0-2+deb12u1 libtinfo6=6.4-4 libudev1=252.39-1~deb12u2 libunistring2=1.0-2
libuuid1=2.38.1-5+deb12u3 libxxhash0=0.8.1-1 libzstd1=1.5.4+dfsg2-5
login=1:4.13+dfsg1-1+deb12u2 logsave=1.47.0-2 mawk=1.3.4.20200120-3.1 mount=2.38.1-5+deb12u3
ncurses-base=6.4-4 ncurses-bin=6.4-4 openssl=3.0.19-1~deb12u2 passwd=1:4.13+dfsg1-1+deb12u2
perl-base=5.36.0-7+deb12u4 sed=4.9-1 sysvinit-utils=3.06-4 tar=1.34+dfsg-1.2+deb12u1
tzdata=2025b-0+deb12u2 usr-is-merged=37~deb12u1 util-linux=2.38.1-5+deb12u3
util-linux-extra=2.38.1-5+deb12u3 zlib1g=1:1.2.13.dfsg-1 libexpat1=2.5.0-1+deb12u1
libsqlite3-0=3.40.1-2+deb12u2 libreadline8=8.2-1.3 readline-common=8.2-1.3
media-types=10.0.0 netbase=6.4 libncursesw6=6.4-4 python3.11-minimal=3.11.2-6+deb12u6"""
#: an old Python web application's distributions, name=version
PYTHON = """Django=1.11.0 Pillow=6.2.0 requests=2.19.0 urllib3=1.24.1 Jinja2=2.10 PyYAML=5.1
cryptography=2.3 Werkzeug=0.15.0 idna=2.8 certifi=2019.11.28 setuptools=40.0.0 pip=19.0
lxml=4.6.2 paramiko=2.4.1 aiohttp=3.7.3 SQLAlchemy=1.2.0 numpy=1.16.0 tornado=5.1 Flask=1.0"""
#: a Rust service's Cargo.lock, name=version
CRATES = """openssl=0.10.40 openssl-sys=0.9.73 hyper=0.14.2 tokio=1.8.0 h2=0.3.10 regex=1.5.4
smallvec=1.6.0 chrono=0.4.19 time=0.1.43 ring=0.16.20 rustls=0.20.0 serde=1.0.130
serde_json=1.0.68 serde_derive=1.0.130 libc=0.2.103 bytes=1.1.0 futures=0.3.17
futures-core=0.3.17 futures-util=0.3.17 http=0.2.5 http-body=0.4.3 httparse=1.5.1
log=0.4.14 mio=0.7.13 once_cell=1.8.0 pin-project-lite=0.2.7 proc-macro2=1.0.29
quote=1.0.10 syn=1.0.80 tracing=0.1.29 tracing-core=0.1.21 unicode-xid=0.2.2 cfg-if=1.0.0
itoa=0.4.8 ryu=1.0.5 memchr=2.4.1 aho-corasick=0.7.18 socket2=0.4.2 tower-service=0.3.1
want=0.3.0"""


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


def _pairs(text: str) -> list[tuple[str, str]]:
    return [(pair.split("=", 1)[0], pair.split("=", 1)[1]) for pair in text.split()]


def _vulnerable_layers() -> tuple[list[tuple[bytes, str]], list[str]]:
    """``bench/vuln``'s three layers (Debian's packages, the Python application, the Rust
    service) and the commands that made them."""
    status = "".join(
        f"Package: {name}\nStatus: install ok installed\nPriority: optional\n"
        f"Architecture: amd64\nVersion: {version}\nMaintainer: Debian <debian@example.org>\n"
        f"Description: {name}\n\n"
        for name, version in _pairs(DEBIAN)
    )
    site = "usr/local/lib/python3.11/site-packages"
    python = {
        f"{site}/{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: BSD\n"
        ).encode()
        for name, version in _pairs(PYTHON)
    }
    lock = "version = 3\n" + "".join(
        f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
        for name, version in _pairs(CRATES)
    )
    layers = [
        _layer({"etc/os-release": b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
                b'VERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
                "var/lib/dpkg/status": status.encode()}),
        _layer({**python, "app/manage.py": b"import django\n"}),
        _layer({"srv/Cargo.lock": lock.encode(), "srv/service": b"\x7fELF" + b"\0" * 64}),
    ]  # fmt: skip
    commands = [
        "ADD rootfs.tar /",
        "RUN pip install -r requirements.txt",
        "COPY Cargo.lock service /srv/",
    ]
    return layers, commands


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
    repos += [BIG, VULNERABLE]
    tag_names = {BIG: [f"t{i}" for i in range(BIG_TAGS)], VULNERABLE: ["1.0"]}
    images = sum(len(tag_names.get(repo, ())) or per for repo in repos)
    blob_rows: dict[str, dict[str, object]] = {}
    link_rows: list[dict[str, object]] = []
    manifest_rows: list[dict[str, object]] = []
    ref_rows: list[dict[str, object]] = []
    tag_rows: list[dict[str, object]] = []
    n = -1
    for r, repo in enumerate(repos):
        repo_id = r + 1
        layers = [
            _layer({"etc/os-release": b"ID=bench\n", f"srv/{r}/base": b"x" * (r % 500)}),
            _layer({f"app/{repo}/main.py": f"print({r})\n".encode() * 20}),
        ]
        commands = ["ADD rootfs.tar /", f"COPY main.py /app/{repo}/"]
        if repo == VULNERABLE:
            layers, commands = _vulnerable_layers()
        for i, tag in enumerate(tag_names.get(repo) or [f"t{i}" for i in range(per)]):
            n += 1
            when = now - 30 * 86400 + n * (30 * 86400 / images)
            config_blob = json.dumps(
                {
                    "architecture": "amd64",
                    "os": "linux",
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
                    "config": {"Cmd": ["python", "main.py"], "Env": [f"BUILD={n}"]},
                    "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]},
                    "history": [
                        *({"created_by": command} for command in commands),
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
                {"repo_id": repo_id, "name": tag, "manifest_id": n + 1, "updated_at": when}
            )
    operations = ("create", "pull", "pull", "pull", "delete")
    spread = repos[:-2]  # the audit log names the TAGS_PER-tag repositories, as before
    audit_rows = [
        {
            "op_time": now - 30 * 86400 + k * (30 * 86400 / max(audit, 1)),
            "operation": operations[k % len(operations)],
            "resource_type": "artifact",
            "resource": f"{spread[k % len(spread)]}:t{k % per}",
            "username": "admin",
            "project": spread[k % len(spread)].split("/", 1)[0],
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
