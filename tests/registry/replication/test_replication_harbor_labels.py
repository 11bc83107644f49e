"""A replication label filter matches the Harbor labels attached to an artifact through
``/api/v2.0`` by their names, beside the image-config labels and manifest annotations it
matched before (the projects-mode app in this process; what a manual run selects)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from _infra.harbor_api import check_created, check_empty
from _infra.projects_registry import team_with_people
from _infra.replication import push_labelled
from _infra.retention import API, Served, serve_projects
from dockyard.registry.replication import local_tasks, policy_from_json


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_projects(tmp_path_factory.mktemp("replication-labels")) as s:
        team_with_people(s.access)
        yield s


def _selected(served: Served, *filters: dict[str, object]) -> set[str]:
    body = {"name": "p", "dest_registry": {"id": 1},
            "filters": [{"type": "name", "value": "team/**"}, *filters]}  # fmt: skip
    return {t.src_reference for t in local_tasks(served.app.registry, policy_from_json(body))}


def test_a_label_filter_selects_by_an_attached_harbor_label(served: Served) -> None:
    push_labelled(served.admin, "team/app", "v1", labels={}, seed="a")
    push_labelled(served.admin, "team/app", "v2", labels={}, seed="b")
    push_labelled(served.admin, "team/app", "v3", labels={"release": "yes"}, seed="c")
    team = int(served.access.projects.get("team").id)
    r = served.client.post(f"{API}/labels", json={"name": "release", "scope": "p",
                                                  "project_id": team}, headers=served.headers)  # fmt: skip
    release = int(check_created(r, f"{API}/labels"))
    release_filter: dict[str, object] = {"type": "label", "value": ["release"]}
    # before any label is attached, only the image whose config says release is selected
    assert _selected(served, release_filter) == {"v3"}
    r = served.client.post(f"{API}/projects/team/repositories/app/artifacts/v1/labels",
                           json={"id": release}, headers=served.headers)  # fmt: skip
    check_empty(r)
    # attached by hand (v1) or carried in the image (v3): both are release
    assert _selected(served, release_filter) == {"v1", "v3"}
    assert _selected(served, {**release_filter, "decoration": "excludes"}) == {"v2"}
    # every label named: an attached one and a content one together
    r = served.client.post(f"{API}/labels", json={"name": "qa", "scope": "g"},
                           headers=served.headers)  # fmt: skip
    qa = int(check_created(r, f"{API}/labels"))
    for tag in ("v2", "v3"):
        r = served.client.post(f"{API}/projects/team/repositories/app/artifacts/{tag}/labels",
                               json={"id": qa}, headers=served.headers)  # fmt: skip
        check_empty(r)
    both: dict[str, object] = {"type": "label", "value": ["release", "qa"]}
    assert _selected(served, both) == {"v3"}
    # taken off again, the filter no longer sees it
    r = served.client.delete(
        f"{API}/projects/team/repositories/app/artifacts/v1/labels/{release}",
        headers=served.headers,
    )
    check_empty(r)
    assert _selected(served, release_filter) == {"v3"}
