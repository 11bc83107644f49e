"""A small runner for a GitLab CI pipeline file, for testing dockyard's template.

What it carries out, as GitLab does: ``stages`` in order (within a stage, ``needs`` first),
hidden jobs (``.name``) used through ``extends``, global and job ``variables`` (with ``$VAR``
references expanded), ``rules: - if: $VAR`` / ``$VAR == "x"`` / ``$VAR != "x"`` (a job with no
matching rule does not run), ``before_script`` + ``script`` run as one
``bash -eo pipefail`` script in the project directory, and ``artifacts: reports: dotenv``
files whose variables reach every later job. Anything else in a rule raises
:class:`UnsupportedRule`: a test cannot pass on a rule this runner did not understand.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["JobRun", "UnsupportedRule", "run_pipeline"]

_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_RULE = re.compile(r'^\$(\w+)(?:\s*(==|!=)\s*"([^"]*)")?$')
_KEYWORDS = {"stages", "variables", "include", "default", "workflow"}


class UnsupportedRule(Exception):
    """A rule outside the subset this runner carries out."""


@dataclass
class JobRun:
    name: str
    returncode: int
    stdout: str
    stderr: str


def _expand(value: object, env: Mapping[str, str]) -> str:
    return _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), str(value))


def _resolve(jobs: dict[str, Any], name: str) -> dict[str, Any]:
    job = dict(jobs[name])
    parent = job.pop("extends", None)
    if parent is None:
        return job
    base = _resolve(jobs, str(parent))
    merged = {**base, **job}
    merged["variables"] = {**(base.get("variables") or {}), **(job.get("variables") or {})}
    return merged


def _rule_allows(rules: list[dict[str, Any]] | None, env: Mapping[str, str]) -> bool:
    if rules is None:
        return True
    for rule in rules:
        condition = str(rule.get("if", "")).strip()
        match = _RULE.match(condition)
        if match is None or set(rule) - {"if"}:
            raise UnsupportedRule(f"unsupported rule: {rule!r}")
        name, operator, literal = match.groups()
        value = env.get(name, "")
        holds = value != "" if operator is None else (value == literal) == (operator == "==")
        if holds:
            return True
    return False


def _order(jobs: dict[str, dict[str, Any]], stages: list[str]) -> list[str]:
    ordered: list[str] = []
    for stage in stages:
        pending = [n for n, j in jobs.items() if j.get("stage", "test") == stage]
        while pending:
            for name in pending:
                needs = {
                    n if isinstance(n, str) else n["job"] for n in jobs[name].get("needs") or []
                }
                if not needs & set(pending):
                    ordered.append(name)
                    pending.remove(name)
                    break
            else:
                raise UnsupportedRule(f"needs form a cycle among {pending}")
    return ordered


def run_pipeline(
    pipeline: Path, *, project_dir: Path, env: Mapping[str, str], scratch: Path
) -> list[JobRun]:
    """Run every job of ``pipeline`` whose rules hold; stops at the first failing job."""
    document = yaml.safe_load(pipeline.read_text())
    stages = list(document.get("stages") or ["build", "test", "deploy"])
    global_env = {**env, "CI_PROJECT_DIR": str(project_dir)}
    for key, value in (document.get("variables") or {}).items():
        if key not in env:  # variables set for the pipeline win over the file's defaults
            global_env[key] = _expand(value, global_env)
    names = [n for n in document if n not in _KEYWORDS and not n.startswith(".")]
    jobs = {n: _resolve(document, n) for n in names}
    scratch.mkdir(parents=True, exist_ok=True)
    dotenv: dict[str, str] = {}
    runs: list[JobRun] = []
    for name in _order(jobs, stages):
        job = jobs[name]
        job_env = {**global_env, **dotenv}
        for key, value in (job.get("variables") or {}).items():
            job_env[key] = _expand(value, job_env)
        if not _rule_allows(job.get("rules"), job_env):
            continue
        lines = [*(job.get("before_script") or []), *job["script"]]
        script = scratch / f"{name}.sh"
        script.write_text("\n".join(str(line) for line in lines) + "\n")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=project_dir,
            env=job_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        runs.append(JobRun(name, done.returncode, done.stdout, done.stderr))
        if done.returncode != 0:
            break
        report = ((job.get("artifacts") or {}).get("reports") or {}).get("dotenv")
        if report:
            for line in (project_dir / _expand(report, job_env)).read_text().splitlines():
                key, sep, value = line.partition("=")
                if sep:
                    dotenv[key] = value
    return runs
