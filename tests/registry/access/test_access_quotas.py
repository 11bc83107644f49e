"""Storage quotas: each blob counted once per project, pushes refused past the limit with a
message naming the quota, bytes given back on release."""

from __future__ import annotations

import pytest

from dockyard.errors import Denied, InvalidArgument, NotFound
from dockyard.registry.access import AccessService, QuotaExceeded, format_size

MB = 1024 * 1024


def test_shared_blobs_count_once_per_project(service: AccessService) -> None:
    service.projects.create("team", owner_id=None, storage_limit=100 * MB)
    service.projects.create("other", owner_id=None)
    base = {"sha256:" + "a" * 64: 3 * MB, "sha256:" + "b" * 64: 2 * MB}
    assert service.quotas.record_push("team", base) == 5 * MB
    # a second repository of the project pushes an image on the same base layers
    app = {**base, "sha256:" + "c" * 64: 1 * MB}
    assert service.quotas.new_bytes("team", app) == 1 * MB
    assert service.quotas.record_push("team", app) == 1 * MB
    assert service.quotas.record_push("team", app) == 0
    assert service.quotas.usage("team") == 6 * MB
    # another project pays for the same blobs itself
    assert service.quotas.record_push("other", base) == 5 * MB
    assert service.quotas.get("other").hard == -1


def test_a_push_past_the_quota_is_denied_naming_it(service: AccessService) -> None:
    service.projects.create("team", owner_id=None, storage_limit=10 * MB)
    service.quotas.record_push("team", {"sha256:" + "a" * 64: 5 * MB})
    service.quotas.check_push("team", 5 * MB)  # exactly full is allowed
    with pytest.raises(QuotaExceeded) as caught:
        service.quotas.check_push("team", 12 * MB)
    assert isinstance(caught.value, Denied) and caught.value.http_status == 403
    assert caught.value.message == (
        "adding 12.0MB would exceed project team's quota of 10.0MB (used 5.0MB)"
    )
    service.quotas.set_hard("team", -1)
    service.quotas.check_push("team", 10**15)


def test_release_gives_bytes_back(service: AccessService) -> None:
    service.projects.create("team", owner_id=None, storage_limit=8 * MB)
    blobs = {"sha256:" + "a" * 64: 5 * MB, "sha256:" + "b" * 64: 2 * MB}
    service.quotas.record_push("team", blobs)
    assert service.quotas.release("team", ["sha256:" + "a" * 64, "sha256:" + "f" * 64]) == 5 * MB
    assert service.quotas.usage("team") == 2 * MB
    service.quotas.check_push("team", 6 * MB)
    assert service.quotas.release("team", []) == 0
    # the released blob counts again when pushed again
    assert service.quotas.record_push("team", blobs) == 5 * MB


def test_bad_limits_and_unknown_projects(service: AccessService) -> None:
    with pytest.raises(InvalidArgument):
        service.projects.create("team", owner_id=None, storage_limit=0)
    service.projects.create("team", owner_id=None)
    for bad in (0, -2):
        with pytest.raises(InvalidArgument):
            service.quotas.set_hard("team", bad)
    with pytest.raises(InvalidArgument):
        service.quotas.record_push("team", {"sha256:x": -1})
    with pytest.raises(NotFound):
        service.quotas.check_push("nope", 1)
    page = service.quotas.list(page_size=100)
    assert [q.project for q in page.items] == ["team"] and page.total == 1


def test_deleting_a_project_deletes_its_usage(service: AccessService) -> None:
    service.projects.create("team", owner_id=None, storage_limit=MB)
    service.quotas.record_push("team", {"sha256:" + "a" * 64: 10})
    service.projects.delete("team")
    service.projects.create("team", owner_id=None)
    assert service.quotas.usage("team") == 0


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0B"), (1023, "1023B"), (1024, "1.0KB"), (12 * MB, "12.0MB"),
                       (5 * 1024 * MB + 512 * MB, "5.5GB")]
)  # fmt: skip
def test_sizes_read_as_harbor_shows_them(size: int, text: str) -> None:
    assert format_size(size) == text
