"""The distribution from ``/etc/os-release`` (falling back to ``/usr/lib/os-release``)."""

from __future__ import annotations

import shlex

from dockyard.scan._filesystem import FileView
from dockyard.scan._package import Distro

__all__ = ["GLOBS", "find_distro", "parse_os_release"]

GLOBS = ("/etc/os-release", "/usr/lib/os-release", "/etc/alpine-release")


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines, values shell-quoted (os-release(5))."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            parts = shlex.split(value)
        except ValueError:
            parts = [value.strip("\"'")]
        out[key.strip()] = parts[0] if parts else ""
    return out


def find_distro(view: FileView) -> Distro | None:
    for path in GLOBS[:2]:
        data = view.read(path)
        if data is None:
            continue
        fields = parse_os_release(data.decode("utf-8", "replace"))
        if "ID" not in fields:
            continue
        return Distro(
            id=fields["ID"].lower(),
            version_id=fields.get("VERSION_ID", ""),
            version_codename=fields.get("VERSION_CODENAME", ""),
            pretty_name=fields.get("PRETTY_NAME", ""),
            id_like=tuple(fields.get("ID_LIKE", "").split()),
        )
    return None
