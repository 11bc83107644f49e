"""Downloads survive a dropped connection (Range resume) and catch corrupted bytes by digest."""

from __future__ import annotations

from pathlib import Path

import pytest

from _infra import RunningRegistry, run_dockyard
from _infra.client_helpers import make_image
from _infra.proxy import misbehaving_proxy

pytestmark = pytest.mark.slow


def test_dropped_connection_resumes_and_verifies(
    registry: RunningRegistry, dockyard_root: Path, tmp_path: Path
) -> None:
    ref = f"{registry.host}/resume/app:1"
    make_image(dockyard_root, ref, files=2, size=1_500_000)
    digest = run_dockyard("push", "-q", ref, root=dockyard_root).stdout.strip()
    with misbehaving_proxy(registry.host, "cut") as proxy:
        other = tmp_path / "other"
        out = run_dockyard("pull", f"{proxy.host}/resume/app:1", root=other)
    assert digest in out.stdout
    resumed = [(path, rng) for path, rng in proxy.blob_requests if rng]
    assert resumed, proxy.blob_requests  # the large layer went on from where it broke off
    assert all(rng.startswith("bytes=") and not rng.startswith("bytes=0-") for _, rng in resumed)
    fetched = [path for path, _ in proxy.blob_requests]
    assert all(fetched.count(path) == 2 for path in proxy.cut_done)  # cut once, then resumed
    # what was stored verifies: save it, copy it out again
    check = run_dockyard("copy", f"{proxy.host}/resume/app:1", f"oci:{tmp_path / 'o'}", root=other)
    assert check.stdout.strip() == digest


def test_corrupted_blob_is_caught_by_digest(
    registry: RunningRegistry, dockyard_root: Path, tmp_path: Path
) -> None:
    ref = f"{registry.host}/corrupt/app:1"
    make_image(dockyard_root, ref, files=1, size=200_000)
    run_dockyard("push", "-q", ref, root=dockyard_root)
    other = tmp_path / "other"
    with misbehaving_proxy(registry.host, "flip") as proxy:
        out = run_dockyard("pull", f"{proxy.host}/corrupt/app:1", root=other, check=False)
    assert out.returncode == 1
    assert "is corrupt" in out.stderr and "hash to sha256:" in out.stderr
    assert f"downloaded from {proxy.host}/corrupt/app" in out.stderr
    images = run_dockyard("images", "-q", root=other).stdout
    assert images.strip() == ""  # nothing was tagged
