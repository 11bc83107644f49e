"""Promotion with gates, through the real app in process (``/v2/`` and ``/api/v2.0``).

Images are signed and attested with dockyard's cosign-compatible code over ``/v2/``; scan
reports are rows in the registry's ``scan_reports`` table, made against a real vulnerability
database. What is shown: each gate failing alone blocks the move, with a message naming it
and the tag left where it was; all passing moves the tag, with evidence in the answer and the
audit log; two promotions racing for one tag end with one winner and two audit entries; a
project's policy holds for plain pushes and the API's tag creation too, decided by content.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from _infra.harbor_api import check_empty, check_error, validate
from _infra.promotion import PromotionRegistry, fresh_scan, promotion_registry
from _infra.registry_server import OCI_MANIFEST, error_code
from dockyard.digest import Digest
from dockyard.registry.access import AuditQuery
from dockyard.registry.events import NO_EVENTS, PUSH_ARTIFACT, Event
from dockyard.registry.promotion import (
    GatesFailed,
    Promotion,
    TagMoved,
    key_id,
    parse_requirements,
)
from dockyard.sign import PrivateKey, attest_image, sign_image

TESTS_PASSED = "https://example.com/attestations/tests-passed/v1"
PROJECT = "/api/v2.0/projects/team"


def _key() -> PrivateKey:
    return PrivateKey(ec.generate_private_key(ec.SECP256R1()))


TRUSTED = _key()
OTHER = _key()


def _pem(key: PrivateKey) -> str:
    return key.public_key().pem.decode()


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromotionRegistry]:
    with promotion_registry(tmp_path_factory.mktemp("promotion")) as r:
        yield r


@pytest.fixture(scope="module")
def definitions(reg: PromotionRegistry) -> dict[str, Any]:
    """The server's own swagger definitions (the promotion shapes are a dockyard extension,
    not in Harbor's), with Harbor's Errors among them."""
    r = reg.client.get("/api/v2.0/swagger.json")
    assert r.status_code == 200
    return dict(r.json()["definitions"])


def _ready(
    reg: PromotionRegistry,
    repo: str,
    seed: str,
    *,
    sign: PrivateKey | None = TRUSTED,
    attest: PrivateKey | None = TRUSTED,
    attest_type: str = TESTS_PASSED,
    scan: tuple[str, ...] | None = ("LOW", "HIGH"),
    scan_age: float = 0.0,
    tag: str = "rc",
) -> str:
    """An image pushed as ``repo:tag``, signed, attested and scanned as asked; its digest."""
    digest = reg.push(repo, tag, seed)
    target = reg.repository(repo)
    if sign is not None:
        sign_image(target, Digest.parse(digest), sign)
    if attest is not None:
        predicate = json.dumps({"suite": "unit", "result": "passed"}).encode()
        attest_image(target, Digest.parse(digest), attest, predicate, attest_type)
    if scan is not None:
        fresh_scan(reg, digest, repo, scan, age=scan_age)
    return digest


def _tagged(reg: PromotionRegistry, repo: str, tag: str) -> str | None:
    r = reg.client.head(f"/v2/{repo}/manifests/{tag}", headers={"accept": OCI_MANIFEST})
    return r.headers["docker-content-digest"] if r.status_code == 200 else None


def _promote(
    reg: PromotionRegistry, repo: str, reference: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    name = quote(quote(repo.partition("/")[2], safe=""), safe="")
    return reg.client.post(
        f"{PROJECT}/repositories/{name}/artifacts/{reference}/promote",
        json=body,
        headers=headers or reg.admin,
    )


ALL_GATES = {
    "signature": {"keys": [_pem(TRUSTED)]},
    "scan": {"max_severity": "high"},
    "attestation": {"predicate_type": TESTS_PASSED, "keys": [_pem(TRUSTED)]},
}


# --- each gate failing alone -----------------------------------------------------------------

BROKEN: dict[str, tuple[dict[str, Any], str, str]] = {
    "unsigned": ({"sign": None}, "signature gate", "no signatures found"),
    "signed by an untrusted key": ({"sign": OTHER}, "signature gate", "does not verify"),
    "a critical finding": (
        {"scan": ("LOW", "CRITICAL")},
        "scan gate",
        "findings above high: 1 CRITICAL",
    ),
    "a report older than the database": (
        {"scan_age": 3600.0},
        "scan gate",
        "older than the vulnerability database",
    ),
    "never scanned": ({"scan": None}, "scan gate", "no finished scan report"),
    "no attestation": ({"attest": None}, "attestation gate", "no attestations found"),
    "an attestation of another type": (
        {"attest_type": "https://example.com/attestations/lint/v1"},
        "attestation gate",
        "predicate type",
    ),
    "an attestation by an untrusted key": (
        {"attest": OTHER},
        "attestation gate",
        "does not verify",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_gate_failing_alone_blocks_the_move(
    reg: PromotionRegistry, definitions: dict[str, Any], case: str
) -> None:
    change, gate, reason = BROKEN[case]
    repo = f"team/alone-{abs(hash(case)) % 10**8}"
    before = _ready(reg, repo, f"{case}-before", tag="staging")
    digest = _ready(reg, repo, case, **change)
    r = _promote(reg, repo, digest, {"tag": "staging", "require": ALL_GATES})
    message = check_error(r, 403, "FORBIDDEN")
    assert f"{gate} (request) failed" in message, message
    assert reason in message, message
    for other in {"signature gate", "scan gate", "attestation gate"} - {gate}:
        assert other not in message, message  # the others held: only the failing one is named
    assert _tagged(reg, repo, "staging") == before  # nothing moved
    [entry] = reg.access.audit.query(
        AuditQuery(operation="promote", resource=f"{repo}:staging")
    ).items
    assert not entry.ok
    assert json.loads(entry.description)["digest"] == digest


def test_all_gates_passing_move_the_tag_with_evidence(
    reg: PromotionRegistry, definitions: dict[str, Any]
) -> None:
    repo = "team/app"
    old = _ready(reg, repo, "app-old", tag="prod-candidate")
    assert _promote(reg, repo, old, {"tag": "live", "require": ALL_GATES}).status_code == 200
    digest = _ready(reg, repo, "app-new")
    r = _promote(reg, repo, "rc", {"tag": "live", "require": ALL_GATES})
    assert r.status_code == 200, r.text
    body = r.json()
    validate(body, {"$ref": "#/definitions/Promotion"}, definitions)
    assert (body["digest"], body["previous"], body["moved"]) == (digest, old, True)
    gates = {g["gate"]: g for g in body["gates"]}
    assert all(g["passed"] and g["source"] == "request" for g in gates.values())
    assert gates["signature"]["evidence"]["key_ids"] == [key_id(TRUSTED.public_key())]
    scan = gates["scan"]["evidence"]
    assert scan["max_severity"] == "high"
    assert scan["reports"][0]["summary"]["HIGH"] == 1
    assert scan["reports"][0]["db_updated_at"] == reg.db_updated()
    attestation = gates["attestation"]["evidence"]
    assert attestation["predicate_type"] == TESTS_PASSED
    assert attestation["attestations"][0].startswith("sha256:")
    assert _tagged(reg, repo, "live") == digest
    [entry, _first] = reg.access.audit.query(
        AuditQuery(operation="promote", resource=f"{repo}:live")
    ).items
    assert entry.ok and entry.username == "admin"
    recorded = json.loads(entry.description)
    assert (recorded["digest"], recorded["previous"]) == (digest, old)
    by_gate = {g["gate"]: g for g in recorded["gates"]}
    assert by_gate["signature"]["keys"] == [key_id(TRUSTED.public_key())]
    assert by_gate["scan"]["scan"] == {"max": "high", "findings": {"LOW": 1, "HIGH": 1}}
    assert by_gate["attestation"]["attestation"] == attestation["attestations"][0]


def test_concurrent_promotions_of_two_digests_end_with_one_winner(
    reg: PromotionRegistry,
) -> None:
    """Both pass their gates and reach the move together (a barrier at the seam between the
    gates and the move): the compare-and-set lets one through; the other gets 409."""
    repo = "team/race"
    start = _ready(reg, repo, "race-start", tag="prod-race")
    a = _ready(reg, repo, "race-a", tag="a")
    b = _ready(reg, repo, "race-b", tag="b")
    request = parse_requirements(ALL_GATES)
    barrier = threading.Barrier(2, timeout=30)
    reg.promotions.before_move = lambda *_: barrier.wait()
    outcomes: dict[str, Promotion | Exception] = {}

    def run(digest: str) -> None:
        try:
            outcomes[digest] = reg.promotions.promote(
                repo, digest, "prod-race", request, operator="ci"
            )
        except Exception as exc:  # the loser's error is what is checked
            outcomes[digest] = exc

    threads = [threading.Thread(target=run, args=(d,)) for d in (a, b)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        reg.promotions.before_move = None
    winners = [d for d, o in outcomes.items() if isinstance(o, Promotion)]
    losers = [o for o in outcomes.values() if not isinstance(o, Promotion)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], TagMoved)
    assert "changed while this promotion checked its gates" in losers[0].message
    assert _tagged(reg, repo, "prod-race") == winners[0]
    assert outcomes[winners[0]].previous == start  # type: ignore[union-attr]
    entries = reg.access.audit.query(
        AuditQuery(operation="promote", resource=f"{repo}:prod-race")
    ).items
    assert sorted(e.ok for e in entries) == [False, True]
    loser = next(e for e in entries if not e.ok)
    assert (
        "changed while this promotion checked its gates" in json.loads(loser.description)["refused"]
    )


# --- project policy: tags that require gates -------------------------------------------------


@pytest.fixture(scope="module")
def prod_policy(reg: PromotionRegistry, definitions: dict[str, Any]) -> Iterator[int]:
    """``prod`` in project ``team`` requires every gate, with TRUSTED as the trusted key."""
    r = reg.client.post(
        f"{PROJECT}/promotion_policies",
        json={"tags": ["prod", "release-*"], "require": ALL_GATES},
        headers={**reg.admin, "X-Is-Resource-Name": "true"},
    )
    assert r.status_code == 201, r.text
    policy_id = int(r.headers["location"].rsplit("/", 1)[1])
    yield policy_id
    check_empty(
        reg.client.delete(
            f"{PROJECT}/promotion_policies/{policy_id}",
            headers={**reg.admin, "X-Is-Resource-Name": "true"},
        )
    )


def _put_manifest(reg: PromotionRegistry, repo: str, tag: str, digest: str) -> httpx.Response:
    raw, media_type = reg.repository(repo).get_manifest(digest)
    return reg.client.put(
        f"/v2/{repo}/manifests/{tag}", content=raw, headers={"content-type": media_type}
    )


def test_plain_push_of_a_protected_tag_needs_the_gates(
    reg: PromotionRegistry, prod_policy: int
) -> None:
    repo = "team/pushed"
    bare = reg.push(repo, None, "pushed-bare")  # by digest: no tag, no policy
    refused = _put_manifest(reg, repo, "prod", bare)
    assert refused.status_code == 403
    assert error_code(refused) == "DENIED"
    message = refused.json()["errors"][0]["message"]
    assert "promotion policy" in message
    for gate in ("signature gate", "scan gate", "attestation gate"):
        assert f"{gate} (policy {prod_policy}) failed" in message
    assert _tagged(reg, repo, "prod") is None
    also = _put_manifest(reg, repo, "release-2", bare)  # a pattern of the policy
    assert also.status_code == 403
    # the same content, once it passes the gates, goes in by any route
    good = _ready(reg, repo, "pushed-good")
    assert _put_manifest(reg, repo, "prod", good).status_code == 201
    assert _tagged(reg, repo, "prod") == good
    assert _put_manifest(reg, repo, "dev", bare).status_code == 201  # no policy for dev


def test_api_tag_creation_is_held_by_the_policy(reg: PromotionRegistry, prod_policy: int) -> None:
    repo = "team/tagged"
    unsigned = _ready(reg, repo, "tagged-unsigned", sign=None)
    r = reg.client.post(
        f"{PROJECT}/repositories/tagged/artifacts/{unsigned}/tags",
        json={"name": "prod"},
        headers=reg.admin,
    )
    message = check_error(r, 403, "FORBIDDEN")
    assert f"signature gate (policy {prod_policy}) failed" in message
    assert "scan gate" not in message and "attestation gate" not in message


def test_a_request_cannot_loosen_the_policy(
    reg: PromotionRegistry, prod_policy: int, definitions: dict[str, Any]
) -> None:
    """Signed and attested by OTHER only, with OTHER named in the request: the request's gates
    hold, the policy's (TRUSTED) do not."""
    repo = "team/loosen"
    digest = _ready(reg, repo, "loosen", sign=OTHER, attest=OTHER)
    mine = {
        "signature": {"keys": [_pem(OTHER)]},
        "attestation": {"predicate_type": TESTS_PASSED, "keys": [_pem(OTHER)]},
    }
    r = _promote(reg, repo, digest, {"tag": "prod", "require": mine})
    message = check_error(r, 403, "FORBIDDEN")
    assert f"signature gate (policy {prod_policy}) failed" in message
    assert f"attestation gate (policy {prod_policy}) failed" in message
    assert "(request) failed" not in message
    assert _tagged(reg, repo, "prod") is None
    # passing the policy moves prod with no extra requirement in the request
    good = _ready(reg, repo, "loosen-good")
    ok = _promote(reg, repo, good, {"tag": "prod"})
    assert ok.status_code == 200, ok.text
    validate(ok.json(), {"$ref": "#/definitions/Promotion"}, definitions)
    assert {g["source"] for g in ok.json()["gates"]} == {f"policy {prod_policy}"}
    assert _tagged(reg, repo, "prod") == good


