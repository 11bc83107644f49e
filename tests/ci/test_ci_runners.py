"""The runners the CI tests use (``tests/_infra/actions_runner.py``,
``tests/_infra/gitlab_runner.py``) follow GitHub's and GitLab's file syntax and refuse what they
do not carry out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from _infra.actions_runner import UnsupportedExpression, run_action
from _infra.gitlab_runner import UnsupportedRule, run_pipeline


def test_runner_refuses_expressions_it_does_not_know(tmp_path: Path) -> None:
    action = tmp_path / "action"
    action.mkdir()
    (action / "action.yml").write_text(
        "name: t\nruns:\n  using: composite\n  steps:\n"
        "    - if: startsWith(github.ref, 'refs/tags/')\n      shell: bash\n      run: 'true'\n"
    )
    with pytest.raises(UnsupportedExpression):
        run_action(action, {}, workspace=tmp_path, env={}, scratch=tmp_path / "s")


def test_runner_reads_github_output_heredocs(tmp_path: Path) -> None:
    action = tmp_path / "action"
    action.mkdir()
    (action / "action.yml").write_text(
        "name: t\noutputs:\n  text:\n    value: ${{ steps.s.outputs.text }}\n"
        "  one:\n    value: ${{ steps.s.outputs.one }}\n"
        "runs:\n  using: composite\n  steps:\n    - id: s\n      shell: bash\n      run: |\n"
        "        echo 'one=1' >> \"$GITHUB_OUTPUT\"\n"
        "        printf 'text<<EOF\\nline a\\nline b\\nEOF\\n' >> \"$GITHUB_OUTPUT\"\n"
    )
    run = run_action(action, {}, workspace=tmp_path, env=dict(os.environ), scratch=tmp_path / "s")
    assert run.outputs == {"text": "line a\nline b", "one": "1"}


def test_gitlab_runner_refuses_rules_it_does_not_know(tmp_path: Path) -> None:
    pipeline = tmp_path / "p.yml"
    pipeline.write_text(
        "job:\n  rules:\n    - if: $CI_COMMIT_TAG =~ /^v/\n  script:\n    - 'true'\n"
    )
    with pytest.raises(UnsupportedRule):
        run_pipeline(pipeline, project_dir=tmp_path, env={}, scratch=tmp_path / "s")
