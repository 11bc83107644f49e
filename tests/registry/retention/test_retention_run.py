"""The issue's retention fixture: 60 artifacts across semver, env and sha tags in a project's
two repositories (plus untagged ones, cosign signatures and OCI referrers), a policy of four
rules (and a disabled fifth), pushed through the real projects-mode app with push times
injected and pulls recorded from real ``/v2/`` GETs.

The dry run lists exactly the table below (derived from the rules by hand), the run deletes
exactly that, a tag an immutable tag rule protects stays (with its signature), signatures stay with their
subjects, garbage collection reclaims the bytes, and the project's quota usage then equals
the bytes on disk of the blobs it still references.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from _infra.harbor_api import check_created, check_list
from _infra.projects_registry import team_with_people, wait_for
from _infra.registry_server import PushedImage
from _infra.retention import (
    API,
    DAY,
    Served,
    serve_projects,
    set_push_time,
    wait_execution,
)
from dockyard.registry._gc import collect_garbage
from dockyard.registry.metadata._schema import manifest_refs, manifests, repositories
from dockyard.registry.retention._schema import pulls

pytestmark = pytest.mark.slow

# --- the fixture: (repository, tag or None, age in days) -----------------------------------
# app: v1.0.0 … v1.0.19 (v1.0.k pushed 40-k days ago), sha-0 … sha-14 (sha-k k+0.5 days
# ago), dev/staging/prod (20, 25, 30 days), 4 untagged (1…4 days)          = 42
# web: v3.0.0 … v3.0.9 (v3.0.k 10+k days ago), sha-w0 … sha-w5 (k+0.5 days), 2 untagged
#      (2, 3 days); v3.0.9 and sha-w5 pulled                                 = 18
FIXTURE: Sequence[tuple[str, str | None, float]] = (
    [("app", f"v1.0.{k}", 40 - k) for k in range(20)]
    + [("app", f"sha-{k}", k + 0.5) for k in range(15)]
    + [("app", "dev", 20), ("app", "staging", 25), ("app", "prod", 30)]
    + [("app", None, d) for d in (1, 2, 3, 4)]
    + [("web", f"v3.0.{k}", 10 + k) for k in range(10)]
    + [("web", f"sha-w{k}", k + 0.5) for k in range(6)]
    + [("web", None, d) for d in (2, 3)]
)
PULLED = [("web", "v3.0.9"), ("web", "sha-w5")]
IMMUTABLE_TAG = "v1.0.5"


def _untagged(repo: str, age: float) -> str:
    return f"{repo}@untagged-{age:g}d"


def _selector(decoration: str, pattern: str, untagged: bool = False) -> dict[str, str]:
    return {"kind": "doublestar", "decoration": decoration, "pattern": pattern,
            "extras": '{"untagged":%s}' % ("true" if untagged else "false")}  # fmt: skip


def _rule(template: str, value: int | None, tags: str, repos: str, *, disabled: bool = False
          ) -> dict[str, Any]:  # fmt: skip
    return {
        "disabled": disabled, "action": "retain", "template": template,
        "params": {} if value is None else {template: value},
        "tag_selectors": [_selector("matches", tags)],
        "scope_selectors": {"repository": [_selector("repoMatches", repos)]},
    }  # fmt: skip


RULES = [
    _rule("latestPushedK", 3, "v*", "**"),  # R0: the 3 newest semver tags of each repository
    _rule("always", None, "{dev,staging,prod}", "**"),  # R1: env tags, always
    _rule("nDaysSinceLastPush", 7, "sha-*", "app"),  # R2: app's sha tags of the last week
    _rule("latestPulledN", 2, "**", "web"),  # R3: web's 2 most recently pulled (tagged)
    _rule("always", None, "**", "**", disabled=True),  # disabled: changes nothing
]

# --- what the rules delete, by hand ---------------------------------------------------------
# app: R0 keeps v1.0.19, v1.0.18, v1.0.17; v1.0.5 is immutable; R2 keeps sha-0 … sha-6;
#      R1 keeps dev, staging, prod; no rule selects untagged artifacts.
# web: R0 keeps v3.0.0, v3.0.1, v3.0.2; R3 keeps v3.0.9 and sha-w5; R2 does not apply.
# accessories: the signature of v1.0.0 goes with it, that of v1.0.19 stays, that of the
#      immutable v1.0.5 stays; the SBOM referring to sha-0 stays, the one referring to
#      web's first untagged artifact goes.
EXPECTED_DELETED = sorted(
    [("app", f"v1.0.{k}") for k in (0, 1, 2, 3, 4, *range(6, 17))]
    + [("app", f"sha-{k}") for k in range(7, 15)]
    + [("app", _untagged("app", d)) for d in (1, 2, 3, 4)]
    + [("web", f"v3.0.{k}") for k in range(3, 9)]
    + [("web", f"sha-w{k}") for k in range(5)]
    + [("web", _untagged("web", d)) for d in (2, 3)]
    + [("app", "sig(v1.0.0)"), ("web", "sbom(web@untagged-2d)")]
)
EXPECTED_IMMUTABLE = sorted([("app", IMMUTABLE_TAG), ("app", f"sig({IMMUTABLE_TAG})")])


class Fixture:
    def __init__(self, served: Served) -> None:
        self.served = served
        self.names: dict[str, tuple[str, str]] = {}  # digest → (repository, name in the table)
        self.images: dict[tuple[str, str], PushedImage] = {}

    def build(self, now: float) -> None:
        for n, (repo, tag, age) in enumerate(FIXTURE):
            image = self.served.push(f"team/{repo}", tag, seed=f"a{n}")
            name = tag or _untagged(repo, age)
            self._record(repo, name, image, now - age * DAY)
        accessories = [
            ("app", "sig(v1.0.0)", "v1.0.0"),
            ("app", "sig(v1.0.19)", "v1.0.19"),
            ("app", f"sig({IMMUTABLE_TAG})", IMMUTABLE_TAG),
        ]
        for repo, name, of in accessories:
            subject = self.images[(repo, of)]
            tag = "sha256-" + subject.digest.removeprefix("sha256:") + ".sig"
            image = self.served.push(f"team/{repo}", tag, seed=name)
            self._record(repo, name, image, now - 0.1 * DAY)
        for repo, name, of in (
            ("app", "sbom(sha-0)", "sha-0"),
            ("web", "sbom(web@untagged-2d)", _untagged("web", 2)),
        ):
            image = self.served.push(
                f"team/{repo}", None, seed=name, subject=self.images[(repo, of)]
            )
            self._record(repo, name, image, now - 0.1 * DAY)

    def _record(self, repo: str, name: str, image: PushedImage, when: float) -> None:
        set_push_time(self.served, f"team/{repo}", image.digest, when)
        self.names[image.digest] = (repo, name)
        self.images[(repo, name)] = image

    def named(self, rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return sorted(self.names[digest] for _, digest in rows)


def _results(served: Served, policy: int, location: str) -> dict[str, list[tuple[str, str]]]:
    """action → [(repository, digest)] from the execution's tasks and their logs."""
    tasks = check_list(served.client.get(location + "/tasks", headers=served.headers),
                       "RetentionExecutionTask")  # fmt: skip
    out: dict[str, list[tuple[str, str]]] = {}
    for task in tasks:
        r = served.client.get(f"{location}/tasks/{task['id']}", headers=served.headers)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        rows = [line.split("|")[1:-1] for line in r.text.splitlines()[2:] if line.startswith("|")]
        assert len(rows) == task["total"]
        for cells in rows:
            digest, action = cells[0].strip(), cells[-1].strip()
            out.setdefault(action, []).append((task["repository"], digest))
        assert task["retained"] == sum(1 for c in rows if c[-1].strip() != "DEL")
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_projects(tmp_path_factory.mktemp("retention")) as s:
        yield s


