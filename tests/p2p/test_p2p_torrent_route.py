"""``GET /v2/<name>/_dockyard/torrent/<digest>``: a blob's v2 torrent, authorised exactly as
the blob itself, cached per digest, and the ``p2p:`` config section that governs it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.projects_registry import PASSWORD, basic, projects_config, team_with_people
from _infra.registry_server import ASGIClient, AuthedClient, error_code, push_blob
from dockyard.errors import InvalidArgument
from dockyard.p2p import bdecode, hash_blob
from dockyard.registry._projects_mode import open_access
from dockyard.registry._server import build_app
from dockyard.registry.config import load

TRACKER = "http://tracker.example:6969/announce"


@pytest.fixture
def open_registry(tmp_path: Path) -> Iterator[ASGIClient]:
    env = {
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path / "data"),
        "REGISTRY_P2P_TRACKERS": TRACKER,
    }
    app = build_app(load(None, env), access_log=False)
    with ASGIClient(app) as client:
        yield client
    app.registry.close()


def test_a_blobs_torrent_names_its_tree_its_web_seed_and_the_trackers(
    open_registry: ASGIClient, tmp_path: Path
) -> None:
    data = os.urandom(300_001)
    digest = push_blob(open_registry, "team/app", data)
    r = open_registry.get(f"/v2/team/app/_dockyard/torrent/{digest}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-bittorrent"
    meta = bdecode(r.content)
    assert isinstance(meta, dict)
    expected = hash_blob(digest.removeprefix("sha256:"), [data], len(data))
    assert meta[b"info"] == expected.info()
    assert meta[b"piece layers"] == {expected.pieces_root: expected.piece_layer}
    assert meta[b"url-list"] == [f"http://registry.test/v2/team/app/blobs/{digest}".encode()]
    assert meta[b"announce-list"] == [[TRACKER.encode()]]
    # kept per digest: a second request is answered from the cache file, byte for byte
    cached = tmp_path / "data" / "p2p" / "torrents" / "sha256" / digest.removeprefix("sha256:")
    assert cached.is_file()
    assert open_registry.get(f"/v2/team/app/_dockyard/torrent/{digest}").content == r.content
    head = open_registry.head(f"/v2/team/app/_dockyard/torrent/{digest}")
    assert head.status_code == 200 and head.content == b""


def test_unknown_blobs_and_other_methods_are_refused(open_registry: ASGIClient) -> None:
    digest = push_blob(open_registry, "team/app", b"x" * 5000)
    r = open_registry.get(f"/v2/team/other/_dockyard/torrent/{digest}")
    assert r.status_code == 404 and error_code(r) == "BLOB_UNKNOWN"
    r = open_registry.get("/v2/team/app/_dockyard/torrent/sha256:" + "0" * 64)
    assert r.status_code == 404 and error_code(r) == "BLOB_UNKNOWN"
    r = open_registry.get("/v2/team/app/_dockyard/torrent/nonsense")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    assert open_registry.post(f"/v2/team/app/_dockyard/torrent/{digest}").status_code == 405
    empty = push_blob(open_registry, "team/app", b"")
    assert open_registry.get(f"/v2/team/app/_dockyard/torrent/{empty}").status_code == 404


def test_projects_mode_grants_the_torrent_exactly_when_it_grants_the_blob(tmp_path: Path) -> None:
    config = projects_config(tmp_path / "data")
    app = build_app(config, access_log=False)
    access = open_access(config.access, app.registry.meta.db)  # type: ignore[arg-type]
    try:
        team_with_people(access)  # admin owns "team"; dev a developer, guest a guest
        access.users.create("outsider", PASSWORD)
        with ASGIClient(app) as client:
            digest = push_blob(
                AuthedClient(client, basic("dev", PASSWORD)), "team/app", b"y" * 70_000
            )
            who = {
                "dev": basic("dev", PASSWORD),
                "guest": basic("guest", PASSWORD),
                "outsider": basic("outsider", PASSWORD),
                "wrong password": basic("dev", "nope"),
                "anonymous": {},
            }
            seen = {}
            for name, headers in who.items():
                blob = client.get(f"/v2/team/app/blobs/{digest}", headers=headers).status_code
                torrent = client.get(
                    f"/v2/team/app/_dockyard/torrent/{digest}", headers=headers
                ).status_code
                seen[name] = (blob, torrent)
            assert seen["dev"] == seen["guest"] == (200, 200)
            assert all(b == t and b in (401, 403, 404) for n, (b, t) in seen.items()
                       if n not in ("dev", "guest")), seen  # fmt: skip
    finally:
        for stop in app.on_shutdown:
            stop()
        app.registry.close()


def test_the_p2p_section_refuses_unknown_keys_and_bad_trackers_and_can_turn_off(
    tmp_path: Path,
) -> None:
    root = {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path / "data")}
    with pytest.raises(InvalidArgument, match="tracker"):
        load(None, {**root, "REGISTRY_P2P_TRACKERZ": TRACKER})
    with pytest.raises(InvalidArgument, match="announce URL"):
        load(None, {**root, "REGISTRY_P2P_TRACKERS": "tracker.example:6969"})
    config = load(None, {**root, "REGISTRY_P2P_DISABLED": "true"})
    assert config.p2p.disabled
    app = build_app(config, access_log=False)
    try:
        with ASGIClient(app) as client:
            digest = push_blob(client, "team/app", b"z" * 100)
            r = client.get(f"/v2/team/app/_dockyard/torrent/{digest}")
            assert r.status_code == 404 and error_code(r) == "UNSUPPORTED"
    finally:
        app.registry.close()
