"""The Dockerfile parser and instruction model: directives, continuations, forms, heredocs,
flags and BuildKit's error messages with lines."""

from __future__ import annotations

import pytest

from dockyard.builder.frontend import DockerfileError, parse_dockerfile
from dockyard.dockerfile.instructions.add import AddInstruction
from dockyard.dockerfile.instructions.arg import ArgInstruction
from dockyard.dockerfile.instructions.cmd import CmdInstruction
from dockyard.dockerfile.instructions.copy import CopyInstruction
from dockyard.dockerfile.instructions.env import EnvInstruction, LabelInstruction
from dockyard.dockerfile.instructions.healthcheck import HealthcheckInstruction
from dockyard.dockerfile.instructions.onbuild import OnbuildInstruction
from dockyard.dockerfile.instructions.run import RunInstruction
from dockyard.dockerfile.instructions.shell import ShellInstruction
from dockyard.errors import DockerfileInvalid, InvalidArgument


def body(text: str) -> list[object]:
    return list(parse_dockerfile(text).stages[-1].instructions)


def test_directives_escape_and_syntax() -> None:
    df = parse_dockerfile("# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nRUN echo `\n  hi\n")
    assert df.directives.syntax == "docker/dockerfile:1"
    assert df.directives.escape == "`"
    (run,) = df.stages[0].instructions
    assert isinstance(run, RunInstruction)
    assert run.cmd == ("echo   hi",)


def test_directive_only_at_top_and_check() -> None:
    df = parse_dockerfile("# check=skip=all\nFROM a\n# escape=`\nRUN a \\\n b\n")
    assert df.directives.check == "skip=all"
    assert df.directives.escape == "\\"
    with pytest.raises(DockerfileError, match="only one escape parser directive"):
        parse_dockerfile("# escape=`\n# escape=\\\nFROM a\n")
    with pytest.raises(DockerfileError, match="invalid escape token"):
        parse_dockerfile("# escape=x\nFROM a\n")


def test_continuations_comments_and_empty_lines() -> None:
    df = parse_dockerfile(
        "FROM a\nRUN apt-get update && \\\n# a comment\n    apt-get install -y \\\n\n    curl\n"
    )
    (run,) = df.stages[0].instructions
    assert isinstance(run, RunInstruction)
    assert run.cmd == ("apt-get update &&     apt-get install -y     curl",)
    assert run.location.start_line == 2 and run.location.end_line == 6
    assert any("Empty continuation line" in w for w in df.warnings)


def test_case_insensitive_and_crlf_and_bom() -> None:
    (run, cmd) = body('\ufefffrom a\r\nrun echo hi\r\nCmd ["x"]\r\n')
    assert isinstance(run, RunInstruction) and run.cmd == ("echo hi",)
    assert isinstance(cmd, CmdInstruction) and cmd.cmd == ("x",) and not cmd.prepend_shell


def test_json_and_shell_forms() -> None:
    run, cmd, cmd2 = body('FROM a\nRUN ["echo", "a b"]\nCMD [\'x\']\nCMD [ "a" ] trailing\n')
    assert isinstance(run, RunInstruction) and run.cmd == ("echo", "a b")
    assert not run.prepend_shell
    assert isinstance(cmd, CmdInstruction) and cmd.cmd == ("['x']",) and cmd.prepend_shell
    assert isinstance(cmd2, CmdInstruction) and cmd2.cmd == ("a",)  # Go's decoder stops early
    with pytest.raises(DockerfileError, match="arrays must be comprised of strings only"):
        parse_dockerfile("FROM a\nCMD [1, 2]\n")


def test_env_and_label_forms() -> None:
    env, env2, label = body(
        'FROM a\nENV A=1 B="two words" C=x\\ y\nENV LEGACY some value here\nLABEL "k"="v" a=b\n'
    )
    assert isinstance(env, EnvInstruction)
    assert [(p.key, p.value) for p in env.pairs] == [
        ("A", "1"),
        ("B", '"two words"'),
        ("C", "x\\ y"),
    ]
    assert isinstance(env2, EnvInstruction)
    assert [(p.key, p.value, p.no_delim) for p in env2.pairs] == [
        ("LEGACY", "some value here", True)
    ]
    assert isinstance(label, LabelInstruction)
    assert [(p.key, p.value) for p in label.pairs] == [('"k"', '"v"'), ("a", "b")]
    with pytest.raises(DockerfileError, match="ENV must have two arguments"):
        parse_dockerfile("FROM a\nENV ONLY\n")
    with pytest.raises(DockerfileError, match="can't find = in"):
        parse_dockerfile("FROM a\nENV A=1 B\n")


