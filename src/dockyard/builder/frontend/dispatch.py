"""Dispatch: expand each instruction of a stage, apply its image-config effect, and say what
the solver must run — exactly as BuildKit's dockerfile2llb does (history strings included)."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from dockyard.builder.frontend.stages import PROXY_ARGS, BuildGraph, Stage
from dockyard.builder.frontend.steps import (
    CopyStep,
    MetaStep,
    MkdirStep,
    RunStep,
    StageState,
    Step,
)
from dockyard.dockerfile import (
    check_signal,
    convert,
    format_duration,
    parse,
    parse_port_specs,
    quote_list,
    quote_rune,
)
from dockyard.dockerfile.chmod import check_chmod
from dockyard.dockerfile.document import Dockerfile
from dockyard.dockerfile.errors import DockerfileError
from dockyard.dockerfile.instructions import Instruction
from dockyard.dockerfile.parser import parse_heredoc
from dockyard.dockerfile.shell import Lex, ShellError
from dockyard.oci.config import HistoryEntry

if TYPE_CHECKING:
    from dockyard.dockerfile.instructions.add import AddInstruction
    from dockyard.dockerfile.instructions.arg import ArgInstruction
    from dockyard.dockerfile.instructions.cmd import CmdInstruction, EntrypointInstruction
    from dockyard.dockerfile.instructions.copy import CopyInstruction
    from dockyard.dockerfile.instructions.env import EnvInstruction, LabelInstruction
    from dockyard.dockerfile.instructions.expose import ExposeInstruction
    from dockyard.dockerfile.instructions.healthcheck import HealthcheckInstruction
    from dockyard.dockerfile.instructions.maintainer import MaintainerInstruction
    from dockyard.dockerfile.instructions.onbuild import OnbuildInstruction
    from dockyard.dockerfile.instructions.run import RunInstruction
    from dockyard.dockerfile.instructions.shell import ShellInstruction
    from dockyard.dockerfile.instructions.stopsignal import StopsignalInstruction
    from dockyard.dockerfile.instructions.user import UserInstruction
    from dockyard.dockerfile.instructions.volume import VolumeInstruction
    from dockyard.dockerfile.instructions.workdir import WorkdirInstruction
    from dockyard.dockerfile.mounts import Mount

__all__ = ["NON_ENV_ARGS", "Dispatcher", "StagePlan", "dispatch_stage", "onbuild_triggers"]

HISTORY_COMMENT = "buildkit.dockerfile.v0"
NON_ENV_ARGS = frozenset(
    {"SOURCE_DATE_EPOCH", "BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"}
)


@dataclass
class StagePlan:
    """A dispatched stage: its steps in order and the resulting state (config + history)."""

    stage: Stage
    steps: list[Step]
    state: StageState

    @property
    def config(self) -> dict[str, object]:
        return self.state.config


def _history(msg: str, layer: bool, buildkit: bool = False) -> HistoryEntry:
    return HistoryEntry(
        created_by=msg + (" # buildkit" if buildkit else ""),
        comment=HISTORY_COMMENT,
        empty_layer=not layer,
    )


def onbuild_triggers(expressions: list[str], df: Dockerfile, where: Stage) -> list[Instruction]:
    """Parse the OnBuild expressions of a base image into instructions (at the FROM line)."""
    out: list[Instruction] = []
    for expr in expressions:
        try:
            nodes = parse(expr, df.name).nodes
            if len(nodes) != 1:
                raise ValueError("onbuild trigger should be a single expression")
            node = nodes[0]
            node.start_line, node.end_line = where.location.start_line, where.location.end_line
            out.append(convert(node, df.name))
        except (ValueError, ShellError, DockerfileError) as e:
            msg = e.message if isinstance(e, DockerfileError) else str(e)
            raise df.error(msg, where.location) from None
    return out


class Dispatcher:
    """Applies instructions to a :class:`StageState`, producing one :class:`Step` each."""

    def __init__(self, graph: BuildGraph, stage: Stage, state: StageState) -> None:
        self.graph = graph
        self.stage = stage
        self.state = state
        self.lex = graph.lex

    # --- expansion -----------------------------------------------------------------------

    def expand(self, word: str) -> str:
        return self.lex.process_word(word, self.state.env)

    def _expanded(self, ins: Instruction) -> Instruction:
        # by keyword (Instruction.name), not isinstance, so that only the instruction modules
        # a Dockerfile uses are loaded; the casts name the class that keyword has
        ex = self.expand
        kind = ins.name
        if kind in ("ENV", "LABEL"):
            kv = cast("EnvInstruction | LabelInstruction", ins)
            pairs = tuple(replace(p, key=ex(p.key), value=ex(p.value)) for p in kv.pairs)
            return replace(kv, pairs=pairs)
        if kind == "ADD":
            add = cast("AddInstruction", ins)
            return replace(add, **self._copy_fields(add), checksum=ex(add.checksum))
        if kind == "COPY":
            copy = cast("CopyInstruction", ins)
            return replace(copy, **self._copy_fields(copy))
        if kind == "WORKDIR":
            workdir = cast("WorkdirInstruction", ins)
            return replace(workdir, path=ex(workdir.path))
        if kind == "USER":
            user = cast("UserInstruction", ins)
            return replace(user, user=ex(user.user))
        if kind == "VOLUME":
            volume = cast("VolumeInstruction", ins)
            return replace(volume, volumes=tuple(ex(v) for v in volume.volumes))
        if kind == "STOPSIGNAL":
            stop = cast("StopsignalInstruction", ins)
            return replace(stop, signal=ex(stop.signal))
        return ins

    def _copy_fields(self, ins: CopyInstruction) -> dict[str, Any]:
        ex = self.expand
        raw = Lex(skip_process_quotes=True)
        contents = tuple(
            replace(c, data=raw.process_word(c.data, self.state.env)) if c.expand else c
            for c in ins.contents
        )
        return {
            "chown": ex(ins.chown),
            "chmod": ex(ins.chmod),
            "sources": tuple(ex(s) for s in ins.sources),
            "dest": ex(ins.dest),
            "contents": contents,
        }

    # --- dispatch ------------------------------------------------------------------------

    def dispatch(self, ins: Instruction, on_build: bool = False) -> Step:
        try:
            step = self._dispatch(ins)
        except (ValueError, ShellError) as e:
            raise self.graph.dockerfile.error(str(e), ins.location) from None
        self.state.history.append(step.history)
        return replace(step, on_build=True) if on_build else step

    def _dispatch(self, instruction: Instruction) -> Step:
        st = self.state
        cfg = st.config
        kind = instruction.name  # the keyword, see _expanded
        if kind == "ARG":
            return self._arg(cast("ArgInstruction", instruction))
        ins = self._expanded(instruction)
        if kind == "ENV":
            ins = cast("EnvInstruction", ins)
            for p in ins.pairs:
                st.set_env(p.key, p.value)
            msg = "ENV" + "".join(f" {p}" for p in ins.pairs)
            return MetaStep(instruction=ins, history=_history(msg, False))
        if kind == "LABEL":
            ins = cast("LabelInstruction", ins)
            labels = dict(cfg.get("Labels") or {})
            for p in ins.pairs:
                labels[p.key] = p.value
            cfg["Labels"] = labels
            msg = "LABEL" + "".join(f" {p}" for p in ins.pairs)
            return MetaStep(instruction=ins, history=_history(msg, False))
        if kind == "MAINTAINER":
            ins = cast("MaintainerInstruction", ins)
            st.author = ins.maintainer
            return MetaStep(
                instruction=ins, history=_history(f"MAINTAINER {ins.maintainer}", False)
            )
        if kind == "USER":
            ins = cast("UserInstruction", ins)
            cfg["User"] = ins.user
            return MetaStep(instruction=ins, history=_history(f"USER {ins.user}", False))
        if kind == "WORKDIR":
            ins = cast("WorkdirInstruction", ins)
            if not ins.path:
                raise ValueError("cannot normalize empty path")
            wd = ins.path
            if not wd.startswith("/"):
                wd = posixpath.join("/", st.workdir, wd)
            wd = posixpath.normpath(wd)
            wd = "/" if wd == "//" else wd
            cfg["WorkingDir"] = wd
            st.workdir = wd
            hist = _history(f"WORKDIR {wd}", wd != "/")
            if wd == "/":
                return MetaStep(instruction=ins, history=hist)
            return MkdirStep(instruction=ins, history=hist, path=wd, user=cfg.get("User") or "")
        if kind == "CMD":
            ins = cast("CmdInstruction", ins)
            args = list(ins.cmd)
            if ins.prepend_shell:
                args = st.with_shell(args)
            cfg["Cmd"] = args
            cfg["ArgsEscaped"] = True
            st.cmd_set = True
            return MetaStep(instruction=ins, history=_history(f"CMD {quote_list(args)}", False))
        if kind == "ENTRYPOINT":
            ins = cast("EntrypointInstruction", ins)
            args = list(ins.cmd)
            if ins.prepend_shell:
                args = st.with_shell(args)
            cfg["Entrypoint"] = args
            if not st.cmd_set:
                cfg.pop("Cmd", None)
            msg = f"ENTRYPOINT {quote_list(args)}"
            return MetaStep(instruction=ins, history=_history(msg, False))
        if kind == "SHELL":
            ins = cast("ShellInstruction", ins)
            cfg["Shell"] = list(ins.shell)
            msg = "SHELL [" + " ".join(ins.shell) + "]"
            return MetaStep(instruction=ins, history=_history(msg, False))
        if kind == "HEALTHCHECK":
            ins = cast("HealthcheckInstruction", ins)
            h = ins.health
            cfg["Healthcheck"] = h.to_json()
            fields = [
                quote_list(list(h.test)),
                *(
                    f'"{format_duration(d)}"'
                    for d in (h.interval, h.timeout, h.start_period, h.start_interval)
                ),
                quote_rune(h.retries),
            ]
            msg = "HEALTHCHECK &{" + " ".join(fields) + "}"
            return MetaStep(instruction=ins, history=_history(msg, False))
        if kind == "EXPOSE":
            ins = cast("ExposeInstruction", ins)
            words: list[str] = []
            for word in ins.ports:
                words += self.lex.process_words(word, st.env)
            ports = sorted(set(parse_port_specs(words)))
            exposed = dict(cfg.get("ExposedPorts") or {})
            for port in ports:
                exposed[port] = {}
            cfg["ExposedPorts"] = exposed
            msg = "EXPOSE map[" + " ".join(f"{port}:{{}}" for port in ports) + "]"
            return MetaStep(
                instruction=replace(ins, ports=tuple(words)), history=_history(msg, False)
            )
        if kind == "VOLUME":
            ins = cast("VolumeInstruction", ins)
            vols = dict(cfg.get("Volumes") or {})
            for v in ins.volumes:
                if not v:
                    raise ValueError("VOLUME specified can not be an empty string")
                vols[v] = {}
            cfg["Volumes"] = vols
            msg = "VOLUME [" + " ".join(ins.volumes) + "]"
            return MetaStep(instruction=ins, history=_history(msg, False))
        if kind == "STOPSIGNAL":
            ins = cast("StopsignalInstruction", ins)
            check_signal(ins.signal)
            cfg["StopSignal"] = ins.signal
            return MetaStep(instruction=ins, history=_history(f"STOPSIGNAL {ins.signal}", False))
        if kind == "ONBUILD":
            ins = cast("OnbuildInstruction", ins)
            cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), ins.expression]
            # BuildKit adds no history line for ONBUILD; the step keeps one, marked empty
            return MetaStep(instruction=ins, history=_history(f"ONBUILD {ins.expression}", False))
        if kind == "RUN":
            return self._run(cast("RunInstruction", ins))
        if kind in ("COPY", "ADD"):
            return self._copy(cast("CopyInstruction", ins))
        raise ValueError(f"cannot dispatch {kind}")  # pragma: no cover

    def _arg(self, ins: ArgInstruction) -> Step:
        st = self.state
        out = []
        for spec in ins.args:
            value = spec.value
            given = self.graph.build_args.get(spec.key)
            if value is None and given is None and spec.key in self.graph.global_args:
                value = self.graph.global_args[spec.key]
            elif given is not None:
                value = given
            elif value is not None:
                value = self.expand(value)
            if value is not None and spec.key not in NON_ENV_ARGS:
                st.env.pop(spec.key, None)
                st.env[spec.key] = value
            st.build_args.append((spec.key, value))
            out.append(spec.key if value is None else f"{spec.key}={value}")
        resolved = replace(
            ins,
            args=tuple(
                replace(s, value=v)
                for s, (_, v) in zip(ins.args, st.build_args[-len(ins.args) :], strict=True)
            ),
        )
        return MetaStep(instruction=resolved, history=_history("ARG " + " ".join(out), False))

    def _run_history(self, args: list[str]) -> str:
        pairs: dict[str, str] = {}
        for key, value in self.state.build_args:
            v = self.state.env.get(key, value if value is not None else "")
            pairs[key] = v
        prefix = [f"|{len(pairs)}", *(f"{k}={v}" for k, v in pairs.items())] if pairs else []
        return "RUN " + " ".join([*prefix, *args])

    def _run(self, ins: RunInstruction) -> Step:
        st = self.state
        args = list(ins.cmd)
        inline: list[tuple[str, str, int]] = []
        if ins.heredocs:
            if len(args) != 1 or not ins.prepend_shell:
                raise ValueError(f"parsing produced an invalid run command: [{' '.join(args)}]")
            first = ins.heredocs[0]
            if parse_heredoc(args[0]) is not None:
                if st.os != "windows" and first.content.startswith("#!"):
                    path = posixpath.join("/dev/pipes/", first.name)
                    inline.append((path, first.data, 0o755))
                    args = [path]
                else:
                    args = [first.data]
            else:
                full = args[0]
                for doc in ins.heredocs:
                    full += "\n" + doc.content + doc.name
                args = [full]
        if ins.prepend_shell:
            args = st.with_shell(args)
        mounts: tuple[Mount, ...] = ()
        if ins.mounts:
            from dockyard.dockerfile.mounts import parse_mount, resolve_target

            mounts = tuple(
                resolve_target(parse_mount(m, self.expand), st.workdir) for m in ins.mounts
            )
        if ins.network and ins.network not in ("default", "none", "host"):
            raise ValueError(f'unsupported network mode "{ins.network}"')
        if ins.security and ins.security not in ("sandbox", "insecure"):
            raise ValueError(f'unsupported security mode "{ins.security}"')
        env = st.env_list()
        for key, value in self.graph.args_for_run().items():
            if key not in st.env:
                env.append(f"{key}={value}")
        return RunStep(
            instruction=ins,
            history=_history(self._run_history(args), True, buildkit=True),
            argv=tuple(args),
            env=tuple(env),
            user=st.config.get("User") or "",
            workdir=st.workdir,
            mounts=mounts,
            network=ins.network,
            security=ins.security,
            inline_files=tuple(inline),
        )

    def _copy(self, ins: CopyInstruction) -> Step:
        add = ins.name == "ADD"
        if ins.chmod:
            check_chmod(ins.chmod)
        from_stage: int | None = None
        from_image: str | None = None
        if ins.from_:
            from_stage = self.graph.stage_ref(ins.from_)
            if from_stage is None:
                from_image = ins.from_
        checksum = cast("AddInstruction", ins).checksum if add else ""
        if checksum:
            if len(ins.sources) != 1:
                raise ValueError("checksum can't be specified for multiple sources")
            if not ins.sources[0].startswith(("http://", "https://")):
                raise ValueError("checksum can't be specified for non-HTTP(S) sources")
        if not add:
            for src in ins.sources:
                if src.startswith(("http://", "https://")):
                    raise ValueError("source can't be a URL for COPY")
        msg = "ADD" if add else "COPY"
        if ins.parents:
            msg += " --parents"
        if ins.chown:
            msg += " --chown=" + ins.chown
        if ins.chmod:
            msg += " --chmod=" + ins.chmod
        msg += "".join(" " + s for s in ins.sources)
        msg += "".join(" <<" + c.path for c in ins.contents)
        msg += " " + ins.dest
        extra: dict[str, object] = {}
        if add:
            extra = {
                "checksum": checksum,
                "keep_git_dir": cast("AddInstruction", ins).keep_git_dir,
                "unpack": cast("AddInstruction", ins).unpack,
            }
        return CopyStep(
            instruction=ins,
            history=_history(msg, True, buildkit=True),
            add=add,
            sources=ins.sources,
            contents=ins.contents,
            dest=dest_path(self.state.workdir, ins.dest),
            from_stage=from_stage,
            from_image=from_image,
            chown=ins.chown,
            chmod=ins.chmod,
            link=ins.link,
            parents=ins.parents,
            exclude=ins.exclude,
            workdir=self.state.workdir,
            user=self.state.config.get("User") or "",
            **extra,  # type: ignore[arg-type]
        )


def dest_path(workdir: str, dest: str) -> str:
    """A COPY destination made absolute against WORKDIR; a trailing ``/`` is kept."""
    if dest in ("", "."):
        dest = "./"
    keep_slash = dest.endswith("/") or dest.endswith("/.")
    joined = posixpath.normpath(posixpath.join(workdir or "/", dest))
    if joined.startswith("//"):
        joined = "/" + joined.lstrip("/")
    if keep_slash and joined != "/":
        joined += "/"
    return joined


def dispatch_stage(
    graph: BuildGraph,
    stage: Stage,
    base: StageState,
    *,
    on_step: Callable[[Step], None] | None = None,
) -> StagePlan:
    """Dispatch every instruction of ``stage`` on a copy of ``base``.

    ``base`` is :meth:`StageState.from_image` of the base image's config (``None`` for
    scratch) or the final state of the base stage. The base's OnBuild triggers (from the
    image, or the base stage's ONBUILD instructions) run first and are not inherited.
    """
    state = base.clone()
    state.cmd_set = False
    exprs = [*state.onbuild, *(state.config.pop("OnBuild", None) or [])]
    state.onbuild = []
    d = Dispatcher(graph, stage, state)
    steps: list[Step] = []
    triggers = onbuild_triggers(exprs, graph.dockerfile, stage) if exprs else []
    graph.add_trigger_deps(stage, triggers)
    for ins in triggers:
        steps.append(d.dispatch(ins, on_build=True))
        if on_step:
            on_step(steps[-1])
    for ins in stage.instructions:
        steps.append(d.dispatch(ins))
        if on_step:
            on_step(steps[-1])
    return StagePlan(stage, steps, state)


_ = PROXY_ARGS
