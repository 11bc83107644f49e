"""The image builder: Dockerfile frontend, solver, and the worker that does the I/O.

``build(store, BuildOptions(context=Path("."), tags=["app:1"]))`` is the library entry point.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not imported from typing: a no-op rebuild does not load typing
if TYPE_CHECKING:
    from typing import Any

    from dockyard.build.solver import BuildOptions, BuiltImage, OutputSpec, StepFailed, build

__all__ = ["BuildOptions", "BuiltImage", "OutputSpec", "StepFailed", "build"]


def __getattr__(name: str) -> Any:
    # the solver loads on first use, so dockyard.build._noop (a no-op rebuild) stays cheap
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from dockyard.build import solver

    value = getattr(solver, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
