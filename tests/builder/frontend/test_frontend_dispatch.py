"""Dispatch: expansion scopes, config effects and BuildKit's history lines, step by step."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.builder.frontend import (
    BuildGraph,
    CopyStep,
    DockerfileError,
    MkdirStep,
    RunStep,
    StagePlan,
    StageState,
    dispatch_stage,
    parse_dockerfile,
)
from dockyard.builder.frontend.steps import DEFAULT_PATH
from dockyard.oci.platform import Platform

AMD64 = Platform("linux", "amd64")
BASE: dict[str, Any] = {"os": "linux", "config": {"Env": ["PATH=/bin", "HOME=/root"]}}


def plan(
    text: str, base: dict[str, Any] | None = BASE, target: str | None = None, **args: str
) -> StagePlan:
    graph = BuildGraph.create(
        parse_dockerfile(text), build_args=args, target=target, platform=AMD64, build_platform=AMD64
    )
    plans: dict[int, StagePlan] = {}
    for st in graph.needed():
        if st.base_stage is not None:
            state = plans[st.base_stage].state
        else:
            state = StageState.from_image(None if st.is_scratch else base)
        plans[st.index] = dispatch_stage(graph, st, state)
    return plans[graph.target.index]


def history(p: StagePlan) -> list[str]:
    return [s.history.created_by or "" for s in p.steps]


def test_env_expansion_and_history() -> None:
    p = plan('FROM a\nENV A=1 B=${A}x\nENV C=$A${B} D="q u" E=$HOME\nENV LEG a $A b\n')
    assert p.config["Env"] == [
        "PATH=/bin",
        "HOME=/root",
        "A=1",
        "B=x",
        "C=1x",
        "D=q u",
        "E=/root",
        "LEG=a 1 b",
    ]
    assert history(p) == ["ENV A=1 B=x", "ENV C=1x D=q u E=/root", "ENV LEG=a 1 b"]
    assert all(s.history.empty_layer for s in p.steps)


def test_scratch_gets_default_path_and_workdir() -> None:
    p = plan("FROM scratch\nENV X=1\n")
    assert p.config["Env"] == ["PATH=" + DEFAULT_PATH, "X=1"]
    assert p.config["WorkingDir"] == "/"  # BuildKit's empty image (16-jq's final stage)
    assert "WorkingDir" not in plan("FROM a\nENV X=1\n").config


def test_arg_scoping_defaults_and_build_args() -> None:
    text = (
        "ARG V=1\nARG G=glob\nFROM a:$V\nRUN echo $V\nARG V\nARG W=${V}w\nARG B=default\n"
        "ARG TARGETARCH\nRUN echo $W\n"
    )
    p = plan(text)
    assert p.steps[0].history.created_by == "RUN /bin/sh -c echo $V # buildkit"
    assert isinstance(p.steps[0], RunStep)
    assert "V=1" not in p.steps[0].env  # a global ARG is not in scope until redeclared
    assert history(p)[1:5] == ["ARG V=1", "ARG W=1w", "ARG B=default", "ARG TARGETARCH=amd64"]
    assert history(p)[5] == (
        "RUN |4 V=1 W=1w B=default TARGETARCH=amd64 /bin/sh -c echo $W # buildkit"
    )
    env: list[str] = p.state.config["Env"]
    assert not [e for e in env if e.split("=")[0] in ("V", "W", "B")]  # ARGs stay out
    p2 = plan(text, B="given", V="9")
    assert history(p2)[1:4] == ["ARG V=9", "ARG W=9w", "ARG B=given"]


def test_env_and_arg_same_name() -> None:
    p = plan("FROM a\nARG X=arg\nENV X=env\nRUN echo $X\n")
    run = p.steps[2]
    assert isinstance(run, RunStep) and "X=env" in run.env
    assert run.history.created_by == "RUN |1 X=env /bin/sh -c echo $X # buildkit"


def test_proxy_args_reach_run_but_not_history() -> None:
    p = plan("FROM a\nRUN true\n", http_proxy="http://p:3128")
    run = p.steps[0]
    assert isinstance(run, RunStep) and "http_proxy=http://p:3128" in run.env
    assert run.history.created_by == "RUN /bin/sh -c true # buildkit"


def test_cmd_entrypoint_shell() -> None:
    p = plan(
        'FROM a\nCMD echo "hi"\nENTRYPOINT ["/e"]\nSHELL ["/bin/bash", "-xc"]\nENTRYPOINT run me\n'
    )
    assert p.config["Cmd"] == ["/bin/sh", "-c", 'echo "hi"']
    assert p.config["Entrypoint"] == ["/bin/bash", "-xc", "run me"]
    assert p.config["Shell"] == ["/bin/bash", "-xc"]
    assert p.config["ArgsEscaped"] is True
    assert history(p) == [
        'CMD ["/bin/sh" "-c" "echo \\"hi\\""]',
        'ENTRYPOINT ["/e"]',
        "SHELL [/bin/bash -xc]",
        'ENTRYPOINT ["/bin/bash" "-xc" "run me"]',
    ]


def test_entrypoint_resets_inherited_cmd() -> None:
    base = {"os": "linux", "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]}}
    p = plan('FROM a\nENTRYPOINT ["/x"]\n', base=base)
    assert "Cmd" not in p.config
    p2 = plan('FROM a\nCMD ["c"]\nENTRYPOINT ["/x"]\n', base=base)
    assert p2.config["Cmd"] == ["c"]


def test_label_expose_volume_user_stopsignal_maintainer() -> None:
    p = plan(
        'FROM a\nENV P=8080 V=/data\nLABEL a=b "c d"="e f" v=$P\nLABEL old form value\n'
        'EXPOSE 80 $P/udp 7000-7001\nVOLUME ["$V", "/x"]\nVOLUME /y /z\nUSER $P:0\n'
        "STOPSIGNAL SIGKILL\nMAINTAINER Jane <j@x>\n"
    )
    c = p.config
    assert c["Labels"] == {"a": "b", "c d": "e f", "v": "8080", "old": "form value"}
    assert c["ExposedPorts"] == {"80/tcp": {}, "8080/udp": {}, "7000/tcp": {}, "7001/tcp": {}}
    assert c["Volumes"] == {"/data": {}, "/x": {}, "/y": {}, "/z": {}}
    assert c["User"] == "8080:0" and c["StopSignal"] == "SIGKILL"
    assert p.state.author == "Jane <j@x>"
    assert history(p)[1:] == [
        "LABEL a=b c d=e f v=8080",
        "LABEL old=form value",
        "EXPOSE map[7000/tcp:{} 7001/tcp:{} 80/tcp:{} 8080/udp:{}]",
        "VOLUME [/data /x]",
        "VOLUME [/y /z]",
        "USER 8080:0",
        "STOPSIGNAL SIGKILL",
        "MAINTAINER Jane <j@x>",
    ]
    with pytest.raises(DockerfileError, match="Invalid signal: SIGFOO"):
        plan("FROM a\nSTOPSIGNAL SIGFOO\n")


def test_workdir() -> None:
    p = plan("FROM a\nWORKDIR /a\nWORKDIR b/../c\nWORKDIR /\nENV D=/d\nWORKDIR $D/\n")
    assert [type(s).__name__ for s in p.steps[:3]] == ["MkdirStep", "MkdirStep", "MetaStep"]
    step = p.steps[1]
    assert isinstance(step, MkdirStep) and step.path == "/a/c"
    assert history(p) == ["WORKDIR /a", "WORKDIR /a/c", "WORKDIR /", "ENV D=/d", "WORKDIR /d"]
    assert [s.layer for s in p.steps] == [True, True, False, False, True]
    assert p.config["WorkingDir"] == "/d"


def test_healthcheck_config_and_history() -> None:
    p = plan("FROM a\nHEALTHCHECK --interval=5m --timeout=3s --retries=3 CMD curl -f x\n")
    assert p.config["Healthcheck"] == {
        "Test": ["CMD-SHELL", "curl -f x"],
        "Interval": 300_000_000_000,
        "Timeout": 3_000_000_000,
        "Retries": 3,
    }
    assert history(p) == [
        'HEALTHCHECK &{["CMD-SHELL" "curl -f x"] "5m0s" "3s" "0s" "0s" \'\\x03\'}'
    ]
    p2 = plan("FROM a\nHEALTHCHECK NONE\n")
    assert p2.config["Healthcheck"] == {"Test": ["NONE"]}


def test_copy_steps_and_history() -> None:
    p = plan(
        "FROM z\nFROM a\nWORKDIR /app\nARG OWNER=1000\nCOPY --chown=$OWNER:0 --chmod=644 a b ./\n"
        "COPY --from=0 /x y\nADD --link https://e/x.tgz /opt/\nCOPY <<EOF /etc/motd\nhi $OWNER\nEOF\n"
    )
    cp = p.steps[2]
    assert isinstance(cp, CopyStep)
    assert (cp.sources, cp.dest, cp.chown, cp.chmod) == (("a", "b"), "/app/", "1000:0", "644")
    assert cp.history.created_by == "COPY --chown=1000:0 --chmod=644 a b ./ # buildkit"
    add = p.steps[4]
    assert isinstance(add, CopyStep) and add.add and add.link and add.dest == "/opt/"
    assert add.history.created_by == "ADD https://e/x.tgz /opt/ # buildkit"
    doc = p.steps[5]
    assert isinstance(doc, CopyStep) and doc.contents[0].data == "hi 1000\n"
    assert doc.history.created_by == "COPY <<EOF /etc/motd # buildkit"


def test_copy_from_stage_and_image() -> None:
    text = "FROM a AS build\nRUN make\nFROM b\nCOPY --from=build /o /o\nCOPY --from=img:1 /p /p\n"
    p = plan(text)
    s1, s2 = p.steps
    assert isinstance(s1, CopyStep) and s1.from_stage == 0
    assert isinstance(s2, CopyStep) and s2.from_stage is None and s2.from_image == "img:1"


def test_run_heredoc_forms() -> None:
    p = plan(
        "FROM a\nRUN <<EOF\necho one\nEOF\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n"
        "RUN <<A cat >/a && <<-B cat >/b\nx\nA\n\ty\n\tB\n"
    )
    r1, r2, r3 = p.steps
    assert isinstance(r1, RunStep) and r1.argv == ("/bin/sh", "-c", "echo one\n")
    assert isinstance(r2, RunStep) and r2.argv == ("/bin/sh", "-c", "/dev/pipes/EOF")
    assert r2.inline_files == (("/dev/pipes/EOF", "#!/usr/bin/env python3\nprint(1)\n", 0o755),)
    assert isinstance(r3, RunStep)
    assert r3.argv[2] == "<<A cat >/a && <<-B cat >/b\nx\nA\n\ty\nB"


def test_run_mounts_network_security() -> None:
    p = plan(
        "FROM z\nFROM a\nWORKDIR /src\nARG C=/cache\n"
        "RUN --mount=type=cache,target=$C,sharing=locked --mount=type=secret,id=tok "
        "--mount=type=bind,from=0,source=/x --mount=type=tmpfs,target=/t,size=1m "
        "--mount=type=ssh --network=host --security=insecure true\n"
    )
    run = p.steps[2]
    assert isinstance(run, RunStep)
    cache, secret, bind, tmpfs, ssh = run.mounts
    assert (cache.type, cache.target, cache.sharing, cache.readonly) == (
        "cache",
        "/cache",
        "locked",
        False,
    )
    assert (secret.target, secret.mode, secret.readonly) == ("/run/secrets/tok", 0o400, True)
    assert (bind.from_, bind.source, bind.target) == ("0", "/x", "/src")
    assert (tmpfs.size, tmpfs.readonly) == (1024 * 1024, False)
    assert (ssh.id, ssh.mode) == ("default", 0o600)
    assert (run.network, run.security) == ("host", "insecure")
    with pytest.raises(DockerfileError, match="unsupported mount type"):
        plan("FROM a\nRUN --mount=type=nfs,target=/x true\n")
    with pytest.raises(DockerfileError, match="unsupported network mode"):
        plan("FROM a\nRUN --network=bridge true\n")


def test_onbuild_records_and_triggers_run_first() -> None:
    p = plan("FROM a\nONBUILD RUN echo hi\nONBUILD COPY . /app\n")
    assert p.config["OnBuild"] == ["RUN echo hi", "COPY . /app"]
    base = {"os": "linux", "config": {"Env": ["PATH=/bin"], "OnBuild": ["ENV T=1", "RUN echo $T"]}}
    p2 = plan("FROM a\nRUN echo after\n", base=base)
    assert [s.on_build for s in p2.steps] == [True, True, False]
    assert history(p2) == [
        "ENV T=1",
        "RUN /bin/sh -c echo $T # buildkit",
        "RUN /bin/sh -c echo after # buildkit",
    ]
    assert "OnBuild" not in p2.config


def test_stage_inherits_stage() -> None:
    p = plan("FROM a AS one\nARG X=1\nENV E=e\nFROM one\nRUN echo\n")
    run = p.steps[0]
    assert isinstance(run, RunStep) and "X=1" in run.env and "E=e" in run.env
    assert run.history.created_by == "RUN |1 X=1 /bin/sh -c echo # buildkit"