def test_dry_run_lists_exactly_the_table_and_the_run_deletes_it(served: Served) -> None:
    team_with_people(served.access)
    project = served.access.projects.get("team")
    fixture = Fixture(served)
    fixture.build(time.time())
    assert len(FIXTURE) == 60
    for repo, tag in PULLED:  # real pulls, recorded by the server's pull-time recorder
        r = served.admin.get(f"/v2/team/{repo}/manifests/{tag}")
        assert r.status_code == 200
    db = served.app.registry.meta.db

    def pulled() -> int:
        with db.read() as conn:
            return len(conn.execute(select(pulls.c.digest)).all())

    wait_for(lambda: pulled() == 2)
    rule = {"disabled": False, "action": "immutable", "template": "immutable_template",
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                               "pattern": IMMUTABLE_TAG}],
            "scope_selectors": {"repository": [{"kind": "doublestar",
                                                "decoration": "repoMatches", "pattern": "**"}]}}  # fmt: skip
    r = served.client.post(f"{API}/projects/team/immutabletagrules", json=rule,
                           headers={**served.headers, "X-Is-Resource-Name": "true"})  # fmt: skip
    assert r.status_code == 201, r.text

    body = {"algorithm": "or", "rules": RULES, "trigger": {"kind": "Schedule",
            "settings": {"cron": ""}}, "scope": {"level": "project", "ref": project.id}}  # fmt: skip
    pid = int(check_created(served.client.post(f"{API}/retentions", json=body,
                                               headers=served.headers), f"{API}/retentions"))  # fmt: skip
    meta = served.client.get(f"{API}/projects/team/metadatas/retention_id",
                             headers={**served.headers, "X-Is-Resource-Name": "true"})  # fmt: skip
    assert meta.json() == {"retention_id": str(pid)}

    # the dry run: exactly the table, nothing deleted
    before = _counts(served)
    r = served.client.post(f"{API}/retentions/{pid}/executions", json={"dry_run": True},
                           headers=served.headers)  # fmt: skip
    dry = check_created(r, f"{API}/retentions/{pid}/executions")
    location = f"{API}/retentions/{pid}/executions/{dry}"
    execution = wait_execution(served.client, served.headers, location)
    assert execution["status"] == "Success" and execution["dry_run"] is True
    results = _results(served, pid, location)
    assert fixture.named(results["DEL"]) == EXPECTED_DELETED
    assert fixture.named(results["IMMUTABLE"]) == EXPECTED_IMMUTABLE
    assert len(results["RETAIN"]) + len(EXPECTED_DELETED) + len(EXPECTED_IMMUTABLE) == 65
    assert _counts(served) == before

    # the run deletes exactly that
    usage_before = served.access.quotas.usage("team")
    r = served.client.post(f"{API}/retentions/{pid}/executions", json={"dry_run": False},
                           headers=served.headers)  # fmt: skip
    real = check_created(r, f"{API}/retentions/{pid}/executions")
    location = f"{API}/retentions/{pid}/executions/{real}"
    execution = wait_execution(served.client, served.headers, location)
    assert execution["status"] == "Success" and execution["dry_run"] is False
    results = _results(served, pid, location)
    assert fixture.named(results["DEL"]) == EXPECTED_DELETED
    left = sorted(fixture.names[d] for d in _digests(served))
    assert left == sorted(set(fixture.names.values()) - set(EXPECTED_DELETED))
    for repo, name in [("app", "v1.0.19"), ("app", "sig(v1.0.19)"), ("app", IMMUTABLE_TAG)]:
        assert (repo, name) in left
    listed = check_list(served.client.get(f"{API}/retentions/{pid}/executions",
                                          headers=served.headers), "RetentionExecution")  # fmt: skip
    assert [(e["id"], e["dry_run"], e["trigger"]) for e in listed] == [
        (int(real), False, "MANUAL"), (int(dry), True, "MANUAL")
    ]  # fmt: skip

    # garbage collection gives the bytes back; quota usage equals the bytes on disk
    report = collect_garbage(served.app.registry, grace=0)
    assert report.bytes_freed > 0
    layers, manifest_bytes = _referenced(served)
    storage = served.app.registry.storage  # files, or objects in a bucket
    every_file = {}
    for key in storage.list("blobs"):
        info = storage.stat(key)
        assert info is not None, key
        every_file[key.rpartition("/")[2]] = info.size
    assert set(every_file) == {d.removeprefix("sha256:") for d in layers}  # nothing else left
    # manifests live in the database, whole; configs and layers are the stored blobs
    usage = served.access.quotas.usage("team")
    assert usage == sum(every_file.values()) + manifest_bytes
    assert usage < usage_before
    quota = check_list(served.client.get(f"{API}/quotas", headers=served.headers), "Quota")
    assert [q["used"]["storage"] for q in quota if q["ref"]["name"] == "team"] == [usage]


def _counts(served: Served) -> int:
    return len(_digests(served))


def _digests(served: Served) -> list[str]:
    with served.app.registry.meta.db.read() as conn:
        return [r[0] for r in conn.execute(
            select(manifests.c.digest).select_from(manifests.join(repositories))
            .where(repositories.c.name.startswith("team/"))
        )]  # fmt: skip


def _referenced(served: Served) -> tuple[set[str], int]:
    """The blobs the project's manifests refer to (configs, layers), and the bytes of the
    manifests themselves."""
    with served.app.registry.meta.db.read() as conn:
        inside = repositories.c.name.startswith("team/")
        sizes = {
            r[0]: r[1]
            for r in conn.execute(
                select(manifests.c.digest, manifests.c.size)
                .select_from(manifests.join(repositories))
                .where(inside)
            )
        }
        refs = {r[0] for r in conn.execute(
            select(manifest_refs.c.digest)
            .select_from(manifest_refs.join(manifests).join(repositories))
            .where(inside, manifest_refs.c.kind == "blob"))}  # fmt: skip
    return refs, sum(sizes.values())
