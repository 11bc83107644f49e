"""What a policy keeps and what it deletes, as pure functions over artifact facts.

Harbor's ``or`` algorithm, per repository: every enabled rule whose repository selectors
take the repository selects artifacts by its tag (and label) selectors, all of them, and
*retains* some of those by its template; an artifact no rule retains is deleted. A repository
no rule's selectors take is not touched at all. Untagged artifacts are selected by a
``matches`` tag selector unless its extras say ``{"untagged": false}`` (and by an
``excludes`` one only with ``{"untagged": true}``), so a rule set that selects no untagged
artifact deletes them all, as Harbor does.

Signatures and other accessories (a manifest whose ``subject`` is in the repository, or a
cosign ``sha256-<hex>.sig``/``.att``/``.sbom`` tag whose digest is) are no candidates of
their own: they follow their subject, kept while it stays, deleted with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dockyard.registry.retention._match import matches
from dockyard.registry.retention._model import (
    ALWAYS,
    LAST_X_DAYS,
    LATEST_ACTIVE_K,
    LATEST_PULLED_N,
    LATEST_PUSHED_K,
    N_DAYS_SINCE_LAST_PULL,
    N_DAYS_SINCE_LAST_PUSH,
    Policy,
    Rule,
    Selector,
)

__all__ = ["Candidate", "Decision", "accessory_subject", "evaluate", "repositories_in_scope"]

_DAY = 86400.0
_COSIGN_TAG = re.compile(r"sha256-([0-9a-f]{64})\.(?:sig|att|sbom)")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One artifact of a repository: ``repository`` is its name inside the project;
    ``pushed`` the latest of its push and its tags' push times, ``pulled`` its last pull
    (0: never); ``subject`` the digest of the manifest it refers to, if any."""

    repository: str
    digest: str
    tags: tuple[str, ...] = ()
    pushed: float = 0.0
    pulled: float = 0.0
    labels: tuple[str, ...] = ()
    subject: str | None = None
    size: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """``retain``: whether the artifact stays; ``rules``: the indexes of the rules that
    retained it; ``subject``: set for an accessory, which follows that artifact."""

    candidate: Candidate
    retain: bool
    rules: tuple[int, ...] = ()
    subject: str | None = None


def accessory_subject(candidate: Candidate, digests: set[str]) -> str | None:
    """The digest of the artifact ``candidate`` accompanies (a signature, an attestation, an
    SBOM), when that artifact is among ``digests``; else None."""
    if candidate.subject is not None and candidate.subject in digests:
        return candidate.subject
    for tag in candidate.tags:
        found = _COSIGN_TAG.fullmatch(tag)
        if found is not None and f"sha256:{found.group(1)}" in digests:
            return f"sha256:{found.group(1)}"
    return None


def _repo_selected(selectors: Iterable[Selector], repository: str) -> bool:
    for s in selectors:
        hit = matches(s.pattern, repository)
        if hit == (s.decoration == "repoExcludes"):
            return False
    return True


def repositories_in_scope(policy: Policy, repositories: Iterable[str]) -> list[str]:
    """The repositories (names inside the project) some enabled rule takes, sorted."""
    rules = [r for r in policy.rules if not r.disabled]
    return sorted(
        name for name in repositories if any(_repo_selected(r.repo_selectors, name) for r in rules)
    )


def _tag_selected(s: Selector, c: Candidate) -> bool:
    if s.kind == "label":
        wanted = [x for x in s.pattern.split(",") if x]
        if s.decoration == "withLabels":
            return all(x in c.labels for x in wanted)
        return not any(x in c.labels for x in wanted)
    if not c.tags:
        return s.untagged
    if s.decoration == "matches":
        return any(matches(s.pattern, t) for t in c.tags)
    return any(not matches(s.pattern, t) for t in c.tags)


def _newest(items: Sequence[Candidate], k: int, key: str) -> list[Candidate]:
    def when(c: Candidate) -> tuple[float, str]:
        if key == "active":
            return (max(c.pushed, c.pulled), c.digest)
        return (c.pushed if key == "pushed" else c.pulled, c.digest)

    return sorted(items, key=when, reverse=True)[:k]


def _retained(rule: Rule, selected: list[Candidate], now: float) -> list[Candidate]:
    n = rule.value or 0
    if rule.template == ALWAYS:
        return selected
    if rule.template == LATEST_PUSHED_K:
        return _newest(selected, n, "pushed")
    if rule.template == LATEST_PULLED_N:
        return _newest(selected, n, "pulled")
    if rule.template == LATEST_ACTIVE_K:
        return _newest(selected, n, "active")
    if rule.template == N_DAYS_SINCE_LAST_PUSH:
        return [c for c in selected if c.pushed >= now - n * _DAY]
    if rule.template == LAST_X_DAYS:
        return [c for c in selected if c.pushed > now - n * _DAY]
    if rule.template == N_DAYS_SINCE_LAST_PULL:
        return [c for c in selected if c.pulled >= now - n * _DAY]
    raise ValueError(f"unknown template {rule.template}")


def evaluate(
    policy: Policy, repository: str, artifacts: Sequence[Candidate], now: float
) -> list[Decision]:
    """The decision on every artifact of ``repository`` (its name inside the project), in
    the order given. An empty list when no enabled rule takes the repository."""
    rules = [
        (n, r)
        for n, r in enumerate(policy.rules)
        if not r.disabled and _repo_selected(r.repo_selectors, repository)
    ]
    if not rules:
        return []
    digests = {c.digest for c in artifacts}
    follows = {c.digest: accessory_subject(c, digests - {c.digest}) for c in artifacts}
    candidates = [c for c in artifacts if follows[c.digest] is None]
    by_rule: dict[str, list[int]] = {}
    for n, rule in rules:
        selected = [c for c in candidates if all(_tag_selected(s, c) for s in rule.tag_selectors)]
        for c in _retained(rule, selected, now):
            by_rule.setdefault(c.digest, []).append(n)

    def root(digest: str) -> str:
        seen = {digest}
        while (up := follows.get(digest)) is not None and up not in seen:
            seen.add(up)
            digest = up
        return digest

    out: list[Decision] = []
    for c in artifacts:
        subject = follows[c.digest]
        owner = root(c.digest)
        kept = tuple(by_rule.get(owner, ()))
        out.append(Decision(c, bool(kept), kept, subject))
    return out
