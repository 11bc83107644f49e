"""Configuration fails closed: a typo in a section that guards security stops start-up.

Every section of the schema is walked with a misspelled key (the walk is generated from SCHEMA,
so a section added later is walked too): in ``auth``, ``policies``, ``http.tls``, ``scanning``
and ``limits`` (and anything nested in them) loading fails naming the key and the known ones;
elsewhere a warning names it. Then the exact findings: ``REGISTRY_AUTH=htpaswd``,
``auth: {htpassword: …}`` and ``policies: {signature: […]}``, in process and through a real
``dockyard registry serve`` that must exit non-zero, with one line, before binding its port.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from _infra import dockyard_executable, run_dockyard
from dockyard.errors import InvalidArgument, Unsupported
from dockyard.registry._config_tree import IGNORED, UNSUPPORTED, Leaf, ListOf, Section
from dockyard.registry.config import SCHEMA, load
from dockyard.registry.scanning._config import _KEYS as scanning_keys

#: The sections that guard security: a key under one of these paths must never be ignored.
#: ``notifications`` too: a misspelt endpoint key would lose events without a word.
#: ``storage.maintenance.gc`` too: a misspelt knob would collect with the default window.
#: ``database``, ``redis`` and ``proxy`` too: they hold credentials and TLS settings.
STRICT_PREFIXES = ("auth", "policies", "scanning", "limits", "http.tls", "notifications",
                   "storage.maintenance.gc", "database", "redis", "proxy", "p2p")  # fmt: skip

#: Stands for "the first element of a list" in a schema path.
ITEM = 0


def is_strict(path: tuple[str | int, ...]) -> bool:
    dotted = ".".join(str(p) for p in path if p != ITEM)
    return any(dotted == p or dotted.startswith(p + ".") for p in STRICT_PREFIXES)


def where(path: tuple[str | int, ...]) -> str:
    """A schema path as error messages spell it: ``policies.signatures[0]``."""
    out = ""
    for part in path:
        out += "[0]" if part == ITEM else (f".{part}" if out else str(part))
    return out


def dotted(path: tuple[str | int, ...], name: str) -> str:
    """The key ``name`` inside ``path``: ``policies.signatures[0].keys``."""
    return f"{where(path)}.{name}" if path else name


def walk(
    spec: Section | Leaf | ListOf, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Section | Leaf]]:
    """Every section and every leaf of the schema, with its path."""
    if isinstance(spec, ListOf):
        yield from walk(spec.item, (*path, ITEM))
        return
    yield path, spec
    if isinstance(spec, Section):
        for name, sub in spec.keys.items():
            yield from walk(sub, (*path, name))


def nest(path: tuple[str | int, ...], inner: dict[str, Any]) -> dict[str, Any]:
    """A config tree holding ``inner`` at ``path`` (a list element for ITEM)."""
    node: Any = inner
    for part in reversed(path):
        node = [node] if part == ITEM else {part: node}
    assert isinstance(node, dict)
    return node


def misspell(section: Section) -> str:
    """One of the section's keys with its last letter dropped (``signatures`` → ``signature``)."""
    name = section.known()[0] if section.known() else next(iter(section.keys))
    typo = name[:-1]
    assert typo.lower() not in section.keys
    return typo


def write_config(tmp_path: Path, tree: Mapping[str, Any]) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump({"version": "0.1", **tree}, sort_keys=False))
    return path


@dataclass(frozen=True, slots=True)
class Case:
    path: tuple[str | int, ...]
    section: Section

    @property
    def id(self) -> str:
        return where(self.path) or "<top level>"


SECTIONS = [Case(p, s) for p, s in walk(SCHEMA) if isinstance(s, Section)]
NOT_IMPLEMENTED = [
    (p[:-1], str(p[-1])) for p, s in walk(SCHEMA) if s is IGNORED or s is UNSUPPORTED
]
#: Top-level sections that their own module types (``limits``): walked by name.
OPAQUE_SECTIONS = [name for name, spec in SCHEMA.keys.items() if spec == Leaf("opaque")]


def test_the_walk_covers_every_security_section() -> None:
    walked = {where(c.path) for c in SECTIONS}
    assert {"auth", "auth.htpasswd", "policies", "policies.signatures[0]", "scanning"} <= walked
    assert {"http.tls", "http", "log", "storage", ""} <= walked
    assert set(OPAQUE_SECTIONS) == {"limits"}


