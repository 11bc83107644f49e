"""``--change 'CMD …'``: the Dockerfile instructions docker import and commit accept."""

from __future__ import annotations

import json
import shlex
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["ALLOWED_CHANGES", "apply_changes"]

ALLOWED_CHANGES = (
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "ONBUILD",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
)


def _json_or_shell(args: str) -> list[str]:
    text = args.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return ["/bin/sh", "-c", text]


def _pairs(args: str, instruction: str) -> list[tuple[str, str]]:
    words = shlex.split(args, posix=True)
    if not words:
        raise InvalidArgument(f"{instruction} requires at least one argument")
    if "=" not in words[0]:
        # legacy form: ENV key value with spaces
        key, _, value = args.strip().partition(" ")
        return [(key, value.strip())]
    pairs = []
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise InvalidArgument(f"{instruction} names must be key=value, got {word!r}")
        pairs.append((key, value))
    return pairs


def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """Apply each ``INSTRUCTION args`` to a copy of an image's ``config`` object."""
    out: dict[str, Any] = json.loads(json.dumps(config))
    for change in changes:
        instruction, _, args = change.strip().partition(" ")
        name = instruction.upper()
        if name not in ALLOWED_CHANGES:
            raise InvalidArgument(f"{instruction} is not a valid change command")
        if name == "CMD":
            out["Cmd"] = _json_or_shell(args)
        elif name == "ENTRYPOINT":
            out["Entrypoint"] = _json_or_shell(args)
        elif name == "ENV":
            env = [e for e in out.get("Env") or []]
            for key, value in _pairs(args, name):
                env = [e for e in env if e.split("=", 1)[0] != key] + [f"{key}={value}"]
            out["Env"] = env
        elif name == "LABEL":
            labels = dict(out.get("Labels") or {})
            labels.update(_pairs(args, name))
            out["Labels"] = labels
        elif name == "EXPOSE":
            ports = dict(out.get("ExposedPorts") or {})
            for port in args.split():
                ports[port if "/" in port else f"{port}/tcp"] = {}
            out["ExposedPorts"] = ports
        elif name == "VOLUME":
            volumes = dict(out.get("Volumes") or {})
            paths = _json_or_shell(args) if args.strip().startswith("[") else args.split()
            for path in paths:
                volumes[path] = {}
            out["Volumes"] = volumes
        elif name == "USER":
            out["User"] = args.strip()
        elif name == "WORKDIR":
            out["WorkingDir"] = args.strip()
        elif name == "STOPSIGNAL":
            out["StopSignal"] = args.strip()
        elif name == "ONBUILD":
            out["OnBuild"] = [*(out.get("OnBuild") or []), args.strip()]
        elif name == "HEALTHCHECK":
            test = args.strip()
            if test.upper() == "NONE":
                out["Healthcheck"] = {"Test": ["NONE"]}
            else:
                cmd = test[4:].strip() if test.upper().startswith("CMD ") else test
                parsed = _json_or_shell(cmd)
                out["Healthcheck"] = {
                    "Test": ["CMD", *parsed] if cmd.startswith("[") else ["CMD-SHELL", cmd]
                }
    return out
