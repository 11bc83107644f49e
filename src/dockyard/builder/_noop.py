"""The no-op rebuild answered before the command line and the builder load.

A ``dockyard build`` that finished with every step taken from the cache leaves a record keyed
by its invocation (the arguments after ``build``, the working directory, the store, and the
environment a build reads). The next identical invocation checks, with nothing but file
reads and one SQLite query, that nothing it depends on changed:

* the Dockerfile's bytes and its ``<Dockerfile>.dockerignore``;
* the build context: every entry's path, type, mode, owner, size, mtime, ctime and inode (a
  change to any file, even one ``.dockerignore`` excludes, is a miss);
* every base image name (``FROM``, ``COPY --from``, ``RUN --mount from=``) still names the
  manifest it named;
* the image is still recorded, its blobs are present, and every ``-t`` name points at it.

Then it writes ``--iidfile``, prints what the recorded run printed, and exits; anything else
(a miss, an unreadable record, an option this path does not know) leaves the decision to the
full build, which is always correct. Only plain, JSON and quiet progress are replayed.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys

TYPE_CHECKING = False  # typing, pathlib and json are not loaded on the fast path
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from typing import Any

__all__ = [
    "asked_by",
    "canonical",
    "eligible",
    "invocation",
    "progress_mode",
    "read_record",
    "record",
    "record_key",
    "serve",
    "tree_digest",
]

#: records are marshal data (no import to read them), so the interpreter's version is in it
VERSION = f"1-{sys.version_info[0]}.{sys.version_info[1]}"
RECORD_DIR = "noop"

#: options a no-op record is never made or replayed for
_NEVER = ("no_cache", "pull", "push", "outputs", "secrets", "cache_from", "cache_to", "runtime")


def _default_root(env: Mapping[str, str]) -> str:
    # the same rule as dockyard.local's default_root (not imported: that loads the store)
    if root := env.get("DOCKYARD_ROOT"):
        return root
    if data_home := env.get("XDG_DATA_HOME"):
        return os.path.join(data_home, "dockyard")
    home = env.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".local", "share", "dockyard")


def canonical(
    *,
    file: str | None,
    tags: Sequence[str],
    build_args: Sequence[str],
    target: str | None,
    platform: str | None,
    network: str,
    labels: Sequence[str],
    progress: str,
    iidfile: str | None,
    context: str,
) -> dict[str, Any]:
    """What a build invocation asks, in one form for the command line and this module."""
    return {
        "file": file,
        "tags": list(tags),
        "build_args": list(build_args),
        "target": target,
        "platform": platform,
        "network": network,
        "labels": list(labels),
        "progress": progress,
        "iidfile": iidfile,
        "context": context,
    }


def record_key(asked: dict[str, Any], store: str, cwd: str, env: Mapping[str, str]) -> str:
    """The key of an invocation: what it asks, where, and the environment a build reads."""
    relevant = sorted(
        (k, v) for k, v in env.items() if k.startswith("DOCKYARD_") or k == "SOURCE_DATE_EPOCH"
    )
    items = sorted((k, repr(v)) for k, v in asked.items())
    blob = repr([VERSION, items, cwd, os.path.abspath(store), relevant])
    return hashlib.sha256(blob.encode(errors="surrogateescape")).hexdigest()


def eligible(asked: dict[str, Any]) -> bool:
    """Whether the fast path can answer this invocation."""
    if asked["context"] == "-" or asked["file"] == "-":
        return False
    if any("=" not in a for a in asked["build_args"]):
        return False  # takes its value from the environment
    return asked["progress"] in ("plain", "json", "quiet")


def progress_mode(progress: str, quiet: bool, stderr_tty: bool) -> str:
    """``--progress`` and ``-q`` as the build uses them (auto: tty on a terminal)."""
    if quiet or progress == "quiet":
        return "quiet"
    if progress == "auto":
        return "tty" if stderr_tty else "plain"
    return progress


def asked_by(params: Mapping[str, Any], stderr_tty: bool) -> dict[str, Any] | None:
    """What build ``params`` (as :func:`dockyard.builder._argv.parse` and click give them) ask,
    or None when no record is made or replayed for them."""
    if params["debug_shell"] or any(params[name] for name in _NEVER):
        return None
    iidfile = params["iidfile"]
    asked = canonical(
        file=params["file"],
        tags=params["tags"],
        build_args=params["build_args"],
        target=params["target"],
        platform=params["platform"],
        network=params["network"],
        labels=params["labels"],
        progress=progress_mode(params["progress"], params["quiet"], stderr_tty),
        iidfile=str(iidfile) if iidfile is not None else None,
        context=params["context"],
    )
    return asked if eligible(asked) else None


def invocation(
    argv: Sequence[str], cwd: str, env: Mapping[str, str], stderr_tty: bool
) -> tuple[str, str] | None:
    """(store root, record key) of ``dockyard [--root R] build …``, or None when the fast path
    does not apply to these arguments."""
    from dockyard.builder._argv import parse

    parsed = parse(argv, env)
    if parsed is None:
        return None
    root, params = parsed
    asked = asked_by(params, stderr_tty)
    if asked is None:
        return None
    store = root if root else _default_root(env)
    return store, record_key(asked, store, cwd, env)


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


def _write_atomic(path: str, data: bytes) -> None:
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


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
    path = _path(store, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _write_atomic(path, marshal.dumps(data))


def _store_agrees(store: str, data: dict[str, Any]) -> bool:
    import sqlite3

    manifest, image_id = str(data["manifest"]), str(data["image_id"])
    for digest in (manifest, image_id):
        alg, _, hexpart = digest.partition(":")
        if not os.path.isfile(os.path.join(store, "blobs", alg, hexpart)):
            return False
    db = os.path.join(store, "dockyard.db")
    if not os.path.isfile(db):
        return False
    wanted = {name: digest for name, digest in data["bases"]}
    for tag in data["tags"]:
        wanted[tag] = manifest
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        if (
            conn.execute("SELECT 1 FROM images WHERE manifest_digest = ?", (manifest,)).fetchone()
            is None
        ):
            return False
        names = list(wanted)
        found: dict[str, str] = {}
        if names:
            marks = ",".join("?" * len(names))
            sql = f"SELECT name, target_digest FROM tags WHERE name IN ({marks})"
            found = dict(conn.execute(sql, names).fetchall())
    finally:
        conn.close()
    return found == wanted


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
    except Exception:  # an unreadable store record: the full build decides
        return None
    return data


def serve(argv: Sequence[str]) -> int | None:
    """Answer ``dockyard`` + ``argv`` from a no-op record (returns the exit code), or None."""
    found = invocation(argv, os.getcwd(), os.environ, sys.stderr.isatty())
    if found is None:
        return None
    store, key = found
    data = _check(store, key)
    if data is None:
        return None
    if data["iidfile"]:
        try:
            _write_atomic(data["iidfile"], data["image_id"].encode())
        except OSError:
            return None  # the full build says what is wrong with the path
    _mark_used(_path(store, key))
    sys.stderr.write(data["stderr"])
    sys.stdout.write(data["stdout"])
    return 0


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