def test_policies_are_listed_and_need_project_admin(
    reg: PromotionRegistry, prod_policy: int, definitions: dict[str, Any]
) -> None:
    by_name = {"X-Is-Resource-Name": "true"}
    listed = reg.client.get(f"{PROJECT}/promotion_policies", headers={**reg.admin, **by_name})
    assert listed.status_code == 200
    validate(
        listed.json(),
        {"type": "array", "items": {"$ref": "#/definitions/PromotionPolicy"}},
        definitions,
    )
    [policy] = [p for p in listed.json() if p["id"] == prod_policy]
    assert policy["tags"] == ["prod", "release-*"]
    assert policy["require"]["scan"] == {"max_severity": "high"}
    one = reg.client.get(
        f"{PROJECT}/promotion_policies/{prod_policy}", headers={**reg.admin, **by_name}
    )
    validate(one.json(), {"$ref": "#/definitions/PromotionPolicy"}, definitions)
    dev = {"authorization": httpx.BasicAuth("dev", "Passw0rd1")._auth_header, **by_name}
    check_error(
        reg.client.post(
            f"{PROJECT}/promotion_policies", json={"tags": ["x"], "require": ALL_GATES}, headers=dev
        ),
        403,
        "FORBIDDEN",
    )
    bad = reg.client.post(
        f"{PROJECT}/promotion_policies",
        json={"tags": ["x"], "require": {"scan": {"max_severity": "terrible"}}},
        headers={**reg.admin, **by_name},
    )
    assert "max_severity" in check_error(bad, 400, "BAD_REQUEST")
    empty = reg.client.post(
        f"{PROJECT}/promotion_policies",
        json={"tags": ["x"], "require": {}},
        headers={**reg.admin, **by_name},
    )
    assert "at least one gate" in check_error(empty, 400, "BAD_REQUEST")


