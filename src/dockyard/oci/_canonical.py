"""Stable key order for image config JSON: Go's struct field order, then the rest sorted."""

from __future__ import annotations

from typing import Any

__all__ = ["canonical_config"]

# OCI image-spec ``Image`` (platform fields inline), then Docker's own top-level fields
_TOP = (
    "created",
    "author",
    "architecture",
    "os",
    "os.version",
    "os.features",
    "variant",
    "config",
    "rootfs",
    "history",
)
# OCI ``ImageConfig``, then Docker's container config fields in Docker's order
_CONFIG = (
    "User",
    "ExposedPorts",
    "Env",
    "Entrypoint",
    "Cmd",
    "Volumes",
    "WorkingDir",
    "Labels",
    "StopSignal",
    "ArgsEscaped",
    "Healthcheck",
    "OnBuild",
    "Shell",
)
_ROOTFS = ("type", "diff_ids")
_HISTORY = ("created", "created_by", "author", "comment", "empty_layer")
_CONTAINER_CONFIGS = ("config", "container_config")


def _ordered(obj: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """Keys in ``order`` first, then the others sorted; values are made canonical too."""
    keys = [k for k in order if k in obj] + sorted(k for k in obj if k not in order)
    return {k: _sorted(obj[k]) for k in keys}


def _sorted(value: Any) -> Any:
    """Objects of unknown shape get sorted keys, as Go writes maps."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def canonical_config(data: dict[str, Any]) -> dict[str, Any]:
    """The image config ``data`` with every object's keys in a stable order."""
    out = _ordered(data, _TOP)
    for key in _CONTAINER_CONFIGS:
        if isinstance(data.get(key), dict):
            out[key] = _ordered(data[key], _CONFIG)
    if isinstance(data.get("rootfs"), dict):
        out["rootfs"] = _ordered(data["rootfs"], _ROOTFS)
    if isinstance(data.get("history"), list):
        out["history"] = [
            _ordered(h, _HISTORY) if isinstance(h, dict) else h for h in data["history"]
        ]
    return out
