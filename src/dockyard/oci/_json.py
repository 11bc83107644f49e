"""Strict reading of JSON objects (errors name the bad field) and Go-compatible writing."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from dockyard.errors import ManifestInvalid

__all__ = ["Fields", "dumps", "load_object", "type_name"]

_INT64_MAX = 2**63 - 1


def type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def load_object(raw: bytes, what: str) -> dict[str, Any]:
    """Decode ``raw`` as one UTF-8 JSON object, or raise ManifestInvalid naming ``what``."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise ManifestInvalid(f"invalid {what}: expected bytes, got {type(raw).__name__}")
    try:
        text = bytes(raw).decode("utf-8")
        value = json.loads(text, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as e:
        raise ManifestInvalid(f"invalid {what}: not valid UTF-8 JSON: {e}") from e
    except RecursionError:
        raise ManifestInvalid(f"invalid {what}: JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise ManifestInvalid(f"invalid {what}: expected a JSON object, got {type_name(value)}")
    return value


def dumps(value: object) -> bytes:
    """Compact JSON exactly as Go's ``json.Marshal`` writes it (UTF-8, HTML-safe escapes)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # These characters only ever occur inside JSON strings, so replacing them is safe.
    for char, escape in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text.encode("utf-8")


class Fields:
    """Typed access to the fields of one decoded JSON object.

    Every accessor raises :class:`ManifestInvalid` naming the path of the bad field, e.g.
    ``invalid manifest: layers[2].size must be a non-negative integer, got string``.
    """

    __slots__ = ("obj", "what", "where")

    def __init__(self, obj: object, what: str, where: str = "") -> None:
        self.what = what
        self.where = where
        if not isinstance(obj, dict):
            self.fail(f"{where or what} must be an object, got {type_name(obj)}")
        self.obj: dict[str, Any] = obj

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, message: str) -> NoReturn:
        raise ManifestInvalid(f"invalid {self.what}: {message}")

    def _bad(self, key: str, expected: str) -> NoReturn:
        self.fail(f"{self.path(key)} must be {expected}, got {type_name(self.obj[key])}")

    def has(self, key: str) -> bool:
        return key in self.obj

    def required(self, key: str) -> Any:
        if key not in self.obj:
            self.fail(f"{self.path(key)} is required")
        return self.obj[key]

    def req_str(self, key: str) -> str:
        value = self.required(key)
        if not isinstance(value, str):
            self._bad(key, "a string")
        return value

    def opt_str(self, key: str) -> str | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self._bad(key, "a string")
        return value

    def req_size(self, key: str) -> int:
        value = self.required(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self._bad(key, "a non-negative integer")
        if not 0 <= value <= _INT64_MAX:
            self.fail(f"{self.path(key)} must be a non-negative integer, got {value}")
        return value

    def opt_bool(self, key: str) -> bool | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            self._bad(key, "a boolean")
        return value

    def opt_str_list(self, key: str) -> list[str] | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            self._bad(key, "an array of strings")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{self.path(key)}[{i}] must be a string, got {type_name(item)}")
        return list(value)

    def opt_str_map(self, key: str) -> dict[str, str] | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self._bad(key, "an object of strings")
        for k, item in value.items():
            if not isinstance(item, str):
                self.fail(f"{self.path(key)}[{k!r}] must be a string, got {type_name(item)}")
        return dict(value)

    def opt_object(self, key: str) -> dict[str, Any] | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self._bad(key, "an object")
        return value

    def opt_list(self, key: str) -> list[Any] | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            self._bad(key, "an array")
        return value

    def child(self, key: str) -> Fields:
        return Fields(self.obj[key], self.what, self.path(key))