def test_promoting_needs_tag_create_and_delete(reg: PromotionRegistry) -> None:
    repo = "team/roles"
    digest = _ready(reg, repo, "roles")
    dev = {"authorization": httpx.BasicAuth("dev", "Passw0rd1")._auth_header}
    check_error(_promote(reg, repo, digest, {"tag": "qa"}, **dev), 403, "FORBIDDEN")
    maint = {"authorization": httpx.BasicAuth("maint", "Passw0rd1")._auth_header}
    r = _promote(reg, repo, digest, {"tag": "qa"}, **maint)
    assert r.status_code == 200, r.text
    assert r.json()["gates"] == []  # no policy for qa, nothing asked


def test_swagger_documents_the_extension(
    definitions: dict[str, Any], reg: PromotionRegistry
) -> None:
    paths = reg.client.get("/api/v2.0/swagger.json").json()["paths"]
    promote = paths["/projects/{project_name}/repositories/{repository_name}/artifacts/"
                     "{reference}/promote"]["post"]  # fmt: skip
    assert promote["summary"].startswith("dockyard extension")
    assert promote["responses"]["200"]["schema"] == {"$ref": "#/definitions/Promotion"}
    assert "PromotionRequest" in definitions


def test_gates_failed_error_carries_every_result(reg: PromotionRegistry) -> None:
    repo = "team/library"
    digest = _ready(reg, repo, "library", sign=None)
    with pytest.raises(GatesFailed) as caught:
        reg.promotions.promote(repo, digest, "staging", parse_requirements(ALL_GATES))
    assert [(r.gate, r.passed) for r in caught.value.results] == [
        ("signature", False),
        ("scan", True),
        ("attestation", True),
    ]


