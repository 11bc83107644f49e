"""The image config (``application/vnd.oci.image.config.v1+json``), every field preserved."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from dockyard.digest import SHA256, Digest, digest_of
from dockyard.errors import DigestInvalid, InvalidArgument, Unsupported
from dockyard.oci import mediatypes as mt
from dockyard.oci._canonical import canonical_config
from dockyard.oci._json import Fields, dumps, load_object, type_name
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.platform import Platform

__all__ = ["HistoryEntry", "ImageConfig"]

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")

# with_changes() keyword → (in "config"?, JSON key)
_TOP_KEYS = {
    "created": "created",
    "author": "author",
    "architecture": "architecture",
    "os": "os",
    "variant": "variant",
    "os_version": "os.version",
    "os_features": "os.features",
    "comment": "comment",
}
_CONFIG_KEYS = {
    "user": "User",
    "exposed_ports": "ExposedPorts",
    "env": "Env",
    "entrypoint": "Entrypoint",
    "cmd": "Cmd",
    "volumes": "Volumes",
    "working_dir": "WorkingDir",
    "labels": "Labels",
    "stop_signal": "StopSignal",
    "args_escaped": "ArgsEscaped",
    "healthcheck": "Healthcheck",
    "on_build": "OnBuild",
    "shell": "Shell",
}
_STR_LISTS = ("Env", "Entrypoint", "Cmd", "OnBuild", "Shell")
_OBJECTS = ("ExposedPorts", "Volumes", "Healthcheck")


def _time(f: Fields, key: str) -> str | None:
    value = f.opt_str(key)
    if value is not None and not _RFC3339.fullmatch(value):
        f.fail(f"{f.path(key)} {value!r} is not an RFC 3339 time")
    return value


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of ``docker history``; ``empty_layer`` entries have no layer of their own."""

    created: str | None = None
    created_by: str | None = None
    author: str | None = None
    comment: str | None = None
    empty_layer: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (
            ("created", self.created),
            ("created_by", self.created_by),
            ("author", self.author),
            ("comment", self.comment),
        ):
            if value is not None:
                out[key] = value
        if self.empty_layer:
            out["empty_layer"] = True
        return out

    @classmethod
    def from_json(cls, obj: object, *, where: str = "history") -> HistoryEntry:
        f = Fields(obj, "image config", where)
        return cls(
            created=_time(f, "created"),
            created_by=f.opt_str("created_by"),
            author=f.opt_str("author"),
            comment=f.opt_str("comment"),
            empty_layer=bool(f.opt_bool("empty_layer")),
        )


def _check_container_config(f: Fields) -> None:
    for key in ("User", "WorkingDir", "StopSignal"):
        f.opt_str(key)
    for key in _STR_LISTS:
        f.opt_str_list(key)
    for key in _OBJECTS:
        f.opt_object(key)
    f.opt_str_map("Labels")
    f.opt_bool("ArgsEscaped")


def _diff_ids(f: Fields) -> list[Digest]:
    f.required("rootfs")
    rootfs = f.child("rootfs")
    kind = rootfs.req_str("type")
    if kind != "layers":
        rootfs.fail(f"rootfs.type must be 'layers', got {kind!r}")
    items = rootfs.opt_list("diff_ids") or []  # Docker omits an empty list
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            rootfs.fail(f"rootfs.diff_ids[{i}] must be a digest string, got {type_name(item)}")
        try:
            out.append(Digest.parse(item))
        except (DigestInvalid, Unsupported) as e:
            rootfs.fail(f"rootfs.diff_ids[{i}] {item!r}: {e.message}")
    return out


