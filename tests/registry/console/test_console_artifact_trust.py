"""The artifact page's trust, in-process: each cosign signature judged against the keys the
registry's signature policy trusts, by content (a signature by the trusted key verifies and
names the key; one by another key, or one whose payload was changed after signing, does not;
with no trusted key for the repository, it says so), and the SBOM's packages as a filtered,
paged table whose rows are the packages the SBOM downloads list. A package name is text,
never markup."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra.asgi_signing import ASGIRepository
from _infra.console import close_app, projects_app, push_files_image, sign_in, table_rows
from _infra.projects_registry import ADMIN_PASSWORD, PASSWORD, basic, team_with_people
from _infra.registry_server import ASGIClient, AuthedClient
from dockyard.digest import Digest
from dockyard.registry import RegistryApp
from dockyard.registry.policy import signature_enforcement
from dockyard.sign import (
    DSSE_MEDIA_TYPE,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
    Layer,
    append_to_tag,
    attest_image,
    generate_key_pair,
    make_payload,
    make_statement,
    sign_envelope,
    sign_image,
)

NAME = '<img src=x onerror="alert(1)">'
ESCAPED = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
SITE = "usr/lib/python3.11/site-packages"


def _dist(name: str, version: str, licence: str | None) -> dict[str, bytes]:
    text = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if licence:
        text += f"License: {licence}\n"
    return {f"{SITE}/pkg_{version}.dist-info/METADATA": text.encode()}


@dataclass
class Served:
    app: RegistryApp
    signed: str  # signed by the trusted key, by another key, and tampered
    loose: str  # signed, in a repository the registry trusts no key for
    trusted_id: str
    payloads: dict[str, str]  # which signature → its layer's digest
    promoted: str  # in project rel: signed by the key rel's promotion policy names, and another
    promotion_id: str
    policy_id: int


def _key_id(pem: bytes) -> str:
    return "sha256:" + hashlib.sha256(pem).hexdigest()[:16]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("console-trust") / "data"
    app, access = projects_app(root)
    team_with_people(access)
    access.users.create("stranger", PASSWORD)
    trusted, other = generate_key_pair(b"pw"), generate_key_pair(b"pw")
    promotion = generate_key_pair(b"pw")
    files = {**_dist("idna", "3.6", "BSD-3-Clause"), **_dist("requests", "2.31.0", None),
             **_dist(NAME, "6.6.6", "MIT")}  # fmt: skip
    with ASGIClient(app) as client:
        dev = AuthedClient(client, basic("dev", PASSWORD))
        signed = push_files_image(dev, "team/app", "v1", [files], ["ADD . /"])
        loose = push_files_image(dev, "team/loose", "v1", [files], ["ADD . /"])
        repo, image = ASGIRepository(dev, "team/app"), Digest.parse(signed)
        good = sign_image(repo, image, trusted.key, annotations={"by": "trusted"})
        # another key's signature, as an OCI referrer
        bad = sign_image(repo, image, other.key, annotations={"by": "other"}, referrers=True)
        # a payload changed after the trusted key signed it (the signature is the real one)
        changed = make_payload("team/app", image, {"by": "trusted", "env": "prod"})
        append_to_tag(repo, image, "sig",
                      Layer(changed, SIMPLESIGNING_MEDIA_TYPE, {SIGNATURE_ANNOTATION: good.signature}))  # fmt: skip
        # in-toto attestations (DSSE): by the trusted key, by another key (a referrer), and
        # one the trusted key signed about another image
        provenance = b'{"builder": {"id": "ci"}}'
        slsa = attest_image(repo, image, trusted.key, provenance, "slsaprovenance")
        forged = attest_image(repo, image, other.key, b"made elsewhere", "custom", referrers=True)
        elsewhere = sign_envelope(trusted.key, make_statement(provenance, "slsaprovenance",
                                                              "team/app", "0" * 64))  # fmt: skip
        append_to_tag(repo, image, "att", Layer(elsewhere.raw, DSSE_MEDIA_TYPE,
                      {SIGNATURE_ANNOTATION: "",
                       "predicateType": "https://slsa.dev/provenance/v0.2"}))  # fmt: skip
        sign_image(ASGIRepository(dev, "team/loose"), Digest.parse(loose), trusted.key)
        # project rel: no signature policy covers it, but its promotion policy names a key
        team_with_people(access, "rel")
        promoted = push_files_image(dev, "rel/app", "v1", [files], ["ADD . /"])
        rel, image = ASGIRepository(dev, "rel/app"), Digest.parse(promoted)
        signed_for_promotion = sign_image(
            rel, image, promotion.key, annotations={"by": "promotion"}
        )
        by_other = sign_image(rel, image, other.key, annotations={"by": "other"}, referrers=True)
        r = client.post("/api/v2.0/projects/rel/promotion_policies",
                        json={"tags": ["prod"], "require": {"signature": {
                            "keys": [promotion.public_pem.decode()]}}},
                        headers={**basic("admin", ADMIN_PASSWORD), "X-Is-Resource-Name": "true"})  # fmt: skip
        assert r.status_code == 201, r.text
        policy_id = int(r.headers["location"].rsplit("/", 1)[1])
    # the registry trusts ``trusted`` for team/app only (set after the pushes: pulls of
    # unsigned images there are refused from now on)
    pem = trusted.public_pem.decode()
    app.registry.pull_policy = signature_enforcement(
        {"policies": {"signatures": [{"repository": "team/app", "keys": [pem]}]}}
    )
    payloads = {"good": _sha(good.payload), "bad": _sha(bad.payload), "changed": _sha(changed),
                "promotion": _sha(signed_for_promotion.payload),
                "other": _sha(by_other.payload), "slsa": _sha(slsa.payload),
                "forged": _sha(forged.payload), "elsewhere": _sha(elsewhere.raw)}  # fmt: skip
    yield Served(app, signed, loose, _key_id(trusted.public_pem), payloads, promoted,
                 _key_id(promotion.public_pem), policy_id)  # fmt: skip
    close_app(app)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def client(served: Served) -> Iterator[ASGIClient]:
    with ASGIClient(served.app) as c:
        assert sign_in(c, "guest", PASSWORD).status_code == 303  # guests may read artifacts
        yield c


def _states(client: ASGIClient, repo: str, digest: str, project: str = "team") -> dict[str, str]:
    """Each signature layer's digest → what the page says of it (the "Signatures" and
    "Verified" cells list them in the same order)."""
    r = client.get(f"/projects/{project}/artifact?repo={repo}&digest={digest}")
    assert r.status_code == 200, r.text
    found = re.search(r"<caption>Signatures and other referrers</caption>.*?<tbody>(.*?)</tbody>",
                      r.text, re.S)  # fmt: skip
    assert found is not None
    out: dict[str, str] = {}
    for row in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        layers = re.findall(r"<li><code>([^<]*)</code></li>", cells[4])
        states = re.findall(r"<li>([^<]*)</li>", cells[5])
        assert len(layers) == len(states), row
        out.update(zip(layers, states, strict=True))
    return out


def test_each_signature_verifies_or_says_why_not(client: ASGIClient, served: Served) -> None:
    states = _states(client, "app", served.signed)
    signatures = ("good", "bad", "changed")
    attestations = ("slsa", "forged", "elsewhere")
    assert set(states) == {served.payloads[k] for k in signatures + attestations}, states
    assert states[served.payloads["good"]] == f"verified (key {served.trusted_id})"
    for which in ("bad", "changed"):
        assert states[served.payloads[which]].startswith("signature does not verify: "), which
        assert "verified (key" not in states[served.payloads[which]]
    page = client.get(f"/projects/team/artifact?repo=app&digest={served.signed}").text
    assert "not verified here" not in page


def _kinds(client: ASGIClient, repo: str, digest: str) -> dict[str, str]:
    """Each signature layer's digest → what the page says it is."""
    r = client.get(f"/projects/team/artifact?repo={repo}&digest={digest}")
    out: dict[str, str] = {}
    found = re.search(r"<caption>Signatures and other referrers</caption>.*?<tbody>(.*?)</tbody>",
                      r.text, re.S)  # fmt: skip
    assert found is not None
    for row in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        layers = re.findall(r"<li><code>([^<]*)</code></li>", cells[4])
        kinds = re.findall(r"<li>([^<]*)</li>", cells[6])
        out.update(zip(layers, kinds, strict=True))
    return out


