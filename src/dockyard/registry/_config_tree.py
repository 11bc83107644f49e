"""The raw configuration tree: registry:2's YAML shape, its environment rule, and type checks.

distribution (registry:2) reads a YAML file, then lets any ``REGISTRY_A_B_C`` environment
variable set the key ``a.b.c`` (``_`` stands for one level of nesting; names are matched without
regard to case and map keys are lower-cased). Scalars are kept as the text the user wrote until
the schema says what type a key has, as Go's YAML decoder does: ``addr: 1:30`` stays a string.

Sections that guard security are *strict* (``Section(..., strict=True)``, and every section
nested under one): an unknown key there, or a registry:2 key dockyard does not implement, is a
start-up error naming the key and the known ones, so that a typo can never turn a protection
off. Elsewhere an unknown key is a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from dockyard.errors import InvalidArgument, Unsupported

__all__ = [
    "BOOL",
    "DRIVERS",
    "IGNORED",
    "INT",
    "OPAQUE",
    "STR",
    "STRLIST",
    "STRMAP",
    "UNSUPPORTED",
    "Leaf",
    "ListOf",
    "Section",
    "Spec",
    "Tree",
    "apply_env",
    "check",
    "load_yaml_text",
    "set_path",
]

Tree = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Leaf:
    """A typed value: ``kind`` is one of str, bool, int, strlist, strmap, opaque, ignored,
    unsupported."""

    kind: str


@dataclass(frozen=True, slots=True, eq=False)
class Section:
    """A mapping with known keys.

    ``drivers``: a bare string ``x`` means ``{x: {}}`` (registry:2's storage and auth sections,
    where ``REGISTRY_AUTH=htpasswd`` names the provider). ``flags``: a bare string ``x`` means
    ``{x: true}`` (``scanning: on-push``). ``strict``: an unknown or unsupported key here or in
    any section below is an error, not a warning. ``item``: what a key names, for messages
    (``provider``: "unknown auth provider 'x'").
    """

    keys: Mapping[str, Spec]
    drivers: bool = False
    strict: bool = False
    flags: bool = False
    item: str = "key"

    def known(self) -> list[str]:
        """The keys dockyard acts on, sorted (what an error message offers instead)."""
        return sorted(k for k, v in self.keys.items() if v not in (IGNORED, UNSUPPORTED))


@dataclass(frozen=True, slots=True, eq=False)
class ListOf:
    """A list whose every element has the shape ``item``."""

    item: Spec


Spec = Section | Leaf | ListOf

STR = Leaf("str")
BOOL = Leaf("bool")
INT = Leaf("int")
STRLIST = Leaf("strlist")
STRMAP = Leaf("strmap")
#: A subtree kept as written (scalars as strings), for sections typed later.
OPAQUE = Leaf("opaque")
#: A registry:2 key dockyard accepts and does not act on (a warning says so).
IGNORED = Leaf("ignored")
#: A registry:2 key dockyard does not implement and must not ignore (a start-up error).
UNSUPPORTED = Leaf("unsupported")


def DRIVERS(keys: Mapping[str, Spec], *, strict: bool = False) -> Section:
    """A section whose keys name providers, one of which is chosen (``REGISTRY_AUTH=htpasswd``)."""
    return Section(keys, drivers=True, strict=strict, item="provider")


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


def _as_mapping(value: Any, spec: Section) -> Tree:
    """A bare string in a drivers or flags section as the mapping it stands for."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        return {value.strip().lower(): "true" if spec.flags else {}}
    return {}


def set_path(tree: Tree, path: list[str], value: Any, schema: Section) -> None:
    """Set ``tree[path[0]]…[path[-1]] = value``, creating (or replacing scalars by) mappings."""
    node: Tree = tree
    spec: Spec | None = schema
    for name in path[:-1]:
        sub = spec.keys.get(name) if isinstance(spec, Section) else None
        child = node.get(name)
        if not isinstance(child, dict):
            bare = isinstance(sub, Section) and (sub.drivers or sub.flags)
            child = _as_mapping(child, sub) if isinstance(sub, Section) and bare else {}
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


def _spec_at(schema: Section, path: list[str]) -> Spec | None:
    spec: Spec | None = schema
    for name in path:
        if not isinstance(spec, Section):
            return None
        spec = spec.keys.get(name)
    return spec


_TRUE = {"true", "yes", "on", "y"}
_FALSE = {"false", "no", "off", "n"}


def check(value: Any, spec: Spec, key: str, warnings: list[str], *, strict: bool = False) -> Any:
    """Return ``value`` converted to the schema's types; InvalidArgument names a wrong key.

    Unknown keys are appended to ``warnings``, unless the section is strict (``strict`` here
    means a section above was): then they are errors naming the key and the known ones.
    """
    if isinstance(spec, ListOf):
        if value is None or value == "":
            return []
        if not isinstance(value, list):
            raise _wrong(key, "a list", value)
        return [
            check(item, spec.item, f"{key}[{i}]", warnings, strict=strict)
            for i, item in enumerate(value)
        ]
    if isinstance(spec, Section):
        return _section(value, spec, key, warnings, strict=strict or spec.strict)
    return _leaf(value, spec, key)


def _section(value: Any, spec: Section, key: str, warnings: list[str], *, strict: bool) -> Tree:
    if (spec.drivers or spec.flags) and isinstance(value, str):
        value = _as_mapping(value, spec)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise _wrong(key, "a mapping of keys", value)
    out: Tree = {}
    for name, sub in value.items():
        lowered = str(name).lower()
        child_key = f"{key}.{lowered}" if key else lowered
        sub_spec = spec.keys.get(lowered)
        if sub_spec is None:
            if strict:
                raise _unknown(spec, key, lowered)
            warnings.append(f"unknown configuration key {child_key!r} is ignored")
            continue
        if sub_spec is UNSUPPORTED or (strict and sub_spec is IGNORED):
            raise _unsupported(spec, key, lowered)
        if sub_spec is IGNORED:
            warnings.append(f"{child_key!r} (a registry:2 setting) is not used by dockyard")
            continue
        out[lowered] = check(sub, sub_spec, child_key, warnings, strict=strict)
    return out


def _env_name(key: str) -> str:
    return "REGISTRY_" + key.split("[")[0].upper().replace(".", "_").replace("-", "_")


def _unknown(spec: Section, key: str, name: str) -> InvalidArgument:
    child_key = f"{key}.{name}" if key else name
    known = ", ".join(spec.known()) or "none"
    if spec.item == "provider":
        first = ", ".join(spec.known()[:1]) or "a provider"
        return InvalidArgument(
            f"unknown {key} provider {name!r} (known: {known})",
            hint=f"{child_key!r} is not a provider: name one of the known ones (e.g. "
            f"{_env_name(key)}={first}); a typo here must not turn {key} off",
        )
    return InvalidArgument(
        f"unknown configuration key {child_key!r} (known: {known})",
        hint=f"fix the spelling of {child_key!r} in the config file or its REGISTRY_… "
        f"variable; {key.split('.')[0].split('[')[0]!r} guards security, so an unknown key "
        "there stops start-up",
    )


def _unsupported(spec: Section, key: str, name: str) -> Unsupported:
    child_key = f"{key}.{name}" if key else name
    known = ", ".join(spec.known()) or "none"
    what = f"{key} provider {name!r}" if spec.item == "provider" else f"key {child_key!r}"
    return Unsupported(
        f"registry:2 configuration {what} is not supported by dockyard (known: {known})",
        hint=f"remove {child_key!r}; dockyard will not run without a security setting it was given",
    )


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
