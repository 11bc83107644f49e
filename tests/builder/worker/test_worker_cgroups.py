"""How the worker reads the cgroup layout crun will see (the real crun is asked for each layout
in tests/builder/test_build_runtime_choice.py; this is the reading of mountinfo and the table)."""

from __future__ import annotations

import pytest

from dockyard.builder.worker._cgroups import CgroupLayout, mount_types, refusal_for

MOUNTINFO = """\
22 1 0:21 / / rw,relatime - overlay overlay rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:12 master:3 - cgroup2 cgroup2 rw
50 22 0:45 / /mnt/with\\040space rw - tmpfs tmpfs rw
60 31 0:50 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
"""


def test_mountinfo_gives_the_topmost_file_system_at_each_mount_point() -> None:
    types = mount_types(MOUNTINFO)
    assert types["/sys/fs/cgroup"] == "cgroup2"  # mounted over the tmpfs later
    assert types["/sys/fs/cgroup/unified"] == "cgroup2"  # optional fields skipped
    assert types["/sys/fs/cgroup/cpu"] == "cgroup"
    assert types["/mnt/with space"] == "tmpfs"


@pytest.mark.parametrize(
    ("layout", "refused"),
    [
        (CgroupLayout("cgroup2", None), None),
        (CgroupLayout("tmpfs", None), None),  # v1 only
        (CgroupLayout("tmpfs", "cgroup2"), None),  # hybrid, no controller on v2
        (CgroupLayout("tmpfs", "cgroup2", ("hugetlb", "pids")), "hugetlb pids"),
        (CgroupLayout("tmpfs", "tmpfs", ("memory",)), None),  # not a v2 hierarchy
        (CgroupLayout("sysfs", None), "no cgroup file system"),
        (CgroupLayout(None, None), "no cgroup file system"),
    ],
)
def test_crun_is_refused_exactly_where_crun_refuses(
    layout: CgroupLayout, refused: str | None
) -> None:
    reason = refusal_for(layout)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason
