"""Value checks the dispatcher needs: EXPOSE port specs and STOPSIGNAL names."""

from __future__ import annotations

import re

__all__ = ["check_signal", "parse_port_specs"]

_SIGNALS = [
    "ABRT",
    "ALRM",
    "BUS",
    "CHLD",
    "CLD",
    "CONT",
    "FPE",
    "HUP",
    "ILL",
    "INT",
    "IO",
    "IOT",
    "KILL",
    "PIPE",
    "POLL",
    "PROF",
    "PWR",
    "QUIT",
    "SEGV",
    "STKFLT",
    "STOP",
    "SYS",
    "TERM",
    "TRAP",
    "TSTP",
    "TTIN",
    "TTOU",
    "URG",
    "USR1",
    "USR2",
    "VTALRM",
    "WINCH",
    "XCPU",
    "XFSZ",
]
_RT = re.compile(r"^RTMIN(\+\d+)?$|^RTMAX(-\d+)?$")


def check_signal(text: str) -> None:
    """Raise ValueError unless ``text`` is a signal number or name (``SIGTERM``, ``TERM``)."""
    if text.isdigit():
        if int(text) == 0:
            raise ValueError(f"Invalid signal: {text}")
        return
    name = text.upper().removeprefix("SIG")
    if name not in _SIGNALS and not _RT.match(name):
        raise ValueError(f"Invalid signal: {text}")


def _port(text: str, raw: str) -> tuple[int, int]:
    start, dash, end = text.partition("-")
    try:
        lo = int(start)
        hi = int(end) if dash else lo
    except ValueError:
        raise ValueError(f"invalid containerPort: {raw}") from None
    if not (0 <= lo <= 65535 and 0 <= hi <= 65535) or hi < lo:
        raise ValueError(f"invalid containerPort: {raw}")
    return lo, hi


def parse_port_specs(specs: list[str]) -> list[str]:
    """``nat.ParsePortSpecs`` as EXPOSE uses it: ``80``, ``80/udp``, ``8000-8002`` → ports."""
    out: list[str] = []
    for raw in specs:
        spec = raw
        if ":" in spec and not spec.startswith("["):
            spec = spec.rsplit(":", 1)[1]
        port, slash, proto = spec.partition("/")
        proto = (proto if slash and proto else "tcp").lower()
        if proto not in ("tcp", "udp", "sctp"):
            raise ValueError(f"invalid proto: {proto}")
        if not port:
            raise ValueError(f"no port specified: {raw}<empty>")
        lo, hi = _port(port, raw)
        out += [f"{p}/{proto}" for p in range(lo, hi + 1)]
    return out
