"""dive's corner cases, on hand-made layer tars both tools read: implicit parents, duplicate
entries, hard links, directory and opaque whiteouts, and a whiteout with nothing below it."""

from __future__ import annotations

from pathlib import Path

from _infra.analyze_helpers import Member, analyze_json, load_into, run_dive, write_archive

LAYERS: list[list[Member]] = [
    [
        ("etc/", "d", b""),
        ("etc/a", "f", b"a" * 100),
        ("usr/", "d", b""),
        ("usr/bin/", "d", b""),
        ("usr/bin/tool", "f", b"t" * 5000),
        ("usr/bin/tool2", "h", "usr/bin/tool"),
        ("usr/bin/sh", "s", "tool"),
        ("var/log/x.log", "f", b"x" * 300),  # parents var/ and var/log/ are implied
    ],
    [
        ("etc/", "d", b""),
        ("etc/a", "f", b"A" * 200),
        ("etc/dup", "f", b"1" * 10),
        ("etc/dup", "f", b"2" * 20),  # the later entry wins
        ("opt/", "d", b""),
        ("opt/d/", "d", b""),
        ("opt/d/1", "f", b"1" * 1000),
        ("opt/d/2", "f", b"2" * 2000),
    ],
    [
        ("opt/", "d", b""),
        ("opt/.wh.d", "f", b""),  # a directory deleted: dive counts what was under it
        ("usr/", "d", b""),
        ("usr/bin/", "d", b""),
        ("usr/bin/.wh.tool2", "f", b""),  # a file deleted: dive counts 0
        ("usr/bin/tool", "f", b"T" * 6000),
    ],
    [
        ("etc/", "d", b""),
        ("etc/.wh.ghost", "f", b""),  # nothing below: dive stops visiting this layer here
        ("etc/b", "f", b"b" * 50),
        ("srv/", "d", b""),
        ("srv/data", "f", b"d" * 70),
    ],
    [
        ("usr/", "d", b""),
        ("usr/bin/", "d", b""),
        ("usr/bin/.wh..wh..opq", "f", b""),
        ("usr/bin/new", "f", b"n" * 70),
        ("var/.wh.log", "f", b""),  # an implied directory: not a directory to dive
        ("etc/a", "f", b"3" * 300),
    ],
]
COMMANDS = ["base", "/bin/sh -c overwrite", "/bin/sh -c delete", "/bin/sh -c ghost", "opaque"]


def test_dive_corner_cases_match(dockyard_root: Path, tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "corners.tar", "crafted/corners:1", LAYERS, COMMANDS)
    _, dive, _ = run_dive(archive, tmp_path / "dive.json")
    load_into(dockyard_root, archive)
    ours = analyze_json(dockyard_root, "crafted/corners:1")
    image = dive["image"]
    assert ours["efficiency"] == image["efficiencyScore"]  # exactly, not just to 0.1 %
    assert ours["wastedBytes"] == image["inefficientBytes"]
    assert [x["sizeBytes"] for x in ours["layers"]] == [x["sizeBytes"] for x in dive["layer"]]
    theirs = {(f["file"], f["count"], f["sizeBytes"]) for f in image["fileReference"]}
    mine = {(f["file"], f["count"], f["sizeBytes"]) for f in ours["inefficientFiles"]}
    assert mine == theirs
    assert ("/etc/a", 3, 600) in mine  # written three times
    # what dockyard itself says each layer did (a real overlay, opaque directories included)
    changes = [
        (x["added"]["files"], x["changed"]["files"], x["removed"]["files"]) for x in ours["layers"]
    ]
    assert changes == [(5, 0, 0), (3, 1, 0), (0, 1, 3), (2, 0, 0), (1, 1, 3)]