def test_arg_and_meta_args() -> None:
    df = parse_dockerfile("ARG V=1\nARG W\nFROM a:$V\nARG X=2 Y\n")
    assert [a.args[0].key for a in df.meta_args] == ["V", "W"]
    (arg,) = df.stages[0].instructions
    assert isinstance(arg, ArgInstruction)
    assert [(a.key, a.value) for a in arg.args] == [("X", "2"), ("Y", None)]


def test_from_forms() -> None:
    df = parse_dockerfile("FROM --platform=$BUILDPLATFORM golang:1 AS Build\nFROM scratch\n")
    assert df.stages[0].from_.platform == "$BUILDPLATFORM"
    assert df.stages[0].name == "build"
    assert df.stages[1].from_.base_name == "scratch"
    with pytest.raises(DockerfileError, match="either one or three arguments"):
        parse_dockerfile("FROM a b\n")
    with pytest.raises(DockerfileError, match="invalid name for build stage"):
        parse_dockerfile("FROM a AS 1x\n")


def test_copy_add_flags() -> None:
    cp, add = body(
        "FROM a\nCOPY --from=build --chown=1:2 --chmod=u+x --link --parents "
        "--exclude=*.md --exclude=x a b /dst/\n"
        "ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false http://x/y /z\n"
    )
    assert isinstance(cp, CopyInstruction)
    assert (cp.from_, cp.chown, cp.chmod, cp.link, cp.parents) == (
        "build",
        "1:2",
        "u+x",
        True,
        True,
    )
    assert cp.exclude == ("*.md", "x") and cp.sources == ("a", "b") and cp.dest == "/dst/"
    assert isinstance(add, AddInstruction)
    assert (add.checksum, add.keep_git_dir, add.unpack) == ("sha256:abc", True, False)
    with pytest.raises(DockerfileError, match="unknown flag: form"):
        parse_dockerfile("FROM a\nCOPY --form=x a b\n")
    with pytest.raises(DockerfileError, match="missing a value on flag: from"):
        parse_dockerfile("FROM a\nCOPY --from a b\n")
    with pytest.raises(DockerfileError, match="duplicate flag specified: chown"):
        parse_dockerfile("FROM a\nCOPY --chown=a --chown=b a b\n")
    with pytest.raises(DockerfileError, match="COPY requires at least two arguments"):
        parse_dockerfile("FROM a\nCOPY a\n")
    with pytest.raises(DockerfileError, match="unknown flag: keep-git-dir"):
        parse_dockerfile("FROM a\nCOPY --keep-git-dir a b\n")


def test_run_flags_and_heredocs() -> None:
    (run,) = body(
        "FROM a\nRUN --mount=type=cache,target=/c --network=none <<EOF\nset -e\necho $X\nEOF\n"
    )
    assert isinstance(run, RunInstruction)
    assert run.mounts == ("type=cache,target=/c",) and run.network == "none"
    assert run.cmd == ("<<EOF",)
    (doc,) = run.heredocs
    assert (doc.name, doc.content, doc.expand) == ("EOF", "set -e\necho $X\n", True)


def test_heredoc_variants() -> None:
    cp, run = body(
        'FROM a\nCOPY <<-"EOT" <<B /dst/\n\tindented $X\n\tEOT\nplain\nB\n'
        "RUN <<A cat > /a && <<B cat > /b\na\nA\nb\nB\n"
    )
    assert isinstance(cp, CopyInstruction)
    assert [(c.path, c.data, c.expand) for c in cp.contents] == [
        ("EOT", "indented $X\n", False),
        ("B", "plain\n", True),
    ]
    assert isinstance(run, RunInstruction) and [d.name for d in run.heredocs] == ["A", "B"]
    with pytest.raises(DockerfileError, match="unterminated heredoc"):
        parse_dockerfile("FROM a\nRUN <<EOF\nnever ends\n")
    # JSON form never takes heredocs
    (jrun,) = body('FROM a\nRUN ["cat", "<<EOF"]\n')
    assert isinstance(jrun, RunInstruction) and jrun.heredocs == ()