def test_the_scanning_schema_is_the_scanning_modules() -> None:
    scanning = SCHEMA.keys["scanning"]
    assert isinstance(scanning, Section)
    assert set(scanning.keys) == set(scanning_keys)


@pytest.mark.parametrize("case", SECTIONS, ids=lambda c: c.id)
def test_a_misspelled_key_in_every_section(tmp_path: Path, case: Case) -> None:
    typo = misspell(case.section)
    key = dotted(case.path, typo.lower())
    config = write_config(tmp_path, nest(case.path, {typo: "x"}))
    if is_strict(case.path):
        with pytest.raises(InvalidArgument) as info:
            load(config, {})
        message = str(info.value)
        assert repr(key) in message, message
        for known in case.section.known():
            assert known in message, message
    else:
        loaded = load(config, {})
        assert any(repr(key) in w and "unknown" in w for w in loaded.warnings), loaded.warnings


@pytest.mark.parametrize("name", OPAQUE_SECTIONS)
def test_a_misspelled_key_in_sections_typed_by_their_own_module(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(f"'{name}.typo'")):
        load(write_config(tmp_path, {name: {"typo": "1"}}), {})


@pytest.mark.parametrize(
    ("path", "name"), NOT_IMPLEMENTED, ids=[dotted(p, n) for p, n in NOT_IMPLEMENTED]
)
def test_registry2_keys_dockyard_does_not_implement(
    tmp_path: Path, path: tuple[str | int, ...], name: str
) -> None:
    """In a security section such a key stops start-up as unsupported; elsewhere it warns."""
    key = dotted(path, name)
    config = write_config(tmp_path, nest(path, {name: {"enabled": "true"}}))
    if is_strict((*path, name)):
        with pytest.raises(Unsupported, match="not supported by dockyard") as info:
            load(config, {})
        assert repr(key) in str(info.value)
    else:
        loaded = load(config, {})
        assert any(repr(key) in w and "not used" in w for w in loaded.warnings)


# --- the findings, in process ---------------------------------------------------------------


def test_registry_auth_typo_in_the_environment_is_an_error() -> None:
    with pytest.raises(InvalidArgument) as info:
        load(None, {"REGISTRY_AUTH": "htpaswd"})
    assert "unknown auth provider 'htpaswd' (known: htpasswd," in str(info.value)
    with pytest.raises(InvalidArgument, match="unknown auth provider 'htpaswd'"):
        load(None, {"REGISTRY_AUTH_HTPASWD_REALM": "r", "REGISTRY_AUTH_HTPASWD_PATH": "/p"})


def test_auth_htpassword_in_the_file_is_an_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"auth": {"htpassword": {"realm": "r", "path": "/p"}}})
    with pytest.raises(InvalidArgument) as info:
        load(config, {})
    assert "unknown auth provider 'htpassword' (known: htpasswd," in str(info.value)
    assert "'auth.htpassword'" in str(info.value)


def test_policies_signature_singular_is_an_error(tmp_path: Path) -> None:
    rule = {"repository": "prod/*", "signature": "required", "keys": ["/k.pub"]}
    config = write_config(tmp_path, {"policies": {"signature": [rule]}})
    with pytest.raises(InvalidArgument) as info:
        load(config, {})
    assert "unknown configuration key 'policies.signature' (known: signatures)" in str(info.value)
    with pytest.raises(InvalidArgument, match=r"'policies\.signature'"):
        load(None, {"REGISTRY_POLICIES_SIGNATURE": "[{repository: x, keys: [/k.pub]}]"})


def test_a_typo_inside_a_signature_rule_is_an_error(tmp_path: Path) -> None:
    rule = {"repository": "prod/*", "signatur": "none", "keys": ["/k.pub"]}
    with pytest.raises(InvalidArgument, match=r"'policies\.signatures\[0\]\.signatur'"):
        load(write_config(tmp_path, {"policies": {"signatures": [rule]}}), {})


def test_signature_rules_reach_the_policy_as_written(tmp_path: Path) -> None:
    rule = {"repository": "prod/*", "signature": "required", "keys": ["/k.pub"]}
    loaded = load(write_config(tmp_path, {"policies": {"signatures": [rule]}}), {})
    assert loaded.sections["policies"] == {"signatures": [rule]}


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"block-severty": "HIGH"}, "scanning.block-severty"),
        ("on-psh", "scanning.on-psh"),
        ({"on-push": "true", "allow": ["CVE-1"], "Block_Severity": "HIGH"}, "scanning.block_"),
    ],
)
def test_scanning_typos_are_errors(tmp_path: Path, section: Any, key: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(f"'{key}")):
        load(write_config(tmp_path, {"scanning": section}), {})


