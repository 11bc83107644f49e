"""The shared corpus: every parse-only Dockerfile and every numbered entry's Dockerfile parses,
resolves its stage graph and dispatches every stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.builder.frontend import (
    BuildGraph,
    CopyStep,
    DockerfileError,
    RunStep,
    StagePlan,
    StageState,
    dispatch_stage,
    parse_dockerfile,
)
from dockyard.oci.platform import Platform

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "testdata" / "dockerfiles"
# build args the upstream projects pass for these files (kaniko's test harness)
BUILD_ARGS = {"kaniko-test_scratch.Dockerfile": {"image": "scratch"}}


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    parse_only = [p for p in sorted((CORPUS / "parse-only").iterdir()) if p.suffix != ".tsv"]
    numbered = sorted(CORPUS.glob("[0-9][0-9]-*/Dockerfile"))
    return [p for p in parse_only if p.name != "README.md"] + numbered


def test_corpus_is_present() -> None:
    assert CORPUS.is_dir(), f"the Dockerfile corpus is missing: {CORPUS} (shared test data)"
    files = corpus_files()
    assert len([f for f in files if f.parent.name == "parse-only"]) >= 60
    assert len([f for f in files if f.name == "Dockerfile"]) >= 19


def dispatch_all(path: Path) -> dict[int, StagePlan]:
    df = parse_dockerfile(path.read_bytes(), path.name)
    graph = BuildGraph.create(
        df,
        build_args=BUILD_ARGS.get(path.name, {}),
        platform=Platform("linux", "amd64"),
        build_platform=Platform("linux", "amd64"),
    )
    plans: dict[int, StagePlan] = {}
    for st in graph.stages:  # every stage, not only the target's
        if st.base_stage is not None:
            base = plans[st.base_stage].state
        else:
            base = StageState.from_image(None)
        plans[st.index] = dispatch_stage(graph, st, base)
    assert graph.needed()[-1] is graph.target
    return plans


@pytest.mark.parametrize(
    "path", corpus_files() or [CORPUS], ids=lambda p: p.parent.name + "/" + p.name
)
def test_corpus_entry_parses_and_dispatches(path: Path) -> None:
    assert path.is_file(), f"the Dockerfile corpus is missing: {CORPUS}"
    plans = dispatch_all(path)
    assert plans and all(p.steps or not p.stage.instructions for p in plans.values())


def test_heredoc_entries_have_their_documented_result() -> None:
    (run_plan,) = dispatch_all(CORPUS / "17-heredoc-run" / "Dockerfile").values()
    (run,) = run_plan.steps
    script = "<<EOT bash\n  set -ex\n  apt-get update\n  apt-get install -y vim\nEOT"
    assert isinstance(run, RunStep) and run.argv == ("/bin/sh", "-c", script)
    assert run.history.created_by == f"RUN /bin/sh -c {script} # buildkit"
    (copy_plan,) = dispatch_all(CORPUS / "18-heredoc-copy" / "Dockerfile").values()
    (copy,) = copy_plan.steps
    assert isinstance(copy, CopyStep) and copy.dest == "/greeting.txt"
    assert [(c.path, c.data) for c in copy.contents] == [("EOF", "hello world\n")]
    assert copy.history.created_by == "COPY <<EOF greeting.txt # buildkit"


def test_unset_base_arg_is_a_line_numbered_error() -> None:
    path = CORPUS / "parse-only" / "kaniko-test_scratch.Dockerfile"
    df = parse_dockerfile(path.read_bytes(), path.name)
    with pytest.raises(
        DockerfileError, match=r"base name \(\$\{image\}\) should not be blank"
    ) as err:
        BuildGraph.create(df)
    assert err.value.start_line == 2 and "kaniko-test_scratch.Dockerfile:2" in str(err.value)
