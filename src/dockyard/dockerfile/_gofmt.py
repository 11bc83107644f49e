"""Go's formatting where BuildKit's history strings use it: ``%q``, ``%v``, durations."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["format_duration", "parse_duration", "quote", "quote_list", "quote_rune"]

_ESC = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _printable(ch: str) -> bool:
    if ch == " ":
        return True
    cat = unicodedata.category(ch)
    return not (cat.startswith(("C", "Z")))


def _escape(ch: str, quote_char: str) -> str:
    if ch == quote_char or ch == "\\":
        return "\\" + ch
    if _printable(ch):
        return ch
    if ch in _ESC:
        return _ESC[ch]
    code = ord(ch)
    if (code < 0x80 and code < 0x20) or code == 0x7F:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def quote(s: str) -> str:
    """``strconv.Quote``: a double-quoted Go string literal."""
    return '"' + "".join(_escape(ch, '"') for ch in s) + '"'


def quote_rune(n: int) -> str:
    """``%q`` of an integer: a single-quoted Go character literal."""
    if n < 0 or n > 0x10FFFF or 0xD800 <= n <= 0xDFFF:
        return "'\ufffd'"
    ch = chr(n)
    if ch == "'" or ch == "\\":
        return "'\\" + ch + "'"
    if _printable(ch):
        return f"'{ch}'"
    if ch in _ESC:
        return f"'{_ESC[ch]}'"
    if n < 0x80:
        return f"'\\x{n:02x}'"
    if n < 0x10000:
        return f"'\\u{n:04x}'"
    return f"'\\U{n:08x}'"


def quote_list(items: list[str]) -> str:
    """``%q`` of a ``[]string``: ``["a" "b"]``."""
    return "[" + " ".join(quote(i) for i in items) + "]"


def _fmt_frac(v: int, prec: int) -> tuple[str, int]:
    digits = ""
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits = str(digit) + digits
        v //= 10
    return ("." + digits if printed else ""), v


def format_duration(ns: int) -> str:
    """``time.Duration.String()``."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = abs(ns)
    if u < 1_000_000_000:
        if u < 1_000:
            out = f"{u}ns"
        elif u < 1_000_000:
            frac, whole = _fmt_frac(u, 3)
            out = f"{whole}{frac}µs"
        else:
            frac, whole = _fmt_frac(u, 6)
            out = f"{whole}{frac}ms"
    else:
        frac, secs = _fmt_frac(u, 9)
        out = f"{secs % 60}{frac}s"
        mins = secs // 60
        if mins > 0:
            out = f"{mins % 60}m" + out
            hours = mins // 60
            if hours > 0:
                out = f"{hours}h" + out
    return "-" + out if neg else out


_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> int:
    """``time.ParseDuration``: ``1m30s``, ``1.5h``, ``300ms`` → nanoseconds."""
    orig = text
    s = text
    neg = False
    if s[:1] in "+-" and s:
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"time: invalid duration {quote(orig)}")
    total = 0.0
    while s:
        m = _PART.match(s)
        if not m or (not m.group(1) and not m.group(2)):
            if m is None and re.match(r"[\d.]+$", s):
                raise ValueError(f"time: missing unit in duration {quote(orig)}")
            raise ValueError(f"time: invalid duration {quote(orig)}")
        whole = int(m.group(1) or "0")
        frac = m.group(2) or ""
        scale = _UNITS[m.group(3)]
        total += whole * scale + (int(frac) * scale / 10 ** len(frac) if frac else 0)
        s = s[m.end() :]
    ns = int(total)
    return -ns if neg else ns
