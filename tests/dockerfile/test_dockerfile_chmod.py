"""``--chmod`` values: octal, and symbolic modes applied as chmod(1) applies them."""

from __future__ import annotations

import pytest

from dockyard.dockerfile.chmod import apply_chmod, check_chmod


@pytest.mark.parametrize(
    ("spec", "mode", "is_dir", "expected"),
    [
        ("755", 0o600, False, 0o755),
        ("u+x", 0o644, False, 0o744),
        ("go-r", 0o644, False, 0o600),
        ("a=r", 0o755, False, 0o444),
        ("u=rwx,g=rx,o=", 0o600, False, 0o750),
        ("+x", 0o644, False, 0o755),
        ("a+X", 0o644, False, 0o644),
        ("a+X", 0o644, True, 0o755),
        ("a+X", 0o744, False, 0o755),
        ("g=u", 0o640, False, 0o660),
        ("u+s", 0o755, False, 0o4755),
        ("+t", 0o777, True, 0o1777),
    ],
)
def test_apply(spec: str, mode: int, is_dir: bool, expected: int) -> None:
    assert apply_chmod(spec, mode, is_dir) == expected


@pytest.mark.parametrize("spec", ["10000", "u+q", "x+r", "", "u+x,"])
def test_invalid(spec: str) -> None:
    with pytest.raises(ValueError, match="invalid chmod parameter"):
        check_chmod(spec)