def test_healthcheck_shell_onbuild() -> None:
    hc, none, sh, ob = body(
        "FROM a\nHEALTHCHECK --interval=30s --timeout=1m30s --start-period=5s --retries=3 "
        'CMD curl -f http://x/ || exit 1\nHEALTHCHECK NONE\nSHELL ["/bin/bash", "-c"]\n'
        "ONBUILD RUN echo hi\n"
    )
    assert isinstance(hc, HealthcheckInstruction)
    assert hc.health.test == ("CMD-SHELL", "curl -f http://x/ || exit 1")
    assert (hc.health.interval, hc.health.timeout, hc.health.retries) == (
        30_000_000_000,
        90_000_000_000,
        3,
    )
    assert isinstance(none, HealthcheckInstruction) and none.health.test == ("NONE",)
    assert isinstance(sh, ShellInstruction) and sh.shell == ("/bin/bash", "-c")
    assert isinstance(ob, OnbuildInstruction) and ob.expression == "RUN echo hi"
    assert isinstance(ob.trigger, RunInstruction)
    with pytest.raises(DockerfileError, match="SHELL requires the arguments to be in JSON form"):
        parse_dockerfile("FROM a\nSHELL /bin/bash -c\n")
    with pytest.raises(DockerfileError, match="Chaining ONBUILD"):
        parse_dockerfile("FROM a\nONBUILD ONBUILD RUN x\n")
    with pytest.raises(DockerfileError, match="isn't allowed as an ONBUILD trigger"):
        parse_dockerfile("FROM a\nONBUILD FROM b\n")
    with pytest.raises(DockerfileError, match="unknown type"):
        parse_dockerfile("FROM a\nHEALTHCHECK FOO x\n")
    with pytest.raises(DockerfileError, match="cannot be less than 1ms"):
        parse_dockerfile("FROM a\nHEALTHCHECK --interval=1ns CMD x\n")


def test_error_points_at_file_and_line() -> None:
    text = "FROM busybox\nRUN echo 1\n\nRUN echo 3\nRUNN echo\nRUN echo 6\nRUN echo 7\n"
    with pytest.raises(DockerfileError) as err:
        parse_dockerfile(text, "Dockerfile")
    e = err.value
    assert isinstance(e, DockerfileInvalid) and isinstance(e, InvalidArgument)
    assert (e.file, e.start_line) == ("Dockerfile", 5)
    assert str(e) == (
        "Dockerfile:5\n"
        "--------------------\n"
        "   3 |     \n"
        "   4 |     RUN echo 3\n"
        "   5 | >>> RUNN echo\n"
        "   6 |     RUN echo 6\n"
        "   7 |     RUN echo 7\n"
        "--------------------\n"
        "error: dockerfile parse error on line 5: unknown instruction: RUNN (did you mean run?)"
    )


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 0, "the Dockerfile cannot be empty"),
        ("# only a comment\n", 0, "contains no stages"),
        ("RUN x\n", 1, "no build stage in current context"),
        ("FROM a\nWORKDIR\n", 2, "WORKDIR requires exactly one argument"),
        ("FROM a\nEXPOSE\n", 2, "EXPOSE requires at least one argument"),
        ("FROM a\nUSER\n", 2, "USER requires exactly one argument"),
        ("FROM a\nLABEL\n", 2, "LABEL requires at least one argument"),
        ("FROM a\nENV =x\n", 2, "ENV names can not be blank"),
        ("FROM a\nCOPY a <<EOF\nx\nEOF\n", 2, "cannot accept a heredoc as a destination"),
        ("FROM a\nCMD --foo x\n", 2, "unknown flag: foo"),
        ("FROM a\nHEALTHCHECK --retries=-1 CMD x\n", 2, "--retries cannot be negative"),
    ],
)
def test_malformed(text: str, line: int, message: str) -> None:
    with pytest.raises(DockerfileError, match=message.replace("(", r"\(")) as err:
        parse_dockerfile(text)
    assert err.value.start_line == line
