"""Fuzz fixtures: the registry test helpers are importable from here too."""

from __future__ import annotations

import sys
from pathlib import Path

_REGISTRY_TESTS = str(Path(__file__).resolve().parent.parent / "registry")
if _REGISTRY_TESTS not in sys.path:
    sys.path.insert(0, _REGISTRY_TESTS)