def test_each_attestation_verifies_or_says_why_not(client: ASGIClient, served: Served) -> None:
    """An in-toto attestation's DSSE signature is checked against the trusted keys as a
    signature is, and its statement must be about this artifact; the API says the same."""
    states, kinds = _states(client, "app", served.signed), _kinds(client, "app", served.signed)
    slsa, forged, elsewhere = (served.payloads[k] for k in ("slsa", "forged", "elsewhere"))
    assert states[slsa] == f"verified (key {served.trusted_id})", states
    assert states[forged] == (
        "signature does not verify: the DSSE signature does not verify with the trusted key(s)"
    )
    assert states[elsewhere].startswith("signature does not verify: no matching subject digest")
    assert kinds[slsa] == kinds[elsewhere] == "attestation https://slsa.dev/provenance/v0.2"
    assert kinds[forged] == "attestation https://cosign.sigstore.dev/attestation/v1"
    assert kinds[served.payloads["good"]] == "signature"
    at = f"/api/v2.0/projects/team/repositories/app/artifacts/{served.signed}/referrers"
    listed = client.get(at, headers=basic("guest", PASSWORD)).json()
    by_layer = {s["digest"]: s for r in listed for s in r["signatures"]}
    assert (by_layer[slsa]["state"], by_layer[slsa]["detail"]) == ("verified", served.trusted_id)
    assert by_layer[forged]["state"] == by_layer[elsewhere]["state"] == "signature does not verify"
    assert by_layer[slsa]["kind"] == kinds[slsa]


