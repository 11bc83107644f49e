"""The registry config loader on generated YAML trees and REGISTRY_* environments: a config,
or InvalidArgument / NotFound / Unsupported naming the problem — never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from dockyard.errors import InvalidArgument, NotFound, Unsupported
from dockyard.registry import config
from dockyard.registry._config_tree import Leaf, ListOf, Section

from ._budget import fuzz_settings

pytestmark = pytest.mark.fuzz

_ALLOWED = (InvalidArgument, NotFound, Unsupported)

_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**65), 2**65),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "true",
            "off",
            "0",
            "-1",
            "1.5",
            "10s",
            "1h",
            "5m",
            "100ms",
            "1e309",
            ":5000",
            "127.0.0.1:0",
            "[::1]:80",
            "unix",
            "tcp",
            "debug",
            "json",
            "/nonexistent/file",
            "relative/path",
            "\x00",
            "a" * 300,
        ]
    ),
)
_any = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _limit_keys() -> list[str]:
    """The keys of the ``limits:`` section, when the limits table names them."""
    try:
        from dockyard.registry.limits import LIMIT_SPECS
    except ImportError:
        return []
    return [spec.key.split(".", 1)[1] for spec in LIMIT_SPECS]


def for_spec(spec: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for ``spec``: mostly well-typed, sometimes anything at all."""
    if isinstance(spec, Section) and depth < 4:
        keys = list(spec.keys)
        entries = (
            st.lists(st.sampled_from(keys), max_size=len(keys), unique=True)
            if keys
            else st.just([])
        )
        shaped = entries.flatmap(
            lambda chosen: st.fixed_dictionaries(
                {k: for_spec(spec.keys[k], depth + 1) for k in chosen}
            )
        )
        extra = st.dictionaries(st.text(max_size=8), _any, max_size=1)
        tree = st.tuples(shaped, extra).map(lambda t: {**t[1], **t[0]})
        alternatives = [tree, tree, _any]
        if spec.drivers or spec.flags:
            alternatives.append(st.sampled_from(keys or ["x"]))
        return st.one_of(*alternatives)
    if isinstance(spec, ListOf) and depth < 4:
        return st.lists(for_spec(spec.item, depth + 1), max_size=3) | _any
    if isinstance(spec, Leaf):
        typed = {
            "str": st.text(max_size=20),
            "bool": st.booleans(),
            "int": st.integers(-5, 10**20),
            "strlist": st.lists(st.text(max_size=8), max_size=3),
            "strmap": st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
        }.get(spec.kind)
        if spec.kind == "opaque":
            limits = _limit_keys()
            if limits:
                return st.dictionaries(st.sampled_from(limits), _scalar, max_size=3) | _any
        return typed | _scalar if typed is not None else _any
    return _any


def config_trees() -> st.SearchStrategy[Any]:
    return st.one_of(
        for_spec(config.SCHEMA).map(lambda t: {"version": 0.1, **t} if isinstance(t, dict) else t),
        _any,
    )


def _check(result: config.RegistryConfig) -> None:
    assert isinstance(result, config.RegistryConfig)


@fuzz_settings(100)
@given(config_trees())
@example({"version": 0.1, "http": {"workers": 10**20}})
@example({"version": 0.1, "http": {"addr": "\x00"}})
@example({"version": 0.1, "limits": {"headertimeout": "1e309"}})
@example({"version": 0.1, "storage": "filesystem"})
@example({"version": 0.1, "auth": "htpasswd"})
@example({"version": 0.1, "log": {"level": ["x"]}})
def test_load_yaml_tree(tree: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "config.yml")
        path.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
        try:
            _check(config.load(path, {}))
        except _ALLOWED as exc:
            assert str(exc)


@fuzz_settings(100)
@given(st.text(max_size=300))
@example("version: 0.1\nhttp: &a [*a]\n")
@example("version: 0.1\n" + "a: " * 200 + "b")
@example("!!python/object:os.system ls")
def test_load_yaml_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "config.yml")
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            _check(config.load(path, {}))
        except _ALLOWED as exc:
            assert str(exc)


_ENV_NAMES = [
    "REGISTRY_HTTP_ADDR",
    "REGISTRY_HTTP_WORKERS",
    "REGISTRY_AUTH",
    "REGISTRY_AUTH_HTPASSWD_PATH",
    "REGISTRY_STORAGE",
    "REGISTRY_STORAGE_DELETE_ENABLED",
    "REGISTRY_LOG_LEVEL",
    "REGISTRY_HTTP_TLS_CERTIFICATE",
    "REGISTRY_SCANNING",
    "REGISTRY_LIMITS_HEADERTIMEOUT",
    "REGISTRY_HTTP_HEADERS",
    "REGISTRY_POLICIES",
    "REGISTRY_METRICS_ENABLED",
    "REGISTRY_",
    "REGISTRY_LOG_ACCESSLOG_DISABLED",
    "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY",
]


@fuzz_settings(100)
@given(
    st.dictionaries(
        st.sampled_from(_ENV_NAMES) | st.text(max_size=10).map(lambda s: "REGISTRY_" + s.upper()),
        st.text(max_size=20) | st.sampled_from(["true", "htpasswd", "1", "{}", "[a]", "x: y"]),
        max_size=4,
    )
)
def test_load_environment(environ: dict[str, str]) -> None:
    try:
        _check(config.load(None, environ))
    except _ALLOWED as exc:
        assert str(exc)
