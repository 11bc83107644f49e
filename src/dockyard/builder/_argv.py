"""``dockyard build``'s arguments read without click, for the command's start-up paths.

The command is defined with click in :mod:`dockyard.cli._cmd_build`, which answers ``--help``,
usage errors and every unusual spelling. A plain invocation (long and short options, with
``--opt=value`` or ``--opt value``, in any order around the one CONTEXT) is read here instead,
without loading click (~20 ms of a ~150 ms rebuild): :func:`parse` gives exactly the parameters
click gives (tests/builder/test_build_argv.py holds the two against each other), or ``None`` for
anything it does not read, and the caller then leaves the arguments to click.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is not loaded on the no-op path
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

__all__ = ["OPTIONS", "parse"]

#: every option of ``dockyard build``: spelling → (parameter, kind)
OPTIONS: dict[str, tuple[str, str]] = {
    "-f": ("file", "value"),
    "--file": ("file", "value"),
    "-t": ("tags", "multiple"),
    "--tag": ("tags", "multiple"),
    "--build-arg": ("build_args", "multiple"),
    "--target": ("target", "value"),
    "--no-cache": ("no_cache", "flag"),
    "--pull": ("pull", "flag"),
    "--platform": ("platform", "value"),
    "--network": ("network", "value"),
    "--secret": ("secrets", "multiple"),
    "--label": ("labels", "multiple"),
    "--progress": ("progress", "value"),
    "-q": ("quiet", "flag"),
    "--quiet": ("quiet", "flag"),
    "-o": ("outputs", "multiple"),
    "--output": ("outputs", "multiple"),
    "--push": ("push", "flag"),
    "--cache-from": ("cache_from", "multiple"),
    "--cache-to": ("cache_to", "multiple"),
    "--iidfile": ("iidfile", "value"),
    "--runtime": ("runtime", "value"),
    "--debug-shell": ("debug_shell", "flag"),
    "--debug": ("debug", "click"),  # read by click only: it sets up logging there
}
#: the options whose value is one of a few words
CHOICES: dict[str, tuple[str, ...]] = {
    "network": ("host", "none", "default"),
    "progress": ("auto", "plain", "tty", "json", "quiet"),
    "runtime": ("crun", "runc"),
}
DEFAULTS: dict[str, Any] = {"network": "host", "progress": "auto"}


def parse(argv: Sequence[str], env: Mapping[str, str]) -> tuple[str | None, dict[str, Any]] | None:
    """``(store root or None, build parameters)`` of ``dockyard [--root R] build …``, the
    parameters as click gives them to the command, or None to leave ``argv`` to click."""
    args = list(argv)
    root: str | None = env.get("DOCKYARD_ROOT") or None
    while args and args[0] != "build":
        head = args.pop(0)
        if head == "--root" and args:
            root = args.pop(0)
        elif head.startswith("--root="):
            root = head.split("=", 1)[1]
        else:
            return None
    if not args or (root is not None and (root == "" or os.path.isfile(root))):
        return None
    args.pop(0)
    params: dict[str, Any] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        i += 1
        if token == "-" or not token.startswith("-"):
            positional.append(token)
            continue
        name, eq, value = token.partition("=") if token.startswith("--") else (token, "", "")
        spec = OPTIONS.get(name)
        if spec is None:
            return None  # --help, --, -qt, an unknown option: click answers
        param, kind = spec
        if kind == "click":
            return None
        if kind == "flag":
            if eq:
                return None
            params[param] = True
            continue
        if not eq:
            if i >= len(args) or (args[i].startswith("-") and args[i] != "-"):
                return None
            value = args[i]
            i += 1
        if param in CHOICES and value not in CHOICES[param]:
            return None
        if kind == "multiple":
            params.setdefault(param, []).append(value)
        else:
            params[param] = value
    if len(positional) != 1:
        return None
    iidfile = params.get("iidfile")
    if iidfile is not None and os.path.isdir(iidfile):
        return None
    result: dict[str, Any] = {"context": positional[0]}
    for param, kind in OPTIONS.values():
        if kind == "multiple":
            result[param] = tuple(params.get(param, ()))
        elif kind in ("flag", "click"):
            result[param] = params.get(param, False)
        else:
            result[param] = params.get(param, DEFAULTS.get(param))
    return root, result
