"""A small runner for GitHub composite actions and workflows, for testing ``action.yml``.

What it carries out, as GitHub's runner does: ``inputs`` with their defaults, each step's
``if:``, ``env:`` and ``run:`` (``shell: bash`` as ``bash --noprofile --norc -eo pipefail
FILE``), a fresh ``$GITHUB_OUTPUT`` file per step read back with GitHub's ``name=value`` and
``name<<DELIMITER`` syntax, ``$GITHUB_ENV`` lines carried to later steps, ``$GITHUB_PATH``
lines put in front of ``PATH`` for later steps (of the job too), the ``GITHUB_*``
variables, and the action's ``outputs``. A workflow job's ``uses: ./`` runs the composite
action of the repository; ``actions/checkout`` is a no-op (the workspace is the checkout).

The expression language is a subset: ``${{ inputs.x }}``, ``${{ steps.id.outputs.x }}``,
``${{ github.x }}``, ``${{ secrets.x }}``, ``${{ env.x }}`` and ``if:`` conditions made of
``a == 'lit'`` / ``a != 'lit'`` joined by ``&&`` and ``||`` (``&&`` binding tighter, no
parentheses). Anything else raises
:class:`UnsupportedExpression` rather than being guessed, so a test cannot pass on an
expression the runner did not understand.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ActionRun", "StepRun", "UnsupportedExpression", "run_action", "run_workflow_job"]

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_COMPARISON = re.compile(r"^([A-Za-z_][\w.-]*)\s*(==|!=)\s*'([^']*)'$")
_NAME = re.compile(r"^[A-Za-z_][\w.-]*$")


class UnsupportedExpression(Exception):
    """An expression outside the subset this runner carries out."""


@dataclass
class StepRun:
    name: str
    skipped: bool
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]
    #: directories its steps added with ``$GITHUB_PATH`` (newest first)
    paths: list[str] = field(default_factory=list)

    def step(self, name: str) -> StepRun:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)


@dataclass
class _Context:
    inputs: dict[str, str]
    github: dict[str, str]
    secrets: dict[str, str]
    env: dict[str, str]
    runner: dict[str, str] = field(default_factory=dict)
    steps: dict[str, dict[str, str]] = field(default_factory=dict)

    def lookup(self, path: str) -> str:
        if not _NAME.match(path):
            raise UnsupportedExpression(f"not a context path: {path!r}")
        head, _, rest = path.partition(".")
        if head == "steps":
            step_id, _, tail = rest.partition(".")
            kind, _, name = tail.partition(".")
            if kind != "outputs" or not name:
                raise UnsupportedExpression(f"only steps.<id>.outputs.<name>: {path!r}")
            return self.steps.get(step_id, {}).get(name, "")
        table: Mapping[str, str] | None = {
            "inputs": self.inputs,
            "github": self.github,
            "secrets": self.secrets,
            "env": self.env,
            "runner": self.runner,
        }.get(head)
        if table is None or not rest or "." in rest:
            raise UnsupportedExpression(f"unsupported context: {path!r}")
        return table.get(rest, "")

    def expand(self, value: object) -> str:
        text = "" if value is None else str(value)
        return _EXPR.sub(lambda m: self.lookup(m.group(1)), text)

    def condition(self, expression: object) -> bool:
        if expression is None:
            return True
        text = str(expression).strip()
        match = _EXPR.fullmatch(text)
        if match:
            text = match.group(1)
        if "(" in text or ")" in text:
            raise UnsupportedExpression(f"unsupported condition: {text!r}")
        return any(self._all(group) for group in text.split("||"))

    def _all(self, group: str) -> bool:
        result = True
        for term in group.split("&&"):
            comparison = _COMPARISON.match(term.strip())
            if comparison is None:
                raise UnsupportedExpression(f"unsupported condition: {term.strip()!r}")
            left, operator, literal = comparison.groups()
            equal = self.lookup(left) == literal
            result = result and (equal if operator == "==" else not equal)
        return result


def _read_outputs(path: Path) -> dict[str, str]:
    """GitHub's file command syntax: ``name=value`` or ``name<<DELIM`` … ``DELIM``."""
    outputs: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            while index < len(lines) and lines[index] != delimiter:
                value.append(lines[index])
                index += 1
            if index == len(lines):
                raise ValueError(f"{path}: {name}: no closing delimiter {delimiter!r}")
            index += 1
            outputs[name] = "\n".join(value)
        else:
            name, sep, value_text = line.partition("=")
            if not sep:
                raise ValueError(f"{path}: not name=value: {line!r}")
            outputs[name] = value_text
    return outputs


