"""Parsed nodes → instructions, with BuildKit's flag and argument checks and messages."""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING, Any

from dockyard.dockerfile._gofmt import parse_duration
from dockyard.dockerfile.instructions import Instruction, Location
from dockyard.dockerfile.parser import Node, parse_heredoc

if TYPE_CHECKING:
    from dockyard.dockerfile.instructions.content import SourceContent
    from dockyard.dockerfile.instructions.env import KeyValue
    from dockyard.dockerfile.instructions.healthcheck import Healthcheck

__all__ = ["INSTRUCTION_MODULES", "KEYWORDS", "convert", "instruction_class"]

#: Keyword → the module of :mod:`dockyard.dockerfile.instructions` that defines its record
#: class (``<Keyword>Instruction``). A module is imported when a Dockerfile first uses one of
#: its keywords, so a build defines the record classes of the instructions it has, no others.
INSTRUCTION_MODULES: dict[str, str] = {
    "add": "add",
    "arg": "arg",
    "cmd": "cmd",
    "copy": "copy",
    "entrypoint": "cmd",
    "env": "env",
    "expose": "expose",
    "from": "from_",
    "healthcheck": "healthcheck",
    "label": "env",
    "maintainer": "maintainer",
    "onbuild": "onbuild",
    "run": "run",
    "shell": "shell",
    "stopsignal": "stopsignal",
    "user": "user",
    "volume": "volume",
    "workdir": "workdir",
}
KEYWORDS = list(INSTRUCTION_MODULES)
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")
_ONBUILD_PREFIX = re.compile(r"(?i)^\s*ONBUILD\s*")

# flag name → kind ("str", "bool", "strs")
_FLAGS: dict[str, dict[str, str]] = {
    "from": {"platform": "str"},
    "run": {"mount": "strs", "network": "str", "security": "str"},
    "copy": {
        "chown": "str",
        "from": "str",
        "chmod": "str",
        "link": "bool",
        "parents": "bool",
        "exclude": "strs",
    },
    "add": {
        "chown": "str",
        "chmod": "str",
        "link": "bool",
        "keep-git-dir": "bool",
        "checksum": "str",
        "exclude": "strs",
        "unpack": "bool",
    },
    "healthcheck": {
        "interval": "str",
        "timeout": "str",
        "start-period": "str",
        "start-interval": "str",
        "retries": "str",
    },
}


def _parse_flags(keyword: str, args: list[str]) -> dict[str, Any]:
    known = _FLAGS.get(keyword, {})
    out: dict[str, Any] = {}
    for a in args:
        if a == "--":
            break
        if not a.startswith("--"):
            raise ValueError(f"arg should start with -- : {a}")
        name, eq, value = a[2:].partition("=")
        kind = known.get(name)
        if kind is None:
            import difflib  # for error messages only

            hint = difflib.get_close_matches(name, list(known), n=1)
            extra = f" (did you mean {hint[0]}?)" if hint else ""
            raise ValueError(f"unknown flag: {name}{extra}")
        if name in out and kind != "strs":
            raise ValueError(f"duplicate flag specified: {name}")
        if kind == "bool":
            if eq and value == "":
                raise ValueError(f"missing a value on flag: {name}")
            low = value.lower()
            if low not in ("true", "false", ""):
                raise ValueError(f"expecting boolean value for flag {name}, not: {value}")
            out[name] = low != "false"
        else:
            if not eq:
                raise ValueError(f"missing a value on flag: {name}")
            if kind == "strs":
                out.setdefault(name, []).append(value)
            else:
                out[name] = value
    return out


def _at_least_one(name: str) -> ValueError:
    return ValueError(f"{name} requires at least one argument")


def _exactly_one(name: str) -> ValueError:
    return ValueError(f"{name} requires exactly one argument")


def _kvps(args: list[str], name: str) -> tuple[KeyValue, ...]:
    if not args:
        raise _at_least_one(name)
    if len(args) % 3:
        raise ValueError(f"Bad input to {name}, too many arguments")
    key_value = _module("env").KeyValue
    out = []
    for i in range(0, len(args), 3):
        key, value, delim = args[i : i + 3]
        if not key:
            raise ValueError(f"{name} names can not be blank")
        out.append(key_value(key, value, no_delim=delim == ""))
    return tuple(out)


