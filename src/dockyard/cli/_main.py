"""The ``dockyard`` command group, global options and the one place errors become exit codes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dockyard import __version__
from dockyard.cli._failure import report
from dockyard.errors import DockyardError

if TYPE_CHECKING:
    from dockyard.local import LocalStore

__all__ = ["cli", "main", "open_store"]


#: Every top-level command: the ``_cmd_*`` modules that define it (or add subcommands to it) and
#: the one line ``dockyard --help`` shows for it. A command's modules are imported only when it
#: runs, and ``--help`` lists commands from this table without importing any of them.
#: tests/cli/test_cli_command_table.py checks the modules, and tests/test_import_budget.py the lines,
#: against what the modules really register.
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "analyze": (
        ("_cmd_analyze",),
        "Layer sizes, what each layer changed, wasted space and dive's efficiency score.",
    ),
    "attest": (("_cmd_sign",), "Attach a signed in-toto attestation (DSSE) to IMAGE."),
    "audit": (("_cmd_audit",), "Read the audit log of a registry (Harbor's API)."),
    "build": (
        ("_cmd_build",),
        "Build an image from a Dockerfile and a context (a directory, or - for a tar on stdin).",
    ),
    "builder": (("_cmd_builder",), "Manage the build cache."),
    "commit": (("_cmd_container",), "Create a new image from a container's changes."),
    "container": (("_cmd_container",), "Manage containers."),
    "copy": (
        ("_cmd_client",),
        "Copy an image between registries (docker://), OCI layouts (oci:), archives (oci-archive:, docker-archive:) and the local store (a plain name).",
    ),
    "db": (("_cmd_scan",), "Manage the offline vulnerability database."),
    "delete": (
        ("_cmd_client",),
        "Delete a manifest from a registry (by tag: the manifest the tag points at).",
    ),
    "diff": (
        ("_cmd_analyze",),
        "Config and file differences between two images (added, removed, changed).",
    ),
    "digest": (("_cmd_client",), "Print the digest of the manifest or index a reference names."),
    "generate-key-pair": (
        ("_cmd_sign",),
        "Create an ECDSA P-256 key pair in cosign's encrypted format (password: $COSIGN_PASSWORD).",
    ),
    "history": (("_cmd_images",), "Show the history of an image."),
    "htpasswd": (
        ("_cmd_htpasswd",),
        "Make bcrypt htpasswd lines and files that registry:2 and Apache accept.",
    ),
    "gc": (
        ("_cmd_gc",),
        "Garbage collection of a registry (Harbor's API): run, schedule, history.",
    ),
    "image": (("_cmd_images", "_cmd_archives"), "Manage images in the local store."),
    "images": (("_cmd_images",), "List images."),
    "imagetools": (
        ("_cmd_imagetools",),
        "Work on images in a registry without pulling them (buildx's imagetools).",
    ),
    "import": (
        ("_cmd_archives",),
        "Import a root filesystem (a tarball, a directory, or - for STDIN) as an image.",
    ),
    "import-key-pair": (
        ("_cmd_sign",),
        "Import a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) as an encrypted cosign key.",
    ),
    "info": (("_cmd_system",), "Display information about dockyard and its store."),
    "inspect": (("_cmd_images",), "Return low-level information on images."),
    "lint": (
        ("_cmd_analyze",),
        "Check Dockerfiles: hadolint's rules, BuildKit's build checks, image-size advice.",
    ),
    "load": (
        ("_cmd_archives",),
        "Load images from a tar archive (docker save or OCI archive) or STDIN.",
    ),
    "login": (
        ("_cmd_client",),
        "Log in to a registry; credentials go to docker's config.json (or its credential helper).",
    ),
    "logout": (("_cmd_client",), "Forget the credentials of a registry."),
    "manifest": (
        ("_cmd_client", "_cmd_manifest_lists"),
        "Look at manifests in a registry; make, annotate and push manifest lists.",
    ),
    "project": (
        ("_cmd_project", "_cmd_immutable"),
        "Manage the projects of a registry (Harbor's API): members, roles and quotas.",
    ),
    "p2p": (
        ("_cmd_p2p",),
        "Peer-to-peer pulls: the node agent (a registry mirror) and preheating.",
    ),
    "promote": (
        ("_cmd_promote",),
        "Move TAG (e.g. prod) to the digest SRC_REF names, if every gate holds.",
    ),
    "ps": (("_cmd_container",), "List containers."),
    "pull": (
        ("_cmd_client",),
        "Pull an image (or one platform of it) from a registry into the local store.",
    ),
    "push": (("_cmd_client",), "Push an image from the local store to its registry."),
    "registry": (
        ("_cmd_registry", "_cmd_registry_migrate"),
        "Run and maintain dockyard's container registry.",
    ),
    "retention": (
        ("_cmd_retention",),
        "Tag retention policies of a registry's projects (Harbor's API).",
    ),
    "rm": (("_cmd_container",), "Remove one or more containers."),
    "rmi": (("_cmd_images",), "Remove one or more images."),
    "run": (("_cmd_container",), "Create and run a new container from an image."),
    "robot": (("_cmd_robot",), "Manage the robot accounts of a registry (Harbor's API)."),
    "save": (
        ("_cmd_archives",),
        "Save one or more images to a tar archive (streamed to STDOUT by default).",
    ),
    "sbom": (
        ("_cmd_scan",),
        "List the packages in an image, a directory, or an image archive (a software bill of materials).",
    ),
    "scan": (
        ("_cmd_scan",),
        "Report the known vulnerabilities of the packages in an image, directory or archive, from the imported database (no network).",
    ),
    "sign": (("_cmd_sign",), "Sign IMAGE (registry reference or oci:DIR[:TAG]) with a cosign key."),
    "system": (("_cmd_system",), "Manage dockyard's local store."),
    "tag": (("_cmd_images",), "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."),
    "tags": (("_cmd_client",), "List the tags of a repository."),
    "tree": (
        ("_cmd_sign",),
        "List the signatures, attestations, SBOMs and referrers attached to IMAGE.",
    ),
    "untag": (
        ("_cmd_untag",),
        "Remove tags from a registry while their manifests stay (Harbor's API).",
    ),
    "ui": (
        ("_cmd_ui",),
        "See the local store's images in a browser: layers, files, wasted bytes, comparisons.",
    ),
    "user": (("_cmd_user",), "Manage the user accounts of a registry (Harbor's API)."),
    "verify": (
        ("_cmd_sign",),
        "Verify IMAGE's signatures offline; print the verified payloads as JSON.",
    ),
    "verify-attestation": (
        ("_cmd_sign",),
        "Verify IMAGE's attestations offline; print each verified DSSE envelope.",
    ),
    "webhook": (
        ("_cmd_webhook",),
        "Webhook policies of a registry's projects (Harbor's API).",
    ),
}

#: the modules of each command (see COMMANDS)
COMMAND_MODULES: dict[str, tuple[str, ...]] = {name: mods for name, (mods, _) in COMMANDS.items()}


class _Group(click.Group):
    """Loads commands lazily (see COMMAND_MODULES); docker-style failure: ``Error: …`` on
    stderr, exit 1 for errors, 125 for usage."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, from the table for commands not loaded."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None or name in COMMANDS:
                command = click.Command(name, help=COMMANDS[name][1])
            if not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        import importlib

        for module in COMMAND_MODULES.get(cmd_name, ()):
            importlib.import_module(f"dockyard.cli.{module}")
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (DockyardError, OSError) as exc:
            sys.exit(report(exc))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-v", "--version", prog_name="dockyard")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="DOCKYARD_ROOT",
    help="Local image store (default: $DOCKYARD_ROOT, else $XDG_DATA_HOME/dockyard).",
)
@click.pass_context
def cli(ctx: click.Context, root: Path | None) -> None:
    """dockyard: build, store, push, pull, serve, sign, scan and slim container images."""
    ctx.obj = {"root": root}


def open_store(ctx: click.Context) -> LocalStore:
    """The local store for this invocation (opened once)."""
    obj = ctx.find_root().obj
    if "store" not in obj:
        from dockyard.local import LocalStore  # not at import: commands without a store skip it

        obj["store"] = LocalStore.open(obj["root"])
    store: LocalStore = obj["store"]
    return store


def register_commands() -> None:
    """Import every ``dockyard.cli._cmd_*`` module now (commands otherwise load on first use)."""
    import importlib
    import pkgutil

    import dockyard.cli as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_cmd_"):
            importlib.import_module(f"dockyard.cli.{info.name}")


_fast_exit = False


def exit_without_teardown() -> None:
    """For commands whose results are durable and printed when they return (copy, pull,
    push): :func:`main` then leaves with ``os._exit`` after flushing output, skipping the
    interpreter's teardown (freeing every object, a noticeable part of a small pull)."""
    global _fast_exit
    _fast_exit = True


def main() -> None:
    try:
        result = cli.main(prog_name="dockyard", standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        sys.exit(125)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    # without standalone mode, click returns ctx.exit()'s code instead of exiting
    code = result if isinstance(result, int) else 0
    if _fast_exit:
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