class ImageConfig:
    """An image config: platform, run settings (``config``), layer diff IDs and history.

    ``raw`` is kept as received and ``digest`` is over it; :attr:`data` is the whole decoded
    object, unknown fields included. ``with_*`` methods return new objects with new ``raw``.
    """

    __slots__ = ("_data", "diff_ids", "digest", "history", "raw", "size")

    def __init__(self, raw: bytes, *, algorithm: str = SHA256) -> None:
        data = load_object(raw, "image config")
        f = Fields(data, "image config")
        for key in ("architecture", "os"):
            if not f.req_str(key):
                f.fail(f"{key} must not be empty")
        f.opt_str("variant")
        f.opt_str("os.version")
        f.opt_str_list("os.features")
        f.opt_str("author")
        _time(f, "created")
        for key in ("config", "container_config"):
            if f.opt_object(key) is not None:
                _check_container_config(f.child(key))
        history = f.opt_list("history") or []
        self.raw = bytes(raw)
        self.digest = digest_of(self.raw, algorithm)
        self.size = len(self.raw)
        self.diff_ids: list[Digest] = _diff_ids(f)
        self.history: list[HistoryEntry] = [
            HistoryEntry.from_json(h, where=f"history[{i}]") for i, h in enumerate(history)
        ]
        self._data = data

    @classmethod
    def parse(cls, raw: bytes, *, algorithm: str = SHA256) -> ImageConfig:
        """Parse strictly; errors are ManifestInvalid naming the bad field."""
        return cls(raw, algorithm=algorithm)

    @classmethod
    def build(cls, data: dict[str, Any]) -> ImageConfig:
        """Serialise ``data`` canonically (stable key order, compact) and parse it back."""
        if not isinstance(data, dict):
            raise InvalidArgument(f"an image config must be a dict, got {type(data).__name__}")
        return cls(dumps(canonical_config(data)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ImageConfig) and self.raw == other.raw

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:
        return f"ImageConfig({self.digest}, {self.platform()}, {len(self.diff_ids)} layers)"

    # --- fields --------------------------------------------------------------------------

    @property
    def data(self) -> dict[str, Any]:
        """A copy of the whole decoded config."""
        return copy.deepcopy(self._data)

    @property
    def os(self) -> str:
        return str(self._data["os"])

    @property
    def architecture(self) -> str:
        return str(self._data["architecture"])

    @property
    def variant(self) -> str | None:
        return self._data.get("variant") or None

    @property
    def created(self) -> str | None:
        return self._data.get("created")

    @property
    def author(self) -> str | None:
        return self._data.get("author")

    @property
    def config(self) -> dict[str, Any]:
        """The run settings: Env, Cmd, Entrypoint, WorkingDir, User, Labels, … (a copy)."""
        return copy.deepcopy(self._data.get("config") or {})

    @property
    def container_config(self) -> dict[str, Any]:
        return copy.deepcopy(self._data.get("container_config") or {})

    @property
    def labels(self) -> dict[str, str]:
        return dict((self._data.get("config") or {}).get("Labels") or {})

    def platform(self) -> Platform:
        return Platform(
            os=self.os,
            architecture=self.architecture,
            variant=self.variant,
            os_version=self._data.get("os.version") or None,
            os_features=tuple(self._data.get("os.features") or ()),
        )

    def descriptor(self, media_type: str = mt.OCI_CONFIG) -> Descriptor:
        return Descriptor(media_type, self.digest, self.size)

    # --- derived configs -----------------------------------------------------------------

    def with_changes(self, **changes: Any) -> ImageConfig:
        """A new config with fields set (``None`` removes one).

        Top level: created, author, architecture, os, variant, os_version, os_features, comment.
        Run settings: user, exposed_ports, env, entrypoint, cmd, volumes, working_dir, labels,
        stop_signal, args_escaped, healthcheck, on_build, shell; ``config=`` replaces them all.
        ``exposed_ports`` and ``volumes`` may be given as lists (``["80/tcp"]``).
        """
        data = self.data
        if "config" in changes:
            data["config"] = copy.deepcopy(changes.pop("config"))
        run = data.get("config") or {}
        for name, value in changes.items():
            if name in _TOP_KEYS:
                target, key = data, _TOP_KEYS[name]
            elif name in _CONFIG_KEYS:
                target, key = run, _CONFIG_KEYS[name]
                if key in ("ExposedPorts", "Volumes") and isinstance(value, list | tuple | set):
                    value = {v: {} for v in sorted(value)}
            else:
                allowed = ", ".join(sorted([*_TOP_KEYS, *_CONFIG_KEYS, "config"]))
                raise InvalidArgument(f"unknown image config field {name!r}; known: {allowed}")
            if value is None:
                target.pop(key, None)
            else:
                target[key] = copy.deepcopy(value)
        if run or "config" in data:
            data["config"] = run
        return ImageConfig.build(data)

    def with_layer(self, diff_id: Digest, history_entry: HistoryEntry | None = None) -> ImageConfig:
        """A new config with one more layer (and its history line) on top."""
        if history_entry is not None and history_entry.empty_layer:
            raise InvalidArgument("the history entry of a layer cannot be marked empty_layer")
        data = self.data
        rootfs = data["rootfs"]
        rootfs["diff_ids"] = [*(rootfs.get("diff_ids") or []), str(diff_id)]
        if history_entry is not None:
            data["history"] = [*(data.get("history") or []), history_entry.to_json()]
        return ImageConfig.build(data)

    def with_history(self, entry: HistoryEntry) -> ImageConfig:
        """A new config with one more history line; without a layer it must be empty_layer."""
        if not entry.empty_layer:
            raise InvalidArgument("a history entry without a layer must have empty_layer=True")
        data = self.data
        data["history"] = [*(data.get("history") or []), entry.to_json()]
        return ImageConfig.build(data)