def _shell_dependent(node: Node) -> dict[str, Any]:
    cmd = node.args if node.json or not node.args else [" ".join(node.args)]
    return {"cmd": tuple(cmd), "prepend_shell": not node.json, "heredocs": tuple(node.heredocs)}


def _copy(node: Node, flags: dict[str, Any], add: bool) -> dict[str, Any]:
    name = "ADD" if add else "COPY"
    if len(node.args) < 2:
        raise ValueError(
            f"{name} requires at least two arguments, but only one was provided. "
            "Destination could not be determined"
        )
    *srcs, dest = node.args
    if parse_heredoc(dest) is not None:
        raise ValueError(f"{name} cannot accept a heredoc as a destination")
    docs = {d.name: d for d in node.heredocs}
    paths: list[str] = []
    contents: list[SourceContent] = []
    for src in srcs:
        doc = parse_heredoc(src) if not node.json else None
        if doc is not None:
            from dockyard.dockerfile.instructions.content import SourceContent  # heredocs only

            found = docs.get(doc.name)
            data = found.data if found else ""
            contents.append(SourceContent(doc.name, data, doc.expand))
        else:
            paths.append(src)
    return {
        "sources": tuple(paths),
        "contents": tuple(contents),
        "dest": dest,
        "chown": flags.get("chown", ""),
        "chmod": flags.get("chmod", ""),
        "link": flags.get("link", False),
        "exclude": tuple(flags.get("exclude", ())),
    }


def _duration(flags: dict[str, Any], name: str) -> int:
    text = flags.get(name, "")
    if not text:
        return 0
    ns = parse_duration(text)
    if ns == 0:
        return 0
    if ns < 1_000_000:
        raise ValueError(f'Interval "{name}" cannot be less than 1ms')
    return ns


def _healthcheck(node: Node, flags: dict[str, Any]) -> Healthcheck:
    health = _module("healthcheck").Healthcheck
    if not node.args:
        raise _at_least_one("HEALTHCHECK")
    typ = node.args[0].upper()
    rest = node.args[1:]
    if typ == "NONE":
        if rest:
            raise ValueError("HEALTHCHECK NONE takes no arguments")
        none: Healthcheck = health(("NONE",))
        return none
    if typ != "CMD":
        raise ValueError(f'unknown type "{typ}" in HEALTHCHECK (try CMD)')
    cmd = rest if node.json else ([" ".join(rest)] if rest else [])
    if not cmd:
        raise ValueError("missing command after HEALTHCHECK CMD")
    retries = 0
    if flags.get("retries"):
        try:
            retries = int(flags["retries"], 10)
        except ValueError:
            raise ValueError(
                f'strconv.ParseInt: parsing "{flags["retries"]}": invalid syntax'
            ) from None
        if retries < 0:
            raise ValueError(f"--retries cannot be negative ({retries})")
    health_check: Healthcheck = health(
        test=("CMD" if node.json else "CMD-SHELL", *cmd),
        interval=_duration(flags, "interval"),
        timeout=_duration(flags, "timeout"),
        start_period=_duration(flags, "start-period"),
        start_interval=_duration(flags, "start-interval"),
        retries=retries,
    )
    return health_check


def _one(node: Node, name: str) -> str:
    if len(node.args) != 1:
        raise _exactly_one(name)
    return node.args[0]


def _module(keyword: str) -> Any:
    return importlib.import_module(
        f"dockyard.dockerfile.instructions.{INSTRUCTION_MODULES[keyword]}"
    )


def instruction_class(keyword: str) -> type[Instruction]:
    """The record class of ``keyword`` (lower case), importing its module if need be."""
    cls: type[Instruction] = getattr(_module(keyword), f"{keyword.capitalize()}Instruction")
    return cls


