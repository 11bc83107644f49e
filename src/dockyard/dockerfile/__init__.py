"""The Dockerfile language, as BuildKit's ``frontend/dockerfile`` reads it; no I/O, no builder.

``parser.parse`` turns text into parser directives and one node per instruction;
``parse_dockerfile`` checks those nodes and groups them into stages of typed instructions
(:mod:`.instructions`); :mod:`.shell` expands words as BuildKit's ``shell.Lex`` does;
:mod:`.dockerignore` matches context paths as moby's patternmatcher does; :mod:`.mounts` and
:mod:`.chmod` read ``RUN --mount`` and ``COPY --chmod``. The builder (:mod:`dockyard.builder`)
and the linter (:mod:`dockyard.analyze.lint`) both read Dockerfiles through this package.
"""

from dockyard.dockerfile._convert import convert
from dockyard.dockerfile._gofmt import format_duration, quote_list, quote_rune
from dockyard.dockerfile._values import check_signal, parse_port_specs
from dockyard.dockerfile.document import Dockerfile, StageDef, parse_dockerfile
from dockyard.dockerfile.errors import DockerfileError
from dockyard.dockerfile.parser import Node, parse

__all__ = [
    "Dockerfile",
    "DockerfileError",
    "Node",
    "StageDef",
    "check_signal",
    "convert",
    "format_duration",
    "parse",
    "parse_dockerfile",
    "parse_port_specs",
    "quote_list",
    "quote_rune",
]
