"""The image builder: Dockerfile frontend, solver, and the worker that does the I/O.

``build(store, BuildOptions(context=Path("."), tags=["app:1"]))`` is the library entry point.
"""

from dockyard.build.solver import BuildOptions, BuiltImage, OutputSpec, StepFailed, build

__all__ = ["BuildOptions", "BuiltImage", "OutputSpec", "StepFailed", "build"]
