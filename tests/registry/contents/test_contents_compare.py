"""The comparison of two images from the registry's blobs (``registry/contents``): layers,
files, packages, the JSON the API answers and the console reads back, and the size limits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra.console import close_app, projects_app, push_files_image
from _infra.projects_registry import PASSWORD, basic, team_with_people
from _infra.registry_server import ASGIClient, AuthedClient
from dockyard.errors import InvalidArgument
from dockyard.registry import RegistryApp
from dockyard.registry.contents import (
    TooBig,
    _compare,
    compare,
    comparison_from_json,
    comparison_json,
)

SITE = "usr/local/lib/python3.11/site-packages"
BASE = {"etc/os-release": b"ID=contents-test\n"}
V1 = {f"{SITE}/idna-3.6.dist-info/METADATA": b"Metadata-Version: 2.1\nName: idna\nVersion: 3.6\n",
      "etc/old.conf": b"old\n", "etc/app.conf": b"a=1\n"}  # fmt: skip
V2 = {f"{SITE}/idna-3.7.dist-info/METADATA": b"Metadata-Version: 2.1\nName: idna\nVersion: 3.7\n",
      "srv/new.txt": b"new\n", "etc/app.conf": b"a=22\n"}  # fmt: skip


@dataclass
class Pushed:
    app: RegistryApp
    v1: str
    v2: str


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushed]:
    root: Path = tmp_path_factory.mktemp("contents-compare") / "data"
    app, access = projects_app(root)
    team_with_people(access)
    with ASGIClient(app) as client:
        dev = AuthedClient(client, basic("dev", PASSWORD))
        v1 = push_files_image(dev, "team/app", "v1", [BASE, V1], ["ADD base /", "RUN v1"])
        v2 = push_files_image(dev, "team/app", "v2", [BASE, V2], ["ADD base /", "RUN v2"])
    yield Pushed(app, v1, v2)
    close_app(app)


def test_two_images_compared_layer_file_and_package(pushed: Pushed) -> None:
    result = compare(pushed.app.registry, "team/app", pushed.v1, pushed.v2)
    assert [(x.command, x.status) for x in result.layers] == [
        ("RUN v1", "removed"),  # a's own layers, then b's in order
        ("ADD base /", "shared"),
        ("RUN v2", "added"),
    ]
    files = {f.path: f.status for f in result.diff.files}
    assert files["/etc/app.conf"] == "changed"
    assert files["/etc/old.conf"] == "removed"
    assert files["/srv/new.txt"] == "added"
    assert "/etc/os-release" not in files  # in the shared layer
    assert [(p.name, p.old, p.new, p.status) for p in result.packages] == [
        ("idna", "3.6", "3.7", "changed")
    ]
    assert result.vulnerabilities is None  # no scan reports asked for


def test_the_json_reads_back_as_the_same_comparison(pushed: Pushed) -> None:
    result = compare(pushed.app.registry, "team/app", pushed.v1, pushed.v2)
    assert comparison_from_json(comparison_json(result)) == result
    with pytest.raises(InvalidArgument, match="not a comparison"):
        comparison_from_json({"layers": []})


def test_images_past_the_limits_are_too_big(
    pushed: Pushed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compare, "MAX_BYTES", 100)
    with pytest.raises(TooBig, match="compares at most 100 bytes"):
        compare(pushed.app.registry, "team/app", pushed.v1, pushed.v2)
    monkeypatch.setattr(_compare, "MAX_BYTES", 1 << 30)
    monkeypatch.setattr(_compare, "MAX_FILES", 2)
    with pytest.raises(TooBig, match="shows at most 2"):
        compare(pushed.app.registry, "team/app", pushed.v1, pushed.v2)
