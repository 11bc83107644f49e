"""Platforms (``linux/arm64/v8``) with containerd's normalisation and matching rules."""

from __future__ import annotations

import platform as _host
import re
import sys
from dataclasses import dataclass, replace
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.oci._json import Fields

__all__ = ["Platform"]

_PART = re.compile(r"[A-Za-z0-9_.-]+")
_OS_PART = re.compile(r"([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.-]*)\))?")
_KNOWN_OS = frozenset(
    [
        "aix",
        "android",
        "darwin",
        "dragonfly",
        "freebsd",
        "illumos",
        "ios",
        "js",
        "linux",
        "nacl",
        "netbsd",
        "openbsd",
        "plan9",
        "solaris",
        "wasip1",
        "windows",
        "zos",
    ]
)
_KNOWN_ARCH = frozenset(
    [
        "386",
        "amd64",
        "amd64p32",
        "arm",
        "armbe",
        "arm64",
        "arm64be",
        "loong64",
        "mips",
        "mipsle",
        "mips64",
        "mips64le",
        "mips64p32",
        "mips64p32le",
        "ppc",
        "ppc64",
        "ppc64le",
        "riscv",
        "riscv64",
        "s390",
        "s390x",
        "sparc",
        "sparc64",
        "wasm",
    ]
)
# uname -m spellings that containerd's table does not know
_MACHINE = {
    "armv5l": ("arm", "v5"),
    "armv5tel": ("arm", "v5"),
    "armv6l": ("arm", "v6"),
    "armv7l": ("arm", "v7"),
    "armv8l": ("arm", "v8"),
    "i686": ("386", ""),
    "i586": ("386", ""),
}


def _normalize_os(os: str) -> str:
    os = os.lower()
    return "darwin" if os == "macos" else os


def _normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    """containerd's normalizeArch (platforms/database.go)."""
    arch, variant = arch.lower(), variant.lower()
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    if arch in ("aarch64", "arm64"):
        if variant in ("8", "v8", "v8.0"):
            variant = ""
        elif variant in ("9", "9.0", "v9.0"):
            variant = "v9"
        return "arm64", variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant in ("", "7"):
            variant = "v7"
        elif variant in ("5", "6", "8"):
            variant = "v" + variant
    return arch, variant


def _version(variant: str) -> int | None:
    text = variant.removeprefix("v")
    return int(text) if text.isdigit() else None


@dataclass(frozen=True, slots=True)
class Platform:
    """An OS/architecture pair, as in an image index entry or an image config."""

    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()

    # --- text form -----------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os[/arch[/variant]]`` or a lone known architecture (``arm64``).

        The result keeps the spelling given; :meth:`normalized` gives the canonical form.
        """
        parts = text.split("/") if isinstance(text, str) else []
        if not 1 <= len(parts) <= 3 or not all(_PART.fullmatch(p) for p in parts[1:]):
            raise InvalidArgument(
                f"invalid platform {text!r}",
                hint="expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8",
            )
        m = _OS_PART.fullmatch(parts[0])
        if m is None:
            raise InvalidArgument(f"invalid platform {text!r}: bad operating system {parts[0]!r}")
        os, os_version = m.group(1), m.group(2) or None
        if len(parts) == 1:
            host = cls.current()
            if _normalize_os(os) in _KNOWN_OS:
                return cls(os, host.architecture, host.variant, os_version)
            arch, _ = _normalize_arch(os, "")
            if os_version is None and arch in _KNOWN_ARCH:
                return cls(host.os, os)
            raise InvalidArgument(
                f"invalid platform {text!r}: unknown operating system or architecture",
                hint="expected os/arch[/variant], e.g. linux/amd64",
            )
        variant = parts[2] if len(parts) == 3 else None
        return cls(os, parts[1], variant, os_version)

    def __str__(self) -> str:
        out = f"{self.os}/{self.architecture}"
        return f"{out}/{self.variant}" if self.variant else out

    # --- normalisation and matching ------------------------------------------------------

    def normalized(self) -> Platform:
        """containerd's Normalize: ``aarch64`` → ``arm64``, ``arm64/v8`` → ``arm64``, ``arm`` →
        ``arm/v7``, ``x86_64`` → ``amd64``, ``amd64/v1`` → ``amd64``, ``armhf`` → ``arm/v7``."""
        arch, variant = _normalize_arch(self.architecture, self.variant or "")
        return replace(self, os=_normalize_os(self.os), architecture=arch, variant=variant or None)

    def compatible(self) -> list[Platform]:
        """What a host of this platform can run, best first (containerd's platforms.Only)."""
        p = self.normalized()
        return [q.normalized() for q in _vector(p)]

    def _same(self, wanted: Platform) -> bool:
        """Exact match of two normalised platforms (os features: wanted ⊆ ours)."""
        return (
            self.os == wanted.os
            and self.architecture == wanted.architecture
            and self.variant == wanted.variant
            and (wanted.os_version is None or self.os_version in (None, wanted.os_version))
            and set(wanted.os_features) <= set(self.os_features)
        )

    def rank(self, wanted: Platform) -> int | None:
        """Position of this platform in ``wanted.compatible()`` (0 = exact), or None."""
        me = self.normalized()
        for i, candidate in enumerate(wanted.compatible()):
            if me._same(candidate):
                return i
        return None

    def matches(self, wanted: Platform) -> bool:
        """Whether an image of this platform runs where ``wanted`` is asked for.

        ``arm64`` ≡ ``arm64/v8``, ``arm`` ≡ ``arm/v7``, ``amd64`` ≡ ``amd64/v1``; a host also runs
        older variants (arm/v7 runs arm/v6; amd64/v3 runs amd64/v2) and amd64 runs 386.
        """
        return self.rank(wanted) is not None

    @classmethod
    def current(cls) -> Platform:
        """The platform of this machine."""
        os = sys.platform
        if os.startswith("linux"):
            os = "linux"
        elif os == "win32":
            os = "windows"
        else:
            os = re.sub(r"[0-9]+$", "", os)
        machine = _host.machine().lower()
        arch, variant = _MACHINE.get(machine, (machine, ""))
        return cls(os, arch, variant or None).normalized()

    # --- JSON ----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        return out

    @classmethod
    def from_json(cls, obj: object, *, what: str = "platform", where: str = "") -> Platform:
        f = Fields(obj, what, where)
        return cls(
            os=f.req_str("os"),
            architecture=f.req_str("architecture"),
            variant=f.opt_str("variant") or None,
            os_version=f.opt_str("os.version") or None,
            os_features=tuple(f.opt_str_list("os.features") or ()),
        )


def _vector(p: Platform) -> list[Platform]:
    """containerd's platformVector for a normalised platform."""
    out = [p]
    variant = p.variant or ""
    if p.architecture == "amd64":
        n = _version(variant)
        if n is not None and n > 1:
            out += [replace(p, variant=f"v{v}") for v in range(n - 1, 0, -1)]
        out.append(replace(p, architecture="386", variant=None))
    elif p.architecture == "arm":
        n = _version(variant)
        if n is not None and n > 5:
            out += [replace(p, variant=f"v{v}") for v in range(n - 1, 4, -1)]
    elif p.architecture == "arm64":
        out += _arm64_vector(p, variant or "v8")
    return out


def _arm64_vector(p: Platform, variant: str) -> list[Platform]:
    out: list[Platform] = []
    major_text, dot, minor_text = variant.partition(".")
    major = _version(major_text)
    if major is not None and major >= 8:
        minor = int(minor_text) if dot and len(variant) == 4 and minor_text.isdigit() else 0
        if major == 9:
            out += [replace(p, variant=f"v9.{m}" if m else "v9") for m in range(minor - 1, -1, -1)]
            minor, major = min(minor + 5, 9), 8
            out.append(replace(p, variant=f"v8.{minor}"))
        out += [
            replace(p, variant=f"v{major}.{m}" if m else f"v{major}")
            for m in range(minor - 1, -1, -1)
        ]
    if variant.startswith(("v8.", "v9.")):
        variant = "v8"
    return out + _vector(replace(p, architecture="arm", variant=variant))
