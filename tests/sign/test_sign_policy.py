"""The registry's signature policy, checked against a real ``dockyard registry serve``'s data."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _infra import run_dockyard, skopeo_push
from dockyard.digest import Digest
from dockyard.errors import Denied, SignatureInvalid
from dockyard.oci import Descriptor, Index, Platform
from dockyard.registry import Registry
from dockyard.registry.policy import SignaturePolicy, check_pull

pytestmark = pytest.mark.slow

PASSWORD = {"COSIGN_PASSWORD": "policy"}


@pytest.fixture
def served(dockyard_registry: Any) -> Iterator[Registry]:
    """The served registry's storage and database, opened in this process (no cache)."""
    registry = Registry.open(dockyard_registry.root, cache=False)
    yield registry
    registry.close()


def _push(layout: Any, host: str, repo: str) -> str:
    return skopeo_push(layout.ref, host, repo)


def _keys(tmp_path: Path, name: str) -> tuple[Path, Path]:
    prefix = tmp_path / name
    run_dockyard(
        "generate-key-pair", "--output-key-prefix", prefix, root=tmp_path / "s", env=PASSWORD
    )
    return prefix.with_suffix(".key"), prefix.with_suffix(".pub")


def test_policy_config_picks_the_most_specific_rule(tmp_path: Path) -> None:
    _, pub = _keys(tmp_path, "k")
    policy = SignaturePolicy.from_config(
        [
            {"repository": "prod/*", "signature": "required", "keys": [str(pub)]},
            {"repository": "prod/sandbox", "signature": "none"},
            {"repository": "prod/app", "signature": "required", "keys": [pub.read_text()]},
        ]
    )
    rule = policy.rule_for("prod/app")
    assert rule is not None and rule.repository == "prod/app"
    other = policy.rule_for("prod/other")
    assert other is not None and other.repository == "prod/*"
    assert policy.rule_for("dev/app") is None


@pytest.mark.slow
def test_unsigned_and_untrusted_pulls_are_denied(
    dockyard_registry: Any, served: Registry, make_layout_image: Any, tmp_path: Path
) -> None:
    host = dockyard_registry.host
    trusted_key, trusted_pub = _keys(tmp_path, "trusted")
    stranger_key, _ = _keys(tmp_path, "stranger")
    policy = SignaturePolicy.from_config(
        [{"repository": "secure/*", "signature": "required", "keys": [str(trusted_pub)]}]
    )
    root = tmp_path / "s"
    signed = _push(make_layout_image(tmp_path / "a", content=b"a\n"), host, "secure/signed")
    unsigned = _push(make_layout_image(tmp_path / "b", content=b"b\n"), host, "secure/unsigned")
    foreign = _push(make_layout_image(tmp_path / "c", content=b"c\n"), host, "secure/foreign")
    open_ = _push(make_layout_image(tmp_path / "d", content=b"d\n"), host, "open/app")
    run_dockyard(
        "sign", "--key", trusted_key, f"{host}/secure/signed@{signed}", root=root, env=PASSWORD
    )
    run_dockyard(
        "sign", "--key", stranger_key, f"{host}/secure/foreign@{foreign}", root=root, env=PASSWORD
    )

    record = served.manifest("secure/signed", "v1")
    check_pull(policy, served, "secure/signed", "v1", record)  # allowed
    sig_tag = signed.replace(":", "-") + ".sig"
    check_pull(policy, served, "secure/signed", sig_tag, served.manifest("secure/signed", sig_tag))

    with pytest.raises(SignatureInvalid, match="no signatures found") as refused:
        check_pull(
            policy,
            served,
            "secure/unsigned",
            unsigned,
            served.manifest("secure/unsigned", unsigned),
        )
    assert isinstance(refused.value, Denied)
    assert refused.value.oci_code == "DENIED" and refused.value.http_status == 403
    assert "requires a signature by a trusted key" in refused.value.message

    with pytest.raises(SignatureInvalid, match="does not verify"):
        check_pull(policy, served, "secure/foreign", "v1", served.manifest("secure/foreign", "v1"))

    check_pull(policy, served, "open/app", open_, served.manifest("open/app", open_))  # no rule


@pytest.mark.slow
def test_signed_index_lets_its_children_through(
    dockyard_registry: Any, served: Registry, make_layout_image: Any, tmp_path: Path
) -> None:
    host = dockyard_registry.host
    key, pub = _keys(tmp_path, "k")
    policy = SignaturePolicy.from_config([{"repository": "*", "keys": [str(pub)]}])
    child = _push(make_layout_image(tmp_path / "x", content=b"x\n"), host, "multi/app")
    child_record = served.manifest("multi/app", child)
    index = Index.build(
        [
            Descriptor(
                child_record.media_type,
                Digest.parse(child),
                len(child_record.content),
                platform=Platform("linux", "amd64"),
            )
        ]
    )
    put = urllib.request.Request(
        f"http://{host}/v2/multi/app/manifests/multi",
        data=index.raw,
        method="PUT",
        headers={"Content-Type": index.media_type},
    )
    urllib.request.urlopen(put, timeout=30).close()
    run_dockyard("sign", "--key", key, f"{host}/multi/app:multi", root=tmp_path / "s", env=PASSWORD)
    check_pull(policy, served, "multi/app", "multi", served.manifest("multi/app", "multi"))
    with pytest.raises(SignatureInvalid):  # the child alone is not signed ...
        check_pull(policy, served, "multi/app", child, child_record)
    # ... but the server passes the signed indexes that list it, and then it may be pulled
    check_pull(policy, served, "multi/app", child, child_record, parents=[index.digest])