def _check_sarif(name: str, step: Mapping[str, Any], context: _Context, workspace: Path
                 ) -> StepRun:  # fmt: skip
    """GitHub's upload-sarif, short of the upload: the file it is given must be a SARIF 2.1.0
    log code scanning takes (a ``runs`` list, each with a tool driver name and results)."""
    given = context.expand(str((step.get("with") or {}).get("sarif_file", "")))
    path = workspace / given
    try:
        log = json.loads(path.read_text())
        assert log["version"] == "2.1.0", "version is not 2.1.0"
        for run in log["runs"]:
            assert run["tool"]["driver"]["name"], "a run without a tool driver name"
            assert isinstance(run["results"], list), "a run without results"
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
        return StepRun(name, False, 1, "", f"not an uploadable SARIF log: {path}: {exc}")
    return StepRun(name, False, 0, f"would upload {path}", "")


def _run_steps(
    steps: list[dict[str, Any]],
    context: _Context,
    *,
    base_env: Mapping[str, str],
    workspace: Path,
    action_path: Path,
    scratch: Path,
    input_overrides: Mapping[str, str] | None = None,
    paths: list[str] | None = None,
) -> list[StepRun]:
    """Run ``steps``; ``paths`` gathers what they add with ``$GITHUB_PATH`` (newest first)."""
    runs: list[StepRun] = []
    carried: dict[str, str] = {}
    added = paths if paths is not None else []

    def with_path(env: Mapping[str, str]) -> dict[str, str]:
        out = dict(env)
        if added:
            out["PATH"] = os.pathsep.join([*added, out.get("PATH", os.defpath)])
        return out

    for number, step in enumerate(steps):
        name = str(step.get("name") or step.get("id") or f"step {number}")
        if not context.condition(step.get("if")):
            runs.append(StepRun(name, skipped=True))
            continue
        uses = step.get("uses")
        if uses is not None:
            if str(uses).startswith("actions/checkout@"):
                runs.append(StepRun(name, skipped=True))
                continue
            if str(uses).startswith("github/codeql-action/upload-sarif@"):
                runs.append(_check_sarif(name, step, context, workspace))
                if runs[-1].returncode:
                    break
                continue
            if uses != "./":
                raise UnsupportedExpression(f"only `uses: ./` is run here, not {uses!r}")
            with_inputs = {k: context.expand(v) for k, v in (step.get("with") or {}).items()}
            with_inputs.update(input_overrides or {})
            inner = run_action(
                action_path,
                with_inputs,
                workspace=workspace,
                env=with_path({**base_env, **carried}),
                scratch=scratch / f"uses-{number}",
                github=context.github,
                runner=context.runner,
            )
            added[:0] = inner.paths
            failed = next((s for s in inner.steps if s.returncode != 0), None)
            run = StepRun(name, skipped=False, outputs=inner.outputs)
            if failed is not None:
                run.returncode, run.stdout, run.stderr = (
                    failed.returncode,
                    failed.stdout,
                    failed.stderr,
                )
            runs.append(run)
            if "id" in step:
                context.steps[str(step["id"])] = inner.outputs
            if failed is not None:
                break
            continue
        if step.get("shell", "bash") != "bash":
            raise UnsupportedExpression(f"only shell: bash, not {step.get('shell')!r}")
        scratch.mkdir(parents=True, exist_ok=True)
        script = scratch / f"step-{number}.sh"
        script.write_text(context.expand(step["run"]) + "\n")
        output_file = scratch / f"step-{number}.output"
        env_file = scratch / f"step-{number}.env"
        path_file = scratch / f"step-{number}.path"
        for empty in (output_file, env_file, path_file):
            empty.write_text("")
        env = with_path({**base_env, **carried})
        env.update({k: context.expand(v) for k, v in (step.get("env") or {}).items()})
        env.update(
            GITHUB_OUTPUT=str(output_file),
            GITHUB_ENV=str(env_file),
            GITHUB_PATH=str(path_file),
            GITHUB_ACTION_PATH=str(action_path),
            GITHUB_WORKSPACE=str(workspace),
        )
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        outputs = _read_outputs(output_file)
        carried.update(_read_outputs(env_file))
        added[:0] = reversed([p for p in path_file.read_text().splitlines() if p.strip()])
        runs.append(StepRun(name, False, done.returncode, done.stdout, done.stderr, outputs))
        if "id" in step:
            context.steps[str(step["id"])] = outputs
        if done.returncode != 0:
            break
    return runs


