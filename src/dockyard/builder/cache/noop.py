"""The no-op rebuild answered before the command line and the builder load.

A ``dockyard build`` that finished with every step taken from the cache leaves a record keyed
by its invocation: the command line exactly as typed (every argument of ``dockyard``), the
working directory, the store, whether stderr is a terminal, and the environment a build reads.
The next identical invocation checks, with nothing but file reads and one SQLite query, that
nothing it depends on changed:

* the Dockerfile's bytes and its ``<Dockerfile>.dockerignore``;
* the build context: every entry's path, type, mode, owner, size, mtime, ctime and inode (a
  change to any file, even one ``.dockerignore`` excludes, is a miss);
* every base image name (``FROM``, ``COPY --from``, ``RUN --mount from=``) still names the
  manifest it named;
* the image is still recorded, its blobs are present, and every ``-t`` name points at it.

Then it writes ``--iidfile``, prints what the recorded run printed, and exits; anything else
(a miss, an unreadable record, a command line no record was made for) leaves the decision to
the full build, which is always correct. The command line is never parsed here: the full build
decides (:func:`replayable`, from the options click read) whether a record is made at all, and
a record only answers the same arguments. Only plain, JSON and quiet progress are replayed.
The store is read through its own light package (:mod:`dockyard.storefiles`).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys

from dockyard.storefiles import Error as DatabaseError
from dockyard.storefiles import (
    blob_file,
    db_file,
    image_recorded,
    open_read_only,
    root_dir,
    tag_targets,
)

TYPE_CHECKING = False  # typing, pathlib, json: not on the fast path (docs/architecture.md)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from typing import Any

__all__ = [
    "RECORD_DIR",
    "progress_mode",
    "read_record",
    "record",
    "record_key",
    "replayable",
    "serve",
    "store_of",
    "tree_digest",
]

#: records are marshal data (no import to read them), so the interpreter's version is in it
VERSION = f"2-{sys.version_info[0]}.{sys.version_info[1]}"
#: the records' directory, in the store's ``build/`` directory
RECORD_DIR = "noop"


def store_of(argv: Sequence[str], env: Mapping[str, str]) -> str | None:
    """The store ``dockyard`` + ``argv`` builds in, when ``argv`` is ``[--root R] build …``
    (else None): ``--root``, else the store's own default (:func:`dockyard.storefiles.root_dir`,
    which reads ``$DOCKYARD_ROOT`` as click's ``--root`` does)."""
    root: str | None = None
    i = 0
    while i < len(argv) and argv[i] != "build":
        if argv[i] == "--root" and i + 1 < len(argv):
            root = argv[i + 1]
            i += 2
        elif argv[i].startswith("--root="):
            root = argv[i][len("--root=") :]
            i += 1
        else:
            return None
    if i == len(argv) or root == "":
        return None
    return root if root is not None else root_dir(env)


def record_key(
    argv: Sequence[str], store: str, cwd: str, env: Mapping[str, str], stderr_tty: bool
) -> str:
    """The key of an invocation: the command line, where, and the environment a build reads."""
    relevant = sorted(
        (k, v) for k, v in env.items() if k.startswith("DOCKYARD_") or k == "SOURCE_DATE_EPOCH"
    )
    blob = repr([VERSION, list(argv), cwd, os.path.abspath(store), relevant, stderr_tty])
    return hashlib.sha256(blob.encode(errors="surrogateescape")).hexdigest()


#: options a no-op record is never made or replayed for
_NEVER = (
    "no_cache",
    "pull",
    "push",
    "outputs",
    "secrets",
    "cache_from",
    "cache_to",
    "runtime",
    "debug_shell",
    "debug",
)


def progress_mode(progress: str, quiet: bool, stderr_tty: bool) -> str:
    """``--progress`` and ``-q`` as the build uses them (auto: tty on a terminal)."""
    if quiet or progress == "quiet":
        return "quiet"
    if progress == "auto":
        return "tty" if stderr_tty else "plain"
    return progress


def replayable(params: Mapping[str, Any], stderr_tty: bool) -> bool:
    """Whether a build with ``params`` (the options as click gives them to the command) may
    leave a no-op record: nothing read from stdin or from the environment beyond what the key
    holds, no output but the store, and progress the record can replay."""
    if any(params.get(name) for name in _NEVER):
        return False
    if params["context"] == "-" or params["file"] == "-":
        return False
    if any("=" not in a for a in params["build_args"]):
        return False  # takes its value from the environment
    mode = progress_mode(params["progress"], params["quiet"], stderr_tty)
    return mode in ("plain", "json", "quiet")