def convert(node: Node, file: str = "Dockerfile") -> Instruction:
    """Build the instruction for ``node``; raises ``ValueError`` with BuildKit's message."""
    kw = node.keyword
    if kw not in INSTRUCTION_MODULES:
        import difflib  # for error messages only

        hint = difflib.get_close_matches(kw, KEYWORDS, n=1)
        extra = f" (did you mean {hint[0]}?)" if hint else ""
        raise ValueError(f"unknown instruction: {node.raw_keyword}{extra}")
    flags = _parse_flags(kw, node.flags)
    common: dict[str, Any] = {
        "original": node.original,
        "location": Location(file, node.start_line, node.end_line),
    }
    return instruction_class(kw)(**_fields(kw, node, flags, file), **common)


def _fields(kw: str, node: Node, flags: dict[str, Any], file: str) -> dict[str, Any]:
    """The fields of ``kw``'s record beyond those every instruction has."""
    args = node.args
    if kw == "from":
        if len(args) == 3 and args[1].lower() == "as":
            stage = args[2].lower()
            if not _STAGE_NAME.match(stage):
                raise ValueError(
                    f'invalid name for build stage: "{args[2]}", '
                    "name can't start with a number or contain symbols"
                )
        elif len(args) != 1:
            raise ValueError("FROM requires either one or three arguments")
        else:
            stage = ""
        return {"base_name": args[0], "stage_name": stage, "platform": flags.get("platform", "")}
    if kw == "run":
        return {
            **_shell_dependent(node),
            "mounts": tuple(flags.get("mount", ())),
            "network": flags.get("network", ""),
            "security": flags.get("security", ""),
        }
    if kw in ("cmd", "entrypoint"):
        return _shell_dependent(node)
    if kw == "shell":
        if not args:
            raise _at_least_one("SHELL")
        if not node.json:
            raise ValueError("SHELL requires the arguments to be in JSON form")
        return {"shell": tuple(args)}
    if kw in ("env", "label"):
        return {"pairs": _kvps(args, kw.upper())}
    if kw == "arg":
        if not args:
            raise _at_least_one("ARG")
        spec = _module("arg").ArgSpec
        specs = []
        for a in args:
            key, eq, value = a.partition("=")
            specs.append(spec(key, value if eq else None))
        return {"args": tuple(specs)}
    if kw == "expose":
        if not args:
            raise _at_least_one("EXPOSE")
        return {"ports": tuple(args)}
    if kw == "volume":
        if not args:
            raise _at_least_one("VOLUME")
        vols = tuple(v.strip() for v in args)
        if any(not v for v in vols):
            raise ValueError("VOLUME specified can not be an empty string")
        return {"volumes": vols}
    if kw == "user":
        return {"user": _one(node, "USER")}
    if kw == "workdir":
        return {"path": _one(node, "WORKDIR")}
    if kw == "maintainer":
        return {"maintainer": _one(node, "MAINTAINER")}
    if kw == "stopsignal":
        return {"signal": _one(node, "STOPSIGNAL")}
    if kw == "healthcheck":
        return {"health": _healthcheck(node, flags)}
    if kw == "copy":
        return {
            **_copy(node, flags, False),
            "from_": flags.get("from", ""),
            "parents": flags.get("parents", False),
        }
    if kw == "add":
        return {
            **_copy(node, flags, True),
            "checksum": flags.get("checksum", ""),
            "keep_git_dir": flags.get("keep-git-dir", False),
            "unpack": flags.get("unpack"),
        }
    # onbuild
    if node.sub is None:
        raise _at_least_one("ONBUILD")
    trig = node.sub.keyword.upper()
    if trig == "ONBUILD":
        raise ValueError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trig in ("MAINTAINER", "FROM"):
        raise ValueError(f"{trig} isn't allowed as an ONBUILD trigger")
    expression = _ONBUILD_PREFIX.sub("", node.original, count=1)
    for doc in node.heredocs:
        expression += "\n" + doc.content + doc.name
    sub = node.sub
    sub.heredocs = list(node.heredocs)
    sub.start_line, sub.end_line = node.start_line, node.end_line
    return {"expression": expression, "trigger": convert(sub, file)}