def test_scanning_is_typed_once_at_load(tmp_path: Path) -> None:
    section = {"on-push": "yes", "block-severity": "high", "workers": "3", "allow": "CVE-1"}
    scanning = load(write_config(tmp_path, {"scanning": section}), {}).scanning
    assert scanning is not None
    assert scanning.on_push and scanning.workers == 3 and scanning.block_severity == "HIGH"
    assert scanning.allow == {"CVE-1"}
    short = load(None, {"REGISTRY_SCANNING": "on-push", "REGISTRY_SCANNING_WORKERS": "4"})
    assert short.scanning is not None and short.scanning.on_push and short.scanning.workers == 4
    empty = tmp_path / "empty.yml"
    empty.write_text("version: 0.1\nscanning:\n")
    assert load(empty, {}).scanning is None  # an empty section turns nothing on


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"REGISTRY_AUTH": "silly"}, "auth provider 'silly'"),
        ({"REGISTRY_HTTP_TLS_LETSENCRYPT_CACHEFILE": "/c"}, "'http.tls.letsencrypt'"),
    ],
)
def test_unimplemented_security_settings_are_refused(env: dict[str, str], words: str) -> None:
    with pytest.raises(Unsupported, match="not supported by dockyard") as info:
        load(None, env)
    assert words in str(info.value)


# --- the findings, through a real server process ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_must_fail(tmp_path: Path, *args: str, env: Mapping[str, str]) -> str:
    """Run ``dockyard registry serve``; it must exit non-zero by itself, never serve. Returns
    the one ``Error:`` line that ends its stderr."""
    port = _free_port()
    process = subprocess.Popen(
        [dockyard_executable(), "registry", "serve", "--root", str(tmp_path / "root"),
         "--addr", f"127.0.0.1:{port}", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
        cwd=tmp_path,
    )  # fmt: skip
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"the registry kept running:\n{err.decode(errors='replace')}")
    text = err.decode(errors="replace")
    assert process.returncode != 0, text
    assert "listening on" not in text and "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], text  # log lines may come before
    return errors[0]


@pytest.mark.slow
def test_serve_refuses_a_misspelled_auth_provider(tmp_path: Path) -> None:
    env = {
        "REGISTRY_AUTH": "htpaswd",
        "REGISTRY_AUTH_HTPASWD_REALM": "Registry Realm",
        "REGISTRY_AUTH_HTPASWD_PATH": str(tmp_path / "htpasswd"),
    }
    line = _serve_must_fail(tmp_path, env=env)
    assert "unknown auth provider 'htpaswd' (known: htpasswd," in line


@pytest.mark.slow
def test_serve_refuses_policies_signature_singular(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\npolicies:\n  signature:\n"
        "    - {repository: prod/*, signature: required, keys: [cosign.pub]}\n"
    )
    line = _serve_must_fail(tmp_path, "--config", str(config), env={})
    assert "'policies.signature'" in line and "known: signatures" in line


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_checks_policy_keys_and_htpasswd_before_binding(tmp_path: Path, workers: str) -> None:
    """Unreadable signature keys or htpasswd file: one line and a non-zero exit, before any
    port is bound or worker forked (with several workers too)."""
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\npolicies:\n  signatures:\n    - {repository: prod/*, keys: [missing.pub]}\n"
    )
    line = _serve_must_fail(tmp_path, "--config", str(config), "--workers", workers, env={})
    assert "keys: cannot read" in line and "missing.pub" in line
    env = {
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": "Registry Realm",
        "REGISTRY_AUTH_HTPASSWD_PATH": str(tmp_path / "no-such-htpasswd"),
    }
    line = _serve_must_fail(tmp_path, "--workers", workers, env=env)
    assert "no-such-htpasswd" in line and "auth.htpasswd.path" in line


@pytest.mark.slow
def test_errors_reach_the_cli_as_one_line(tmp_path: Path) -> None:
    """``registry gc`` reads the same config: the same error, the same category exit code."""
    config = write_config(tmp_path, {"auth": {"htpassword": {"realm": "r", "path": "/p"}}})
    result = run_dockyard(
        "registry", "gc", "--config", config, "--dry-run", root=tmp_path / "s", check=False
    )
    assert result.returncode == InvalidArgument.exit_code != 0
    assert "unknown auth provider 'htpassword'" in result.stderr