def tree_digest(root: str) -> str:
    """A digest of the metadata of every entry under ``root`` (not following symlinks)."""
    h = hashlib.sha256()
    base = os.path.abspath(root)
    skip = len(base)
    stack = [base]
    while stack:
        top = stack.pop()
        try:
            entries = sorted(os.scandir(top), key=lambda e: e.name)
        except OSError as e:
            h.update(f"!{top[skip:]}:{e.errno}\n".encode())
            continue
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            h.update(
                f"{entry.path[skip:]}\0{st.st_mode}\0{st.st_uid}\0{st.st_gid}\0{st.st_size}\0"
                f"{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}\n".encode(
                    errors="surrogateescape"
                )
            )
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
    return h.hexdigest()


def _file_digest(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def _path(store: str, key: str) -> str:
    return os.path.join(store, "build", RECORD_DIR, key)


def record(
    store: str,
    key: str,
    *,
    context: Path,
    dockerfile: Path,
    bases: list[tuple[str, str]],
    tags: list[str],
    manifest: str,
    image_id: str,
    stderr: str,
    stdout: str,
    iidfile: Path | None,
    before: str,
    cache_keys: Sequence[str] = (),
) -> None:
    """Write the record of a build that ran no step (``before``: the context's
    :func:`tree_digest` taken before the build, so a file changed meanwhile is a miss)."""
    ignore = os.path.abspath(str(dockerfile) + ".dockerignore")
    data = {
        "version": VERSION,
        "context": os.path.abspath(context),
        "context_digest": before,
        "dockerfile": os.path.abspath(dockerfile),
        "dockerfile_digest": _file_digest(str(dockerfile)),
        "ignore": ignore,
        "ignore_digest": _file_digest(ignore),
        "bases": bases,
        "tags": tags,
        "manifest": manifest,
        "image_id": image_id,
        "stderr": stderr,
        "stdout": stdout,
        "iidfile": os.path.abspath(iidfile) if iidfile else None,
        # a hit refreshes the record's mtime: the use of these build cache records
        "cache_keys": list(cache_keys),
    }
    if tree_digest(str(context)) != before:
        return
    from dockyard.atomicfile import write_atomic

    path = _path(store, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomic(path, marshal.dumps(data), durable=False)


def _store_agrees(store: str, data: dict[str, Any]) -> bool:
    manifest, image_id = str(data["manifest"]), str(data["image_id"])
    if not all(os.path.isfile(blob_file(store, d)) for d in (manifest, image_id)):
        return False
    db = db_file(store)
    if not os.path.isfile(db):
        return False
    wanted = {name: digest for name, digest in data["bases"]}
    for tag in data["tags"]:
        wanted[tag] = manifest
    conn = open_read_only(db)
    try:
        return image_recorded(conn, manifest) and tag_targets(conn, list(wanted)) == wanted
    finally:
        conn.close()


def read_record(path: str) -> dict[str, Any] | None:
    """The no-op record at ``path``, or None when it is missing, damaged or of another version."""
    try:
        with open(path, "rb") as f:
            data = marshal.loads(f.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    return data


def _check(store: str, key: str) -> dict[str, Any] | None:
    data = read_record(_path(store, key))
    if data is None:
        return None
    if _file_digest(data["dockerfile"]) != data["dockerfile_digest"]:
        return None
    if _file_digest(data["ignore"]) != data["ignore_digest"]:
        return None
    if tree_digest(data["context"]) != data["context_digest"]:
        return None
    try:
        if not _store_agrees(store, data):
            return None
    except (OSError, DatabaseError):  # an unreadable store: the full build decides
        return None
    return data


def serve(argv: Sequence[str]) -> int | None:
    """Answer ``dockyard`` + ``argv`` from a no-op record (returns the exit code), or None."""
    store = store_of(argv, os.environ)
    if store is None:
        return None
    key = record_key(argv, store, os.getcwd(), os.environ, sys.stderr.isatty())
    data = _check(store, key)
    if data is None:
        return None
    if data["iidfile"] and not _write_iidfile(data["iidfile"], data["image_id"]):
        return None  # the full build says what is wrong with the path
    _mark_used(_path(store, key))
    sys.stderr.write(data["stderr"])
    sys.stdout.write(data["stdout"])
    return 0


def _write_iidfile(path: str, image_id: str) -> bool:
    from dockyard.atomicfile import write_atomic

    try:
        write_atomic(path, image_id.encode(), durable=False)
    except OSError:
        return False
    except BaseException as exc:
        from dockyard.errors import DockyardError

        if isinstance(exc, DockyardError):
            return False
        raise
    return True


#: how stale a record's mtime may get before a hit refreshes it (seconds)
USE_REFRESH = 60


def _mark_used(path: str) -> None:
    """Note a hit in the record's mtime (once a minute at most; ``dockyard builder prune``
    takes it as the last use of the cache records the record stands for)."""
    import time

    try:
        if time.time() - os.stat(path).st_mtime > USE_REFRESH:
            os.utime(path)
    except OSError:  # a read-only store: the time is only a hint
        pass