def test_no_trusted_key_is_said_not_guessed(client: ASGIClient, served: Served) -> None:
    states = _states(client, "loose", served.loose)
    assert list(states.values()) == ["no trusted key configured"], states
    page = client.get(f"/projects/team/artifact?repo=loose&digest={served.loose}").text
    assert "not verified here" in page and "policies.signatures" in page


def test_a_key_named_by_a_promotion_policy_verifies_and_says_so(
    client: ASGIClient, served: Served
) -> None:
    """No signature policy covers rel/app; the key rel's promotion policy names is trusted on
    its artifact page, and the verdict names the policy. Another key's signature still fails."""
    states = _states(client, "app", served.promoted, project="rel")
    assert states[served.payloads["promotion"]] == (
        f"verified (key {served.promotion_id}, named by promotion policy {served.policy_id})"
    ), states
    assert states[served.payloads["other"]].startswith("signature does not verify: "), states
    # the key is rel's: team's artifacts are not judged with it
    assert served.promotion_id not in str(_states(client, "loose", served.loose))


def test_the_sbom_table_is_the_sbom(client: ASGIClient, served: Served) -> None:
    page = client.get(f"/projects/team/artifact?repo=app&digest={served.signed}").text
    assert (
        f"/projects/team/packages?repo=app&amp;digest={served.signed.replace(':', '%3A')}" in page
    )
    base = f"/projects/team/packages?repo=app&digest={served.signed}"
    r = client.get(base)
    assert r.status_code == 200, r.text
    assert NAME not in r.text and "<img" not in r.text
    rows = table_rows(r.text, "Packages (3 of 3)")
    bom = client.get(f"/projects/team/sbom?repo=app&digest={served.signed}&format=cyclonedx").json()
    listed = sorted((c["name"], c["version"]) for c in bom["components"])
    assert sorted((_text(n), v) for n, v, *_ in rows) == listed
    assert [ESCAPED, "6.6.6", "python", "MIT"] in rows
    assert ["idna", "3.6", "python", "BSD-3-Clause"] in rows
    assert ["requests", "2.31.0", "python", "unknown"] in rows
    # filtered (any of the columns, any case) and paged, the filter kept across pages
    assert [r[0] for r in table_rows(client.get(base + "&q=bsd").text, "Packages (1 of 3)")] == [
        "idna"
    ]
    first = client.get(base + "&q=python&page_size=2").text
    assert len(table_rows(first, "Packages (3 of 3)")) == 2 and "Page 1 of 2" in first
    assert "q=python" in re.search(r'rel="next" href="([^"]*)"', first).group(1)  # type: ignore[union-attr]
    second = client.get(base + "&q=python&page_size=2&page=2").text
    assert len(table_rows(second, "Packages (3 of 3)")) == 1


def _text(html: str) -> str:
    return html.replace(ESCAPED, NAME)


def test_a_stranger_gets_no_packages(served: Served) -> None:
    with ASGIClient(served.app) as c:
        assert sign_in(c, "stranger", PASSWORD).status_code == 303  # no member of team
        r = c.get(f"/projects/team/packages?repo=app&digest={served.signed}")
        assert r.status_code in (403, 404) and "idna" not in r.text
