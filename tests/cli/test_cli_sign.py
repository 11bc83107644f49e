"""``dockyard generate-key-pair``, ``sign``, ``verify``, ``tree`` on an OCI layout: exit codes,
the JSON ``verify`` prints (cosign's), ``tree --format json``, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _infra import run_dockyard
from _infra.cli_contract import assert_help, assert_usage_error, import_image, run_in_process

NO_PASSWORD = {"COSIGN_PASSWORD": ""}


@pytest.fixture
def layout(dockyard_root: Path, tmp_path: Path) -> str:
    """``oci:DIR:1`` holding a small image, and cosign.key/cosign.pub in tmp_path."""
    import_image(dockyard_root, tmp_path, "cli/sig:1")
    target = f"oci:{tmp_path / 'layout'}:1"
    run_dockyard("copy", "-q", "cli/sig:1", target, root=dockyard_root)
    out = run_dockyard("generate-key-pair", root=dockyard_root, cwd=tmp_path, env=NO_PASSWORD)
    assert "Private key written to cosign.key" in out.stderr
    return target


@pytest.mark.slow
def test_sign_verify_tree(layout: str, dockyard_root: Path, tmp_path: Path) -> None:
    run_dockyard(
        "sign", "--key", tmp_path / "cosign.key", layout, root=dockyard_root, env=NO_PASSWORD
    )
    out = run_dockyard("verify", "--key", tmp_path / "cosign.pub", layout, root=dockyard_root)
    payloads = json.loads(out.stdout)
    assert payloads[0]["critical"]["type"] == "cosign container image signature"
    digest = payloads[0]["critical"]["image"]["docker-manifest-digest"]
    tree = json.loads(run_dockyard("tree", "--format", "json", layout, root=dockyard_root).stdout)
    assert tree["image"] == digest
    assert [a["kind"] for a in tree["attached"]] == ["signatures"]
    assert tree["referrers"] == []


@pytest.mark.slow
def test_verify_unsigned_or_wrong_key_exits_1(
    layout: str, dockyard_root: Path, tmp_path: Path
) -> None:
    out = run_dockyard(
        "verify", "--key", tmp_path / "cosign.pub", layout, root=dockyard_root, check=False
    )
    assert out.returncode == 1 and out.stderr.startswith("Error: "), out.stderr
    assert out.stdout == ""
    other = tmp_path / "other"
    other.mkdir()
    run_dockyard("generate-key-pair", root=dockyard_root, cwd=other, env=NO_PASSWORD)
    run_dockyard("sign", "--key", other / "cosign.key", layout, root=dockyard_root, env=NO_PASSWORD)
    out = run_dockyard(
        "verify", "--key", tmp_path / "cosign.pub", layout, root=dockyard_root, check=False
    )
    assert out.returncode == 1 and "Error: " in out.stderr, out.stderr


@pytest.mark.slow
def test_existing_key_is_kept_unless_confirmed(
    layout: str, dockyard_root: Path, tmp_path: Path
) -> None:
    """As cosign: asks before overwriting; no answer (stdin at its end) keeps the key, exit 1."""
    before = (tmp_path / "cosign.key").read_bytes()
    out = run_dockyard(
        "generate-key-pair",
        root=dockyard_root,
        cwd=tmp_path,
        env=NO_PASSWORD,
        input="",
        check=False,
    )
    assert out.returncode == 1, out.stderr
    assert "cosign.key already exists. Overwrite?" in out.stderr and "Aborted." in out.stderr
    assert (tmp_path / "cosign.key").read_bytes() == before


def test_usage_errors_exit_125(dockyard_root: Path) -> None:
    assert_usage_error(
        run_in_process("sign", "oci:x", root=dockyard_root, check=False),
        "Missing option '--key'",
    )
    assert_usage_error(
        run_in_process("tree", "--format", "xml", "x", root=dockyard_root, check=False),
        "Invalid value for '--format'",
    )
    for command in (
        "generate-key-pair",
        "import-key-pair",
        "sign",
        "verify",
        "attest",
        "verify-attestation",
        "tree",
    ):
        assert_help(dockyard_root, command)