def run_action(
    action_path: Path,
    inputs: Mapping[str, str],
    *,
    workspace: Path,
    env: Mapping[str, str],
    scratch: Path,
    github: Mapping[str, str] | None = None,
    runner: Mapping[str, str] | None = None,
) -> ActionRun:
    """Run the composite action in ``action_path/action.yml`` with ``inputs``."""
    action = yaml.safe_load((action_path / "action.yml").read_text())
    if action["runs"]["using"] != "composite":
        raise UnsupportedExpression("only composite actions are run here")
    declared = action.get("inputs") or {}
    unknown = set(inputs) - set(declared)
    if unknown:
        raise ValueError(f"inputs the action does not declare: {sorted(unknown)}")
    values = {name: str(spec.get("default", "")) for name, spec in declared.items()}
    values.update(inputs)
    context = _Context(values, dict(github or {}), {}, dict(env), dict(runner or {}))
    paths: list[str] = []
    steps = _run_steps(
        action["runs"]["steps"],
        context,
        base_env=env,
        workspace=workspace,
        action_path=action_path,
        scratch=scratch,
        paths=paths,
    )
    outputs = {
        name: context.expand(spec.get("value", ""))
        for name, spec in (action.get("outputs") or {}).items()
    }
    return ActionRun(steps, outputs, paths)


def run_workflow_job(
    workflow: Path,
    job: str,
    *,
    action_path: Path,
    workspace: Path,
    env: Mapping[str, str],
    scratch: Path,
    github: Mapping[str, str],
    secrets: Mapping[str, str],
    runner: Mapping[str, str],
    input_overrides: Mapping[str, str] | None = None,
    env_overrides: Mapping[str, str] | None = None,
) -> ActionRun:
    """Run one job of a workflow file (its ``run`` steps and ``uses: ./`` steps, each given
    ``input_overrides`` on top of its ``with:``); ``env_overrides`` replace values of the
    workflow's ``env:``."""
    document = yaml.safe_load(workflow.read_text())
    workflow_env = {k: str(v) for k, v in (document.get("env") or {}).items()}
    workflow_env.update(env_overrides or {})
    spec = document["jobs"][job]
    context = _Context({}, dict(github), dict(secrets), {**workflow_env}, dict(runner))
    job_env = {k: context.expand(v) for k, v in (spec.get("env") or {}).items()}
    context.env.update(job_env)
    base = {**env, **workflow_env, **job_env}
    github_env = {f"GITHUB_{k.upper()}": v for k, v in github.items()}
    github_env.update({f"RUNNER_{k.upper()}": v for k, v in runner.items()})
    steps = _run_steps(
        spec["steps"],
        context,
        base_env={**base, **github_env},
        workspace=workspace,
        action_path=action_path,
        scratch=scratch,
        input_overrides=input_overrides,
    )
    return ActionRun(steps, {})


def environment_without_github() -> dict[str, str]:
    """This process's environment minus any real ``GITHUB_*``/``RUNNER_*`` variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "CI_"))}
