"""``RUN --mount=…`` options, parsed and checked as BuildKit does."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MOUNT_TYPES", "Mount", "parse_mount", "resolve_target"]

MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
_SHARING = ("shared", "private", "locked")
_KEYS = (
    "type",
    "target",
    "dst",
    "destination",
    "dest",
    "src",
    "source",
    "from",
    "readonly",
    "ro",
    "readwrite",
    "rw",
    "required",
    "size",
    "id",
    "sharing",
    "mode",
    "uid",
    "gid",
    "env",
)
_RAM = re.compile(r"^(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)[iI]?[bB]?$")


@dataclass(frozen=True)
class Mount:
    """One mount of a RUN step; defaults filled in as BuildKit fills them."""

    type: str = "bind"
    target: str = ""
    source: str = ""
    from_: str = ""
    readonly: bool = True
    id: str = ""
    sharing: str = ""
    required: bool = False
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    size: int = 0
    env: str | None = None


def _bool(key: str, value: str) -> bool:
    low = value.lower()
    if low in ("1", "t", "true"):
        return True
    if low in ("0", "f", "false"):
        return False
    raise ValueError(f"invalid value for {key}: {value}")


def _ram(value: str) -> int:
    m = _RAM.match(value.strip())
    if not m:
        raise ValueError(f"invalid value for size: {value}")
    mult = 1024 ** " kmgtp".index((m.group(2) or " ").lower())
    return int(float(m.group(1)) * mult)


def parse_mount(value: str, expand: Callable[[str], str] | None = None) -> Mount:
    """Parse one ``--mount`` value; ``expand`` expands each option value (ARG/ENV)."""
    try:
        fields = next(csv.reader([value]))
    except (csv.Error, StopIteration) as e:
        raise ValueError(f"failed to parse csv mounts: {e}") from None
    m: dict[str, object] = {"type": "bind"}
    ro_auto = True
    for fld in fields:
        key, eq, val = fld.partition("=")
        key = key.lower()
        kind = m["type"]
        if not eq:
            if key in ("readonly", "ro"):
                m["readonly"], ro_auto = True, False
            elif key in ("readwrite", "rw"):
                m["readonly"], ro_auto = False, False
            elif key == "required":
                if kind not in ("secret", "ssh"):
                    raise ValueError(f"unexpected key '{key}' for mount type '{kind}'")
                m["required"] = True
            else:
                raise ValueError(f"invalid field '{fld}' must be a key=value pair")
            continue
        if expand is not None:
            val = expand(val)
        if key == "type":
            if val.lower() not in MOUNT_TYPES:
                raise ValueError(f'unsupported mount type "{val}"')
            m["type"] = val.lower()
        elif key in ("target", "dst", "destination", "dest"):
            m["target"] = val
        elif key in ("src", "source"):
            m["source"] = val
        elif key == "from":
            m["from_"] = val
        elif key in ("readonly", "ro"):
            m["readonly"], ro_auto = _bool(key, val), False
        elif key in ("readwrite", "rw"):
            m["readonly"], ro_auto = not _bool(key, val), False
        elif key == "required":
            if kind not in ("secret", "ssh"):
                raise ValueError(f"unexpected key '{key}' for mount type '{kind}'")
            m["required"] = _bool(key, val)
        elif key == "size":
            if kind != "tmpfs":
                raise ValueError(f"unexpected key '{key}' for mount type '{kind}'")
            m["size"] = _ram(val)
        elif key == "id":
            m["id"] = val
        elif key == "sharing":
            if kind != "cache":
                raise ValueError(f"invalid cache sharing set for {kind} mount")
            if val.lower() not in _SHARING:
                raise ValueError(f'unsupported sharing value "{val}"')
            m["sharing"] = val.lower()
        elif key in ("mode", "uid", "gid"):
            try:
                m[key] = int(val, 8 if key == "mode" else 10)
            except ValueError:
                raise ValueError(f"invalid value {val} for {key}") from None
        elif key == "env":
            m["env"] = val
        else:
            raise ValueError(f"unexpected key '{key}' in '{fld}'")
    mount = Mount(**m)  # type: ignore[arg-type]
    return _finish(mount, ro_auto)


def _finish(m: Mount, ro_auto: bool) -> Mount:
    from dataclasses import replace

    if m.type not in ("secret", "ssh", "cache"):
        for name in ("mode", "uid", "gid"):
            if getattr(m, name) is not None:
                raise ValueError(f'{name} not allowed for "{m.type}" type mounts')
    if ro_auto:
        m = replace(m, readonly=m.type not in ("cache", "tmpfs"))
    if m.sharing and m.type != "cache":
        raise ValueError(f"invalid cache sharing set for {m.type} mount")
    if m.type == "secret":
        if m.from_:
            raise ValueError("secret mount should not have a from")
        if not (m.source or m.target or m.id):
            raise ValueError("invalid secret mount. one of source, target required")
        if m.source and m.id:
            raise ValueError("both source and id can't be set")
        ident = m.id or m.source or m.target.rstrip("/").rsplit("/", 1)[-1]
        target = m.target or ("" if m.env else f"/run/secrets/{ident}")
        m = replace(m, id=ident, source="", target=target, mode=0o400 if m.mode is None else m.mode)
    elif m.type == "ssh":
        m = replace(m, id=m.id or "default", mode=0o600 if m.mode is None else m.mode)
    elif m.type == "cache":
        m = replace(m, sharing=m.sharing or "shared", id=m.id or m.target)
        if m.mode is None:
            m = replace(m, mode=0o755)
    return m


def resolve_target(m: Mount, workdir: str) -> Mount:
    """Make a relative (or empty) target absolute against WORKDIR, as BuildKit does."""
    import posixpath
    from dataclasses import replace

    if m.type in ("secret", "ssh") or m.target.startswith("/"):
        target = posixpath.normpath(m.target) if m.target else m.target
    else:
        target = posixpath.normpath(posixpath.join("/", workdir, m.target))
    if m.type not in ("secret", "ssh") and target == "/":
        raise ValueError('invalid mount target "/"')
    return replace(m, target=target)