def test_a_policy_on_every_tag_still_lets_signatures_in(reg: PromotionRegistry) -> None:
    """Content decides: cosign's signature manifest (tag ``sha256-<hex>.sig``) is no image, so
    a policy covering ``*`` holds the image's tags and not the evidence its gates need."""
    admin = reg.access.authenticate("admin", "Admin12345", client_ip="127.0.0.1")
    reg.access.create_project(admin, "strict")
    by_name = {**reg.admin, "X-Is-Resource-Name": "true"}
    made = reg.client.post(
        "/api/v2.0/projects/strict/promotion_policies",
        json={"tags": ["*"], "require": {"signature": {"keys": [_pem(TRUSTED)]}}},
        headers=by_name,
    )
    assert made.status_code == 201, made.text
    repo = "strict/app"
    digest = reg.push(repo, None, "strict")
    refused = _put_manifest(reg, repo, "v1", digest)
    assert refused.status_code == 403 and "signature gate" in refused.text
    sign_image(reg.repository(repo), Digest.parse(digest), TRUSTED)  # pushes the .sig tag
    assert _put_manifest(reg, repo, "v1", digest).status_code == 201


class _Collected:
    """An EventSink that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)


def test_a_move_publishes_one_push_event_with_the_promotion(reg: PromotionRegistry) -> None:
    repo = "team/evented"
    digest = _ready(reg, repo, "evented")
    sink = _Collected()
    reg.promotions.events = sink
    try:
        refused = _promote(reg, repo, _ready(reg, repo, "evented-bad", sign=None), {
            "tag": "stable", "require": ALL_GATES})  # fmt: skip
        assert refused.status_code == 403
        assert sink.events == []  # nothing moved, nothing published
        assert _promote(reg, repo, digest, {"tag": "stable"}).status_code == 200
    finally:
        reg.promotions.events = NO_EVENTS
    [event] = sink.events
    assert (event.type, event.project, event.repository) == (PUSH_ARTIFACT, "team", repo)
    assert (event.tag, event.digest, event.operator) == ("stable", digest, "admin")
    assert event.details["promotion"] == {"previous": None, "gates": []}
