"""SPDX 2.3 and CycloneDX 1.5 outputs validate with the reference libraries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from _infra import run_dockyard
from _infra.scan_env import TestImage

pytestmark = pytest.mark.slow


@pytest.mark.slow
def test_spdx_json_validates(debian_image: TestImage, tmp_path: Path) -> None:
    out = tmp_path / "sbom.spdx.json"
    run_dockyard(
        "sbom", debian_image.ref, "--format", "spdx-json", "-o", out, root=debian_image.store
    )
    document = parse_file(str(out))
    assert validate_full_spdx_document(document) == []
    raw = json.loads(out.read_text())
    assert raw["spdxVersion"] == "SPDX-2.3"
    names = {p["name"] for p in raw["packages"]}
    assert {"bash", "libc6", "debian"} <= names
    bash = next(p for p in raw["packages"] if p["name"] == "bash")
    assert bash["externalRefs"][0]["referenceLocator"].startswith("pkg:deb/debian/bash@")
    assert "layer sha256:" in bash["sourceInfo"]
    # Debian's GPL-3+ became the SPDX id; names with no id became declared LicenseRefs
    assert "GPL-3.0-or-later" in bash["licenseDeclared"]


@pytest.mark.slow
def test_cyclonedx_json_validates(
    python_image: TestImage, debian_image: TestImage, tmp_path: Path
) -> None:
    validator = JsonStrictValidator(SchemaVersion.V1_5)
    for image in (python_image, debian_image):
        out = run_dockyard("sbom", image.ref, "--format", "cyclonedx-json", root=image.store)
        assert validator.validate_str(out.stdout) is None
        bom = json.loads(out.stdout)
        assert bom["specVersion"] == "1.5"
        purls = {c.get("purl") for c in bom["components"]}
        if image is python_image:
            assert "pkg:pypi/urllib3@1.24.1" in purls
            urllib3 = next(
                c for c in bom["components"] if c.get("purl") == "pkg:pypi/urllib3@1.24.1"
            )
            assert urllib3["licenses"] == [{"license": {"id": "MIT"}}]
            layer = [p["value"] for p in urllib3["properties"] if p["name"].endswith("layerID")]
            assert layer and layer[0].startswith("sha256:")


def test_sbom_table_and_errors(python_image: TestImage, tmp_path: Path) -> None:
    out = run_dockyard("sbom", python_image.ref, root=python_image.store)
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "TYPE"]
    assert ["requests", "2.19.1", "python"] in [line.split() for line in lines]
    missing = run_dockyard("sbom", "no-such-image:1", root=python_image.store, check=False)
    assert missing.returncode == 1
    assert "No such image: no-such-image:1" in missing.stderr
    not_archive = tmp_path / "x.tar"
    not_archive.write_bytes(b"\0" * 1024)
    bad = run_dockyard("sbom", not_archive, root=python_image.store, check=False)
    assert bad.returncode != 0 and "Error:" in bad.stderr
    # a path that does not exist: the error says what was looked for, not "invalid reference"
    gone = run_dockyard(
        "sbom", tmp_path / "nowhere" / "x.tar", root=python_image.store, check=False
    )
    assert gone.returncode == 1
    assert "no such directory or file, and not an image name or ID" in gone.stderr
