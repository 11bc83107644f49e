"""Rules with hadolint's IDs, meanings and severities (``DLxxxx``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dockyard.analyze.lint._model import Instr, Rule
from dockyard.analyze.lint._shell import Command, Script, parse_script

__all__ = ["HADOLINT_RULES", "hadolint_findings"]

R = Rule
HADOLINT_RULES: dict[str, Rule] = {r.code: r for r in [
    R("DL3000", "error", "Use absolute WORKDIR"),
    R("DL3001", "info", "For some bash commands it makes no sense running them in a Docker "
      "container like `ssh`, `vim`, `shutdown`, `service`, `ps`, `free`, `top`, `kill`, `mount`, "
      "`ifconfig`"),
    R("DL3002", "warning", "Last USER should not be root"),
    R("DL3003", "warning", "Use WORKDIR to switch to a directory"),
    R("DL3004", "error", "Do not use sudo as it leads to unpredictable behavior. Use a tool like "
      "gosu to enforce root"),
    R("DL3006", "warning", "Always tag the version of an image explicitly"),
    R("DL3007", "warning", "Using latest is prone to errors if the image will ever update. Pin "
      "the version explicitly to a release tag"),
    R("DL3008", "warning", "Pin versions in apt get install. Instead of `apt-get install "
      "<package>` use `apt-get install <package>=<version>`"),
    R("DL3009", "info", "Delete the apt lists (/var/lib/apt/lists) after installing something"),
    R("DL3012", "error", "Multiple `HEALTHCHECK` instructions"),
    R("DL3013", "warning", "Pin versions in pip. Instead of `pip install <package>` use `pip "
      "install <package>==<version>` or `pip install --requirement <requirements file>`"),
    R("DL3014", "warning", "Use the `-y` switch to avoid manual input `apt-get -y install "
      "<package>`"),
    R("DL3015", "info", "Avoid additional packages by specifying `--no-install-recommends`"),
    R("DL3016", "warning", "Pin versions in npm. Instead of `npm install <package>` use `npm "
      "install <package>@<version>`"),
    R("DL3018", "warning", "Pin versions in apk add. Instead of `apk add <package>` use `apk add "
      "<package>=<version>`"),
    R("DL3019", "info", "Use the `--no-cache` switch to avoid the need to use `--update` and "
      "remove `/var/cache/apk/*` when done installing packages"),
    R("DL3020", "error", "Use COPY instead of ADD for files and folders"),
    R("DL3021", "error", "COPY with more than 2 arguments requires the last argument to end "
      "with /"),
    R("DL3023", "error", "COPY --from cannot reference its own FROM alias"),
    R("DL3024", "error", "FROM aliases (stage names) must be unique"),
    R("DL3025", "warning", "Use arguments JSON notation for CMD and ENTRYPOINT arguments"),
    R("DL3027", "warning", "Do not use apt as it is meant to be an end-user tool, use apt-get or "
      "apt-cache instead"),
    R("DL3042", "warning", "Avoid use of cache directory with pip. Use `pip install "
      "--no-cache-dir <package>`"),
    R("DL3045", "warning", "`COPY` to a relative destination without `WORKDIR` set."),
    R("DL3047", "info", "Avoid use of wget without progress bar. Use `wget --progress=dot:giga "
      "<url>`. Or consider using `-q` or `-nv` (shorthands for `--quiet` or `--no-verbose`)."),
    R("DL3059", "info", "Multiple consecutive `RUN` instructions. Consider consolidation."),
    R("DL3062", "warning", "Pin versions in go. Instead of `go install <package>` use `go "
      "install <package>@<version>`"),
    R("DL3064", "warning", "Potentially sensitive data should not be used in the `ARG` or `ENV` "
      "commands"),
    R("DL3065", "warning", "Setting `FROM --platform` to predefined `$TARGETPLATFORM` in is "
      "redundant as this is the default behavior"),
    R("DL3066", "info", "Non-numeric user-id may not be resolvable by host system"),
    R("DL3067", "warning", "Do not copy an entire filesystem from another stage"),
    R("DL4000", "error", "MAINTAINER is deprecated"),
    R("DL4003", "warning", "Multiple `CMD` instructions found. If you list more than one `CMD` "
      "then only the last `CMD` will take effect"),
    R("DL4004", "error", "Multiple `ENTRYPOINT` instructions found. If you list more than one "
      "`ENTRYPOINT` then only the last `ENTRYPOINT` will take effect"),
    R("DL4006", "warning", "Set the SHELL option -o pipefail before RUN with a pipe in it. If you "
      "are using /bin/sh in an alpine image or if your shell is symlinked to busybox then "
      "consider explicitly setting your SHELL to /bin/ash, or disable this check"),
]}  # fmt: skip

_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tbz2", ".tb2", ".tar.xz", ".txz",
             ".tar.lz", ".tlz", ".tar.lzma", ".tar.Z", ".tZ", ".tar.zst", ".tzst", ".gz", ".bz2",
             ".xz", ".lzma", ".Z", ".zst", ".lz")  # fmt: skip
_NONSENSE = {"ssh", "vim", "shutdown", "service", "ps", "free", "top", "kill", "mount", "ifconfig"}


@dataclass(frozen=True)
class _From:
    image: str
    tag: str | None
    digest: str | None
    alias: str | None
    platform: str | None


def parse_from(instr: Instr) -> _From:
    args = instr.node.args
    ref = args[0] if args else ""
    alias = args[2] if len(args) >= 3 and args[1].lower() == "as" else None
    platform = None
    for flag in instr.node.flags:
        if flag.startswith("--platform="):
            platform = flag.split("=", 1)[1]
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = None
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        ref, tag = ref[:colon], ref[colon + 1 :]
    return _From(ref, tag, digest, alias, platform)


def _drop_quotes(text: str) -> str:
    return text.strip("\"'")


def _runs(instr: Instr) -> Script | None:
    """The shell script of a RUN (or ONBUILD RUN)."""
    node = instr.node
    if node.keyword == "run":
        return instr.script
    if node.keyword == "onbuild" and node.sub is not None and node.sub.keyword == "run":
        return parse_script(" ".join(node.sub.args))
    return None


def _apt_packages(cmd: Command) -> list[str]:
    if not cmd.is_("apt-get", "install"):
        return []
    return [a for a in cmd.args_no_flags(("t", "target-release")) if a != "install"]


def _pip_install(cmd: Command) -> bool:
    args = list(cmd.args)
    std = cmd.name.startswith("pip") and not cmd.name.startswith("pipenv") and "install" in args
    py = cmd.name.startswith("python") and any(
        args[i : i + 3] == ["-m", "pip", "install"] for i in range(len(args))
    )
    return std or py


def _pip_unpinned(cmd: Command) -> bool:
    if not _pip_install(cmd):
        return False
    if cmd.has_flag("r", "requirement", "c", "constraint", "e", "editable"):
        return False
    args = cmd.args_no_flags(
        ("i", "index-url", "extra-index-url", "trusted-host", "f", "find-links", "t", "target",
         "prefix", "root", "platform", "python-version", "implementation", "abi", "src",
         "upgrade-strategy", "progress-bar", "c", "constraint")
    )  # fmt: skip
    pkgs = args[args.index("install") + 1 :] if "install" in args else []
    pins = ("==", ">=", "<=", "~=", "!=", ">", "<", "@")
    return any(
        not (any(p in pkg for p in pins) or pkg.endswith((".whl", ".tar.gz")) or "/" in pkg
             or pkg in (".", ".."))
        for pkg in pkgs
    )  # fmt: skip


def _npm_unpinned(cmd: Command) -> bool:
    if cmd.name != "npm" or not cmd.args or cmd.args[0] not in ("install", "i", "add"):
        return False
    pkgs = [a for a in cmd.args_no_flags() if a not in ("install", "i", "add")]
    for pkg in pkgs:
        if pkg.startswith(("git", "http", "file:", ".", "/")) or pkg.endswith(".tgz"):
            continue
        body = pkg[1:] if pkg.startswith("@") else pkg
        if "@" not in body:
            return True
    return False


_SENSITIVE = frozenset(
    [
        "ACCESS_TOKEN",
        "APPLICATION_KEY",
        "APP_SECRET",
        "AUTH_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "BITTREX_API_KEY",
        "BITTREX_API_SECRET",
        "CF_PASSWORD",
        "CF_USERNAME",
        "CIRCLE_TOKEN",
        "CI_DEPLOY_PASSWORD",
        "CI_DEPLOY_USER",
        "DOCKERHUB_PASSWORD",
        "DOCKER_EMAIL",
        "DOCKER_PASSWORD",
        "DOCKER_USERNAME",
        "FACEBOOK_ACCESS_TOKEN",
        "FACEBOOK_APP_ID",
        "FACEBOOK_APP_SECRET",
        "FIREBASE_API_TOKEN",
        "FIREBASE_TOKEN",
        "FOSSA_API_KEY",
        "GH_ENTERPRISE_TOKEN",
        "GH_TOKEN",
        "GITHUB_ENTERPRISE_TOKEN",
        "GITHUB_TOKEN",
        "HEROKU_API_KEY",
        "HEROKU_API_USER",
        "NPM_AUTH_TOKEN",
        "NPM_TOKEN",
        "OKTA_AUTHN_GROUPID",
        "OKTA_CLIENT_ORGURL",
        "OKTA_CLIENT_TOKEN",
        "OKTA_OAUTH2_CLIENTID",
        "OKTA_OAUTH2_CLIENTSECRET",
        "OPENAI_API_KEY",
        "OS_PASSWORD",
        "OS_USERNAME",
        "POSTGRES_PASSWORD",
        "SLACK_TOKEN",
        "STRIPE_API_KEY",
        "STRIPE_DEVICE_NAME",
        "TRAVIS_OS_NAME",
        "TRAVIS_SECURE_ENV_VARS",
        "TRAVIS_SUDO",
        "VAULT_CLIENT_KEY",
        "VAULT_TOKEN",
    ]
)
_SUSPICIOUS = ("api_key", "client_key", "password", "private", "secret", "token", "username")


def _sensitive(name: str) -> bool:
    lower = name.lower()
    return name.upper() in _SENSITIVE or any(s in lower for s in _SUSPICIOUS)


def _dl3064(instrs: list[Instr]) -> Iterator[tuple[int, str]]:
    for instr in instrs:
        node = instr.node
        if node.keyword == "arg":
            names = [a.split("=", 1)[0] for a in node.args]
        elif node.keyword == "env":
            names = [node.args[i] for i in range(0, len(node.args), 3)]
        else:
            continue
        if any(_sensitive(n) for n in names):
            yield instr.line, "DL3064"


def _go_packages(cmds: tuple[Command, ...]) -> list[str]:
    run = [
        arg
        for c in cmds
        if c.is_("go", "run")
        for index, arg in enumerate(c.args_no_flags())
        if arg != "run" and index <= 1  # the rest are the program's arguments
    ]
    if run:
        return run
    return [
        arg
        for c in cmds
        if c.is_("go", "install", "get")
        for arg in c.args_no_flags()
        if arg not in ("install", "get", "tool")
    ]


def _go_pinned(package: str) -> bool:
    local = package == "." or package.startswith(("/", "."))
    return local or ("@" in package and not package.endswith(("@latest", "@none")))


Check = Callable[[list[Instr]], Iterator[tuple[int, str]]]


def _simple(instrs: list[Instr]) -> Iterator[tuple[int, str]]:
    healthchecks: dict[int, int] = {}
    cmds: dict[int, int] = {}
    entrypoints: dict[int, int] = {}
    aliases: set[str] = set()
    stage_alias: str | None = None
    for instr in instrs:
        node, line = instr.node, instr.line
        kw = node.keyword
        if kw == "from":
            f = parse_from(instr)
            if (
                f.image != "scratch"
                and f.digest is None
                and f.tag is None
                and not f.image.startswith("$")
                and f.image not in aliases
            ):
                yield line, "DL3006"
            if f.tag == "latest" and f.digest is None:
                yield line, "DL3007"
            if f.alias is not None:
                if f.alias in aliases:
                    yield line, "DL3024"
                aliases.add(f.alias)
            if f.platform in ("$TARGETPLATFORM", "${TARGETPLATFORM}"):
                yield line, "DL3065"
            stage_alias = f.alias
        elif kw == "workdir":
            path = _drop_quotes(node.args[0] if node.args else "")
            if not (path.startswith(("$", "/")) or (len(path) > 1 and path[0].isalpha()
                                                       and path[1] == ":")):  # fmt: skip
                yield line, "DL3000"
        elif kw == "maintainer":
            yield line, "DL4000"
        elif kw in ("cmd", "entrypoint") and not node.json:
            yield line, "DL3025"
        elif kw == "healthcheck":
            if node.args and node.args[0].upper() == "CMD" and not node.json:
                yield line, "DL3025"
            healthchecks[instr.stage] = healthchecks.get(instr.stage, 0) + 1
            if healthchecks[instr.stage] > 1:
                yield line, "DL3012"
        elif kw == "add":
            srcs = node.args[:-1]
            if not all(_drop_quotes(s).endswith(_ARCHIVES) or _drop_quotes(s).startswith(
                    ("http://", "https://")) for s in srcs):  # fmt: skip
                yield line, "DL3020"
        if (
            kw in ("copy", "add")
            and len(node.args) > 2
            and not node.json
            and not _drop_quotes(node.args[-1]).endswith("/")
        ):
            yield line, "DL3021"
        if kw == "copy":
            source = next((f.split("=", 1)[1] for f in node.flags if f.startswith("--from=")), None)
            if source is not None and stage_alias is not None and source == stage_alias:
                yield line, "DL3023"
            if source is not None and node.args:
                srcs = [_drop_quotes(s) for s in node.args[:-1]]
                if "/" in srcs and _drop_quotes(node.args[-1]) == "/":
                    yield line, "DL3067"
        if kw == "cmd":
            cmds[instr.stage] = cmds.get(instr.stage, 0) + 1
            if cmds[instr.stage] > 1:
                yield line, "DL4003"
        if kw == "entrypoint":
            entrypoints[instr.stage] = entrypoints.get(instr.stage, 0) + 1
            if entrypoints[instr.stage] > 1:
                yield line, "DL4004"


def _shell_rules(instrs: list[Instr]) -> Iterator[tuple[int, str]]:
    for instr in instrs:
        script = _runs(instr)
        if script is None:
            continue
        line = instr.line
        cmds = script.commands
        if script.using("cd"):
            yield line, "DL3003"
        if script.using("sudo"):
            yield line, "DL3004"
        if any(c.name in _NONSENSE for c in cmds):
            yield line, "DL3001"
        if not all(
            "=" in p or "/" in p or p.endswith(".deb") for c in cmds for p in _apt_packages(c)
        ):
            yield line, "DL3008"
        if any(_pip_unpinned(c) for c in cmds):
            yield line, "DL3013"
        if any(
            c.is_("apt-get", "install")
            and not (c.has_flag("y", "yes", "assume-yes") or (c.has_flag("q") and
                     c.flags.count("q") >= 2))
            for c in cmds
        ):  # fmt: skip
            yield line, "DL3014"
        if any(
            c.is_("apt-get", "install")
            and not (c.has_flag("no-install-recommends")
                     or c.has_arg("APT::Install-Recommends=false"))
            for c in cmds
        ):  # fmt: skip
            yield line, "DL3015"
        if any(_npm_unpinned(c) for c in cmds):
            yield line, "DL3016"
        apk = [
            a
            for c in cmds
            if c.is_("apk", "add")
            for a in c.args_no_flags(("t", "virtual", "repository", "X"))
            if a != "add"
        ]
        if not all(any(s in p for s in "=~><") or p.endswith(".apk") for p in apk):
            yield line, "DL3018"
        mounts = " ".join(instr.node.flags)
        if "/var/cache/apk" not in mounts and any(
            c.is_("apk", "add") and not c.has_flag("no-cache") for c in cmds
        ):
            yield line, "DL3019"
        if script.using("apt"):
            yield line, "DL3027"
        if not all(_go_pinned(p) for p in _go_packages(cmds)):
            yield line, "DL3062"
        if any(
            _pip_install(c) and not c.has_flag("no-cache-dir")
            and not any(a.startswith("--no-cache-dir") for a in c.args)
            for c in cmds
        ):  # fmt: skip
            yield line, "DL3042"
        if any(
            c.name == "wget"
            and not c.has_flag("progress", "q", "quiet", "o", "output-file", "a", "append-output",
                               "no-verbose")
            and not c.has_arg("-nv")
            for c in cmds
        ):  # fmt: skip
            yield line, "DL3047"


def _last_user(instrs: list[Instr]) -> Iterator[tuple[int, str]]:
    if not instrs:
        return
    last_stage = instrs[-1].stage
    last: Instr | None = None
    for instr in instrs:
        if instr.stage == last_stage and instr.keyword == "user":
            last = instr
    if last is not None:
        user = (last.node.args[0] if last.node.args else "").split(":", 1)[0]
        if user in ("root", "0"):
            yield last.line, "DL3002"


def _dl3066(instrs: list[Instr]) -> Iterator[tuple[int, str]]:
    args: set[str] = set()
    for instr in instrs:
        node = instr.node
        if node.keyword == "arg":
            for a in node.args:
                args.add(a.split("=", 1)[0])
        elif node.keyword == "user":
            user = node.args[0] if node.args else ""
            uid = user.split(":", 1)[0]
            if uid.isdigit():
                continue
            if any(f"${{{a}}}" in user or f"${a}" in user for a in args):
                continue
            yield instr.line, "DL3066"


def _dl3045(instrs: list[Instr]) -> Iterator[tuple[int, str]]:
    workdir_set: dict[str | None, bool] = {}
    current: str | None = None
    for instr in instrs:
        node = instr.node
        if node.keyword == "from":
            f = parse_from(instr)
            name = f.alias if f.alias is not None else f.image
            workdir_set[name] = workdir_set.get(f.image, False)
            current = name
        elif node.keyword == "workdir":
            workdir_set[current] = True
        elif node.keyword == "copy" and node.args:
            if workdir_set.get(current, False):
                continue
            dest = _drop_quotes(node.args[-1])
            if dest.startswith(("/", "$")) or (len(dest) > 1 and dest[0].isalpha()
                                               and dest[1] == ":"):  # fmt: skip
                continue
            yield instr.line, "DL3045"


def _dl3059(instrs: list[Instr]) -> Iterator[tuple[int, str]]:
    previous: tuple[tuple[str, ...], int] | None = None
    for instr in instrs:
        node = instr.node
        if node.keyword != "run":
            previous = None
            continue
        # hadolint (through ShellCheck's AST) counts each simple command twice, so "more
        # than two commands" means more than one here
        count = 2 * len(instr.script.commands)
        flags = tuple(node.flags)
        if previous is None or previous[0] != flags or count > 2 or previous[1] > 2:
            previous = (flags, count)
            continue
        yield instr.line, "DL3059"


def _dl3009(instrs: list[Instr]) -> Iterator[tuple[int, str]]:
    forgot: list[tuple[int, int]] = []  # (line, stage)
    stage_names: dict[int, str | None] = {}
    bases: list[str] = []
    for instr in instrs:
        node = instr.node
        if node.keyword == "from":
            f = parse_from(instr)
            stage_names[instr.stage] = f.alias
            bases.append(f.image)
            continue
        script = _runs(instr) if node.keyword == "run" else None
        if script is None:
            continue
        cmds = script.commands
        update = any(
            c.is_("apt", "update") or c.is_("apt-get", "update") or c.is_("aptitude", "update")
            for c in cmds
        )
        cleanup = any(c.is_("rm", "-rf", "/var/lib/apt/lists/*") for c in cmds)
        if not (update and not cleanup):
            continue
        mounts = " ".join(node.flags)
        if "/var/lib/apt/lists" in mounts or (
            "/var/lib/apt" in mounts and "/var/cache/apt" in mounts
        ):
            continue
        forgot.append((instr.line, instr.stage))
    last_stage = max(stage_names) if stage_names else 0
    for line, stage in forgot:
        name = stage_names.get(stage)
        if stage == last_stage or (name is not None and name in bases):
            yield line, "DL3009"


def _dl4006(instrs: list[Instr]) -> Iterator[tuple[int, str]]:
    pipefail = False
    for instr in instrs:
        node = instr.node
        if node.keyword == "from":
            pipefail = False
        elif node.keyword == "shell":
            text = " ".join(node.args)
            if text.startswith(("pwsh", "powershell", "cmd")):
                pipefail = True
            else:
                pipefail = any(
                    c.name.rsplit("/", 1)[-1] in ("bash", "zsh", "ash")
                    and c.has_flag("o")
                    and "pipefail" in c.args
                    for c in parse_script(text).commands
                )
        elif node.keyword == "run" and not pipefail and instr.script.has_pipes:
            yield instr.line, "DL4006"


CHECKS: tuple[Check, ...] = (
    _simple, _shell_rules, _last_user, _dl3064, _dl3066, _dl3045, _dl3059, _dl3009, _dl4006,
)  # fmt: skip


def hadolint_findings(instrs: list[Instr]) -> list[tuple[int, str]]:
    """(line, code) for every DL rule that fails."""
    out: list[tuple[int, str]] = []
    for check in CHECKS:
        out.extend(check(instrs))
    return out
