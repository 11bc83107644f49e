"""``dockyard db import DIR``: a directory may mix the formats, and a bad file is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from _infra import run_dockyard


def _mixed_dir(vulndb: Path, into: Path) -> Path:
    into.mkdir()
    for name in ("PYSEC-2023-192.json", "PYSEC-2014-13.json"):
        shutil.copy(vulndb / "osv" / "PyPI" / name, into / name)
    shutil.copy(vulndb / "debian" / "vunnel-fixture-debian-tracker.json", into / "debian.json")
    shutil.copy(vulndb / "alpine" / "vunnel-fixture-secdb-v3.15-main.yaml", into / "alpine.yaml")
    return into


@pytest.mark.slow
def test_db_import_mixed_directory(vulndb: Path, tmp_path: Path) -> None:
    feeds = _mixed_dir(vulndb, tmp_path / "feeds")
    root = tmp_path / "store"
    out = run_dockyard("db", "import", feeds, root=root)
    assert "alpine-secdb+debian-tracker+osv" in out.stdout
    status = json.loads(run_dockyard("db", "status", "--format", "json", root=root).stdout)
    assert status["ecosystems"]["pypi"] == 2
    assert status["ecosystems"]["debian:12"] == 2
    assert status["ecosystems"]["alpine:3.15"] >= 1


def test_db_import_names_the_bad_file(vulndb: Path, tmp_path: Path) -> None:
    feeds = _mixed_dir(vulndb, tmp_path / "feeds")
    bad = feeds / "sub" / "broken.json"
    bad.parent.mkdir()
    bad.write_text('{"id": "X-1", "affected": [')
    root = tmp_path / "store"
    out = run_dockyard("db", "import", feeds, root=root, check=False)
    assert out.returncode == 1
    assert f"{bad}: not valid JSON" in out.stderr, out.stderr
    # nothing half-imported
    status = json.loads(run_dockyard("db", "status", "--format", "json", root=root).stdout)
    assert status["advisories"] == 0


def test_db_import_names_a_record_that_is_not_osv(vulndb: Path, tmp_path: Path) -> None:
    feeds = _mixed_dir(vulndb, tmp_path / "feeds")
    odd = feeds / "odd.json"
    odd.write_text('{"schema_version": "1.6.0", "summary": "no id"}')
    out = run_dockyard("db", "import", feeds, root=tmp_path / "store", check=False)
    assert out.returncode == 1
    assert f"{odd}: not an OSV record (no id)" in out.stderr, out.stderr
