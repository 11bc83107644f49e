"""The instruction model: one frozen record per Dockerfile instruction.

Values are as written (not yet expanded); :mod:`dockyard.builder.frontend.stages` expands the
words BuildKit expands, with the variables in scope at that step.

This package exports what every instruction has (:class:`Instruction`, :class:`Location`).
Each instruction's record class lives in the module of its family (``copy.CopyInstruction``,
``env.EnvInstruction`` and ``env.LabelInstruction``, …; FROM is ``from_``); the converter's table
(:data:`dockyard.dockerfile._convert.INSTRUCTION_MODULES`, keyword → module) imports a module
when a Dockerfile first uses one of its keywords, so a build defines only the record classes
of the instructions it has. Code that needs a record class imports it from its module, or
asks :func:`dockyard.dockerfile._convert.instruction_class` for it by keyword.
"""

from dockyard.dockerfile.instructions.base import Instruction, Location

__all__ = ["Instruction", "Location"]
