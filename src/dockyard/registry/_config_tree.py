"""The raw configuration tree: registry:2's YAML shape, its environment rule, and type checks.

distribution (registry:2) reads a YAML file, then lets any ``REGISTRY_A_B_C`` environment
variable set the key ``a.b.c`` (``_`` stands for one level of nesting; names are matched without
regard to case and map keys are lower-cased). Scalars are kept as the text the user wrote until
the schema says what type a key has, as Go's YAML decoder does: ``addr: 1:30`` stays a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from dockyard.errors import InvalidArgument
from dockyard.record import record

__all__ = [
    "BOOL",
    "DRIVERS",
    "IGNORED",
    "INT",
    "OPAQUE",
    "STR",
    "STRLIST",
    "STRMAP",
    "Leaf",
    "Section",
    "Tree",
    "apply_env",
    "check",
    "load_yaml_text",
    "set_path",
]

Tree = dict[str, Any]


@record(frozen=True)
class Leaf:
    """A typed value: ``kind`` is one of str, bool, int, strlist, strmap, opaque, ignored."""

    kind: str


@record(frozen=True)
class Section:
    """A mapping with known keys. ``drivers``: a bare string ``x`` means ``{x: {}}`` (registry:2's
    storage and auth sections, where ``REGISTRY_AUTH=htpasswd`` names the provider)."""

    keys: Mapping[str, Section | Leaf]
    drivers: bool = False


STR = Leaf("str")
BOOL = Leaf("bool")
INT = Leaf("int")
STRLIST = Leaf("strlist")
STRMAP = Leaf("strmap")
#: A subtree kept as written (scalars as strings), for sections typed later.
OPAQUE = Leaf("opaque")
#: A registry:2 key dockyard accepts and does not act on (a warning says so).
IGNORED = Leaf("ignored")


def DRIVERS(keys: Mapping[str, Section | Leaf]) -> Section:
    return Section(keys, drivers=True)


class _StringLoader(yaml.SafeLoader):
    """SafeLoader's structure, but every scalar stays the string the user wrote."""


_StringLoader.yaml_implicit_resolvers = {}


def load_yaml_text(text: str, source: str) -> Any:
    """Parse YAML keeping scalars as strings; a syntax error names ``source`` and the line."""
    try:
        return yaml.load(text, Loader=_StringLoader)
    except yaml.YAMLError as exc:
        raise InvalidArgument(
            f"{source}: not valid YAML: {exc}", hint="fix the file's syntax"
        ) from exc


def _as_mapping(value: Any) -> Tree:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        return {value.strip().lower(): {}}
    return {}


def set_path(tree: Tree, path: list[str], value: Any, schema: Section) -> None:
    """Set ``tree[path[0]]…[path[-1]] = value``, creating (or replacing scalars by) mappings."""
    node: Tree = tree
    spec: Section | Leaf | None = schema
    for name in path[:-1]:
        sub = spec.keys.get(name) if isinstance(spec, Section) else None
        child = node.get(name)
        if not isinstance(child, dict):
            child = _as_mapping(child) if isinstance(sub, Section) and sub.drivers else {}
            node[name] = child
        node, spec = child, sub
    node[path[-1]] = value


def apply_env(tree: Tree, environ: Mapping[str, str], schema: Section) -> list[str]:
    """Apply every ``REGISTRY_*`` variable to ``tree``; returns the names applied, in order.

    Shorter names go first, so ``REGISTRY_AUTH=htpasswd`` names the provider and then
    ``REGISTRY_AUTH_HTPASSWD_REALM`` fills it in (as distribution sorts them).
    """
    names = sorted(n for n in environ if n.startswith("REGISTRY_") and len(n) > len("REGISTRY_"))
    for name in names:
        path = [part.lower() for part in name[len("REGISTRY_") :].split("_")]
        if any(not part for part in path):
            continue
        spec = _spec_at(schema, path)
        raw = environ[name]
        scalar = isinstance(spec, Leaf) and spec.kind in ("str", "bool", "int")
        value: Any = raw if scalar else load_yaml_text(raw, name)
        set_path(tree, path, value, schema)
    return names


def _spec_at(schema: Section, path: list[str]) -> Section | Leaf | None:
    spec: Section | Leaf | None = schema
    for name in path:
        if not isinstance(spec, Section):
            return None
        spec = spec.keys.get(name)
    return spec


_TRUE = {"true", "yes", "on", "y"}
_FALSE = {"false", "no", "off", "n"}


def check(value: Any, spec: Section | Leaf, key: str, warnings: list[str]) -> Any:
    """Return ``value`` converted to the schema's types; InvalidArgument names a wrong key."""
    if isinstance(spec, Section):
        if spec.drivers and isinstance(value, str):
            value = _as_mapping(value)
        if value is None or value == "":
            return {}
        if not isinstance(value, dict):
            raise _wrong(key, "a mapping of keys", value)
        out: Tree = {}
        for name, sub in value.items():
            child_key = f"{key}.{name}" if key else str(name)
            sub_spec = spec.keys.get(str(name).lower())
            if sub_spec is None:
                warnings.append(f"unknown configuration key {child_key!r} is ignored")
                continue
            if sub_spec is IGNORED:
                warnings.append(f"{child_key!r} (a registry:2 setting) is not used by dockyard")
                continue
            out[str(name).lower()] = check(sub, sub_spec, child_key, warnings)
        return out
    return _leaf(value, spec, key)


def _leaf(value: Any, spec: Leaf, key: str) -> Any:
    kind = spec.kind
    if kind == "opaque":
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise _wrong(key, "a string", value)
        return value
    if kind == "bool":
        text = value.strip().lower() if isinstance(value, str) else None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise _wrong(key, "true or false", value)
    if kind == "int":
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        raise _wrong(key, "a whole number", value)
    if kind == "strlist":
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _wrong(key, "a list of strings", value)
        return tuple(value)
    if kind == "strmap":
        if value is None or value == "":
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise _wrong(key, "a mapping of names to strings", value)
        return {str(k): v for k, v in value.items()}
    raise AssertionError(f"unknown leaf kind {kind!r}")


def _wrong(key: str, expected: str, value: Any) -> InvalidArgument:
    got = (
        "a mapping"
        if isinstance(value, dict)
        else "a list"
        if isinstance(value, list)
        else repr(value)
    )
    return InvalidArgument(
        f"configuration key {key!r} must be {expected}, got {got}",
        hint=f"fix {key!r} in the config file or its REGISTRY_… environment variable",
    )
