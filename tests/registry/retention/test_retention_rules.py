"""The rules as pure functions: Harbor's templates, tag/repository/label selectors with their
untagged handling, the ``or`` of rules, accessories following their subjects, doublestar
patterns, and the policy JSON Harbor takes (and what it refuses)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.errors import InvalidArgument
from dockyard.registry.retention import Candidate, evaluate, parse_policy, policy_json
from dockyard.registry.retention._match import matches
from dockyard.registry.retention._schedule import next_fire

DAY = 86400.0
NOW = 1_000 * DAY


def _digest(n: int) -> str:
    return "sha256:" + f"{n:064x}"


def _c(n: int, *tags: str, pushed: float = 0, pulled: float = 0, labels: tuple[str, ...] = (),
       subject: str | None = None, repo: str = "app") -> Candidate:  # fmt: skip
    return Candidate(repo, _digest(n), tuple(tags), NOW - pushed * DAY,
                     NOW - pulled * DAY if pulled else 0.0, labels, subject)  # fmt: skip


def _sel(decoration: str, pattern: str, extras: str = "") -> dict[str, str]:
    return {"kind": "doublestar", "decoration": decoration, "pattern": pattern, "extras": extras}


def _policy(*rules: dict[str, Any]) -> Any:
    return parse_policy({"rules": list(rules), "scope": {"level": "project", "ref": 1}})


def _rule(template: str, value: int | None = None, *, tags: list[dict[str, str]] | None = None,
          repos: list[dict[str, str]] | None = None) -> dict[str, Any]:  # fmt: skip
    return {"template": template, "params": {} if value is None else {template: value},
            "tag_selectors": tags if tags is not None else [_sel("matches", "**")],
            "scope_selectors": {"repository": repos or [_sel("repoMatches", "**")]}}  # fmt: skip


def _kept(policy: Any, artifacts: list[Candidate], repo: str = "app") -> list[int]:
    return sorted(int(d.candidate.digest[7:], 16) for d in evaluate(policy, repo, artifacts, NOW)
                  if d.retain)  # fmt: skip


ARTIFACTS = [
    _c(1, "v1.0.0", pushed=30, pulled=1),
    _c(2, "v1.1.0", pushed=20),
    _c(3, "v1.2.0", "latest", pushed=10, pulled=5),
    _c(4, "dev", pushed=3, labels=("keep",)),
    _c(5, pushed=2),  # untagged
    _c(6, "sha-abc", pushed=1, pulled=2),
]


@pytest.mark.parametrize(
    ("rule", "kept"),
    [
        (_rule("latestPushedK", 2), [5, 6]),  # untagged matched by "matches **" by default
        (_rule("latestPushedK", 2, tags=[_sel("matches", "**", '{"untagged":false}')]), [4, 6]),
        (_rule("latestPushedK", 3), [4, 5, 6]),
        (_rule("latestPushedK", 3, tags=[_sel("matches", "**", '{"untagged":false}')]),
         [3, 4, 6]),
        (_rule("latestPulledN", 2), [1, 6]),
        (_rule("latestActiveK", 2), [1, 6]),  # max(push, pull): both 1 day ago
        (_rule("nDaysSinceLastPush", 7), [4, 5, 6]),
        (_rule("nDaysSinceLastPull", 3), [1, 6]),
        (_rule("always", tags=[_sel("matches", "v*")]), [1, 2, 3, 5]),  # Harbor: + untagged
        (_rule("always", tags=[_sel("excludes", "v*")]), [3, 4, 6]),  # 3 also has "latest"
        (_rule("always", tags=[_sel("excludes", "v*", '{"untagged":true}')]), [3, 4, 5, 6]),
        (_rule("always", tags=[{"kind": "label", "decoration": "withLabels", "pattern": "keep"}]),
         [4]),
        (_rule("always", tags=[_sel("matches", "{dev,sha-*}", '{"untagged":false}')]), [4, 6]),
        (_rule("always", repos=[_sel("repoExcludes", "app")]), []),
        (_rule("latestPushedK", 0), []),
    ],
)  # fmt: skip
def test_each_template_and_selector(rule: dict[str, Any], kept: list[int]) -> None:
    policy = _policy(rule)
    decisions = evaluate(policy, "app", ARTIFACTS, NOW)
    if not rule["scope_selectors"]["repository"][0]["decoration"].endswith("Excludes"):
        assert len(decisions) == len(ARTIFACTS)
    assert _kept(policy, ARTIFACTS) == kept


def test_rules_or_together_and_disabled_rules_do_nothing() -> None:
    semver = _rule("latestPushedK", 1, tags=[_sel("matches", "v*", '{"untagged":false}')])
    env = _rule("always", tags=[_sel("matches", "dev")])  # untagged too: Harbor's default
    disabled = {**_rule("always"), "disabled": True}
    policy = _policy(semver, env, disabled)
    assert _kept(policy, ARTIFACTS) == [3, 4, 5]
    decision = {d.candidate.digest: d for d in evaluate(policy, "app", ARTIFACTS, NOW)}
    assert decision[_digest(3)].rules == (0,) and decision[_digest(4)].rules == (1,)
    assert not decision[_digest(1)].retain and decision[_digest(1)].rules == ()


def test_a_repository_no_rule_takes_is_left_alone() -> None:
    policy = _policy(_rule("latestPushedK", 1, repos=[_sel("repoMatches", "web")]))
    assert evaluate(policy, "app", ARTIFACTS, NOW) == []
    assert _kept(policy, [_c(1, "a", repo="web"), _c(2, "b", pushed=2, repo="web")], "web") == [1]


def test_signatures_and_referrers_follow_their_subject() -> None:
    subject, gone = _c(1, "v2", pushed=1), _c(2, "v1", pushed=9)
    sig_kept = _c(3, f"sha256-{_digest(1)[7:]}.sig", pushed=0)
    sig_gone = _c(4, f"sha256-{_digest(2)[7:]}.sig", pushed=0)
    sbom_kept = _c(5, pushed=0, subject=_digest(1))
    sbom_of_sbom = _c(6, pushed=0, subject=_digest(5))
    orphan_sig = _c(7, f"sha256-{_digest(99)[7:]}.sig", pushed=0)  # subject not here: a candidate
    artifacts = [subject, gone, sig_kept, sig_gone, sbom_kept, sbom_of_sbom, orphan_sig]
    policy = _policy(_rule("latestPushedK", 1, tags=[_sel("matches", "v*")]))
    assert _kept(policy, artifacts) == [1, 3, 5, 6]
    follows = {d.candidate.digest: d.subject for d in evaluate(policy, "app", artifacts, NOW)}
    assert follows[_digest(4)] == _digest(2) and follows[_digest(7)] is None


@pytest.mark.parametrize(
    ("pattern", "value", "hit"),
    [
        ("**", "a/b/c", True), ("*", "a/b", False), ("*", "app", True), ("a/**", "a/b/c", True),
        ("**/c", "c", True), ("v?.*", "v1.2", True), ("v[0-9]*", "vx", False),
        ("v[^0-9]*", "vx", True), ("{dev,prod}", "prod", True), ("{dev,prod}", "qa", False),
        ("release-{1.*,2.0}", "release-2.0", True), ("sha-*", "sha-1/2", False),
    ],
)  # fmt: skip
def test_doublestar_patterns(pattern: str, value: str, hit: bool) -> None:
    assert matches(pattern, value) is hit


def test_policy_json_round_trip_and_harbors_refusals() -> None:
    body = {
        "algorithm": "or",
        "rules": [_rule("latestPushedK", 10), _rule("always", tags=[_sel("matches", "prod")])],
        "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 0 * * *"}, "references": {}},
        "scope": {"level": "project", "ref": 7},
    }
    policy = parse_policy(body)
    assert policy.cron == "0 0 0 * * *" and policy.project_id == 7
    again = policy_json(policy)
    assert policy_json(parse_policy(again)) == again
    assert again["rules"][0]["params"] == {"latestPushedK": 10}
    bad: list[tuple[dict[str, Any], str]] = [
        ({**body, "rules": [_rule("latestPushedK")]}, "missing required parameter"),
        ({**body, "rules": [_rule("latestPushedK", -1)]}, "less than zero"),
        ({**body, "rules": [_rule("bogus", 1)]}, "is not registered"),
        ({**body, "rules": [_rule("always")] * 2}, "is conflict with rule 0"),
        ({**body, "rules": [_rule("always", tags=[_sel("matches", f"v{i}")])
                            for i in range(16)]}, "only 15 rules"),
        ({**body, "scope": {"level": "system"}}, "is not support"),
        ({**body, "scope": {"level": "project", "ref": 0}}, "invalid Project id"),
        ({**body, "trigger": {"settings": {"cron": "0 0 * * *"}}}, "6-field cron"),
        ({**body, "rules": [_rule("always", tags=[_sel("matches", "[ab")])]}, "invalid pattern"),
        ({**body, "rules": [_rule("always", tags=[_sel("repoMatches", "x")])]}, "decoration"),
    ]  # fmt: skip
    for wrong, message in bad:
        with pytest.raises(InvalidArgument, match=message):
            parse_policy(wrong)


def test_six_field_cron_seconds_first() -> None:
    midnight = 86400.0 * 20000
    assert next_fire("0 0 0 * * *", midnight) == midnight + DAY
    assert next_fire("30 * * * * *", midnight) == midnight + 30
    assert next_fire("*/5 * * * * *", midnight + 1) == midnight + 5
