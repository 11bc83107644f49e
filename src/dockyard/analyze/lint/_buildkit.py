"""BuildKit's build checks (``docker build --check``), by their names, and dockyard's own
image-size rules (``DYxxx``)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from dockyard.analyze.lint._hadolint import parse_from
from dockyard.analyze.lint._model import Instr, Rule

__all__ = ["BUILDKIT_RULES", "DOCKYARD_RULES", "buildkit_findings", "dockyard_findings"]

_BK = "https://docs.docker.com/go/dockerfile/rule/"
R = Rule
BUILDKIT_RULES: dict[str, Rule] = {r.code: r for r in [
    R("StageNameCasing", "warning", "Stage names should be lowercase",
      _BK + "stage-name-casing/"),
    R("FromAsCasing", "warning", "The 'as' keyword should match the case of the 'from' keyword",
      _BK + "from-as-casing/"),
    R("ConsistentInstructionCasing", "warning",
      "Instructions should be in consistent casing (all lower or all upper)",
      _BK + "consistent-instruction-casing/"),
    R("DuplicateStageName", "warning", "Stage names should be unique",
      _BK + "duplicate-stage-name/"),
    R("JSONArgsRecommended", "warning",
      "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to "
      "OS signals", _BK + "json-args-recommended/"),
    R("MaintainerDeprecated", "warning", "The MAINTAINER instruction is deprecated, use a label "
      "instead to define an image author", _BK + "maintainer-deprecated/"),
    R("WorkdirRelativePath", "warning", "Relative workdir without an absolute workdir declared "
      "within the build can have unexpected results if the base image changes",
      _BK + "workdir-relative-path/"),
    R("MultipleInstructionsDisallowed", "warning", "Multiple instructions of the same type "
      "should not be used in the same stage", _BK + "multiple-instructions-disallowed/"),
    R("LegacyKeyValueFormat", "warning", "\"ENV key=value\" should be used instead of legacy "
      "\"ENV key value\" format", _BK + "legacy-key-value-format/"),
    R("SecretsUsedInArgOrEnv", "warning", "Sensitive data should not be used in the ARG or ENV "
      "commands", _BK + "secrets-used-in-arg-or-env/"),
    R("RedundantTargetPlatform", "warning", "Setting platform to predefined $TARGETPLATFORM in "
      "FROM is redundant as this is the default behavior", _BK + "redundant-target-platform/"),
    R("FromPlatformFlagConstDisallowed", "warning", "FROM --platform flag should not use a "
      "constant value", _BK + "from-platform-flag-const-disallowed/"),
    R("UndefinedArgInFrom", "warning", "FROM command must use declared ARGs",
      _BK + "undefined-arg-in-from/"),
    R("ExposeProtoCasing", "warning", "Defined protocol should be in lowercase",
      _BK + "expose-proto-casing/"),
    R("ExposeInvalidFormat", "warning", "IP address and host-port mapping should not be used in "
      "EXPOSE instruction", _BK + "expose-invalid-format/"),
]}  # fmt: skip

DOCKYARD_RULES: dict[str, Rule] = {r.code: r for r in [
    R("DY001", "info", "No .dockerignore next to the Dockerfile: the whole directory is sent as "
      "build context (and `COPY .` copies .git, caches, secrets…)"),
    R("DY002", "warning", "COPY of the whole context before installing dependencies: any source "
      "change invalidates the install layer's cache; COPY the dependency manifests first, "
      "install, then COPY the rest"),
    R("DY003", "info", "The final stage EXPOSEs a port but has no HEALTHCHECK"),
]}  # fmt: skip

_SECRET = re.compile(r"(?i)(^|_)(passw(or)?d|pwd|secret|token|api_?key|private_?key|credential)")
_SECRET_OK = re.compile(r"(?i)(_file|_path|_dir|_url|_name|_user(name)?)$")
_BUILTIN_ARGS = {"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", "TARGETPLATFORM",
                 "TARGETOS", "TARGETARCH", "TARGETVARIANT", "TARGETSTAGE", "BUILDKIT_SYNTAX"}  # fmt: skip
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_INSTALL = re.compile(
    r"\b(pip3? install|python3? -m pip install|npm (install|ci)|yarn( install)?\b|pnpm install"
    r"|go mod download|bundle install|composer install|mvn [^&;]*dependency|cargo (build|fetch)"
    r"|poetry install|uv sync)"
)


def buildkit_findings(instrs: list[Instr], meta_args: set[str]) -> Iterator[tuple[int, str]]:
    casing = Counter(
        "upper" if i.node.raw_keyword.isupper() else "lower"
        for i in instrs
        if i.node.raw_keyword.isupper() or i.node.raw_keyword.islower()
    )
    majority = "upper" if casing["upper"] >= casing["lower"] else "lower"
    names: set[str] = set()
    seen: Counter[tuple[int, str]] = Counter()
    absolute_workdir = False
    for instr in instrs:
        node, line = instr.node, instr.line
        raw = node.raw_keyword
        if (
            (raw.isupper() and majority == "lower")
            or (raw.islower() and majority == "upper")
            or (not raw.isupper() and not raw.islower())
        ):
            yield line, "ConsistentInstructionCasing"
        kw = node.keyword
        if kw == "from":
            f = parse_from(instr)
            if len(node.args) >= 3:
                as_word = node.args[1]
                if (raw.isupper() and not as_word.isupper()) or (
                    raw.islower() and not as_word.islower()
                ):
                    yield line, "FromAsCasing"
                if node.args[2] != node.args[2].lower():
                    yield line, "StageNameCasing"
                if node.args[2].lower() in names:
                    yield line, "DuplicateStageName"
                names.add(node.args[2].lower())
            if f.platform is not None:
                if f.platform in ("$TARGETPLATFORM", "${TARGETPLATFORM}"):
                    yield line, "RedundantTargetPlatform"
                elif "$" not in f.platform:
                    yield line, "FromPlatformFlagConstDisallowed"
            used = set(_VAR.findall(" ".join(node.args[:1]) + " " + (f.platform or "")))
            if used - meta_args - _BUILTIN_ARGS:
                yield line, "UndefinedArgInFrom"
            absolute_workdir = False
        elif kw in ("cmd", "entrypoint") and not node.json:
            yield line, "JSONArgsRecommended"
        elif kw == "maintainer":
            yield line, "MaintainerDeprecated"
        elif kw == "workdir":
            path = node.args[0] if node.args else ""
            if path.startswith(("/", "$")):
                absolute_workdir = True
            elif not absolute_workdir:
                yield line, "WorkdirRelativePath"
        elif kw in ("env", "label"):
            triples = [node.args[i : i + 3] for i in range(0, len(node.args), 3)]
            if any(len(t) == 3 and t[2] == "" for t in triples):
                yield line, "LegacyKeyValueFormat"
        elif kw == "expose":
            for port in node.args:
                if ":" in port:
                    yield line, "ExposeInvalidFormat"
                elif "/" in port and port.split("/", 1)[1] != port.split("/", 1)[1].lower():
                    yield line, "ExposeProtoCasing"
        if kw in ("arg", "env"):
            keys = (
                [a.split("=", 1)[0] for a in node.args]
                if kw == "arg"
                else [node.args[i] for i in range(0, len(node.args), 3)]
            )
            if any(_SECRET.search(k) and not _SECRET_OK.search(k) for k in keys):
                yield line, "SecretsUsedInArgOrEnv"
        if kw in ("cmd", "entrypoint", "healthcheck"):
            seen[(instr.stage, kw)] += 1
            if seen[(instr.stage, kw)] == 2:
                yield line, "MultipleInstructionsDisallowed"


def dockyard_findings(
    instrs: list[Instr], has_dockerignore: bool | None
) -> Iterator[tuple[int, str]]:
    copies_context = [
        i
        for i in instrs
        if i.keyword in ("copy", "add")
        and not any(f.startswith("--from=") for f in i.node.flags)
        and any(s.strip("\"'") in (".", "./") for s in i.node.args[:-1])
    ]
    if has_dockerignore is False and any(
        i.keyword in ("copy", "add") and not any(f.startswith("--from=") for f in i.node.flags)
        for i in instrs
    ):
        yield 1, "DY001"
    for copy in copies_context:
        for later in instrs:
            if later.stage != copy.stage or later.line <= copy.line or later.keyword != "run":
                continue
            if _INSTALL.search(later.script.text):
                yield copy.line, "DY002"
                break
    if instrs:
        last = instrs[-1].stage
        final = [i for i in instrs if i.stage == last]
        if any(i.keyword == "expose" for i in final) and not any(
            i.keyword == "healthcheck" for i in final
        ):
            yield final[0].line, "DY003"
