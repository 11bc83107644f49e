"""``--secret``: buildx's spelling of where a build secret's value comes from.

``id=NAME,src=FILE`` (``source=`` is the same), ``id=NAME,env=VAR``, ``type=file|env``, and
``id=NAME`` alone, which takes the environment variable ``NAME`` when it is set and else the
file ``NAME``. The ID defaults to the file's base name or the variable's name; with
``type=env``, ``src=`` names the variable. As in BuildKit a secret is at most 500 KiB.

Two things are stricter than buildx, on purpose: a variable that is not set is an error (buildx
would mount an empty secret), and ``src=`` with ``env=`` is an error (buildx silently takes
the variable).

A value from the environment is held in an anonymous in-memory file (``memfd``) for the life
of the process and handed to the build as its ``/proc/self/fd`` path, so the parser never
writes it to disk; the build reads it from there like a file secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dockyard.errors import InvalidArgument, NotFound, Unsupported

__all__ = ["MAX_SECRET_SIZE", "parse_secret"]

#: BuildKit's limit on a secret's size.
MAX_SECRET_SIZE = 500 * 1024


def _fields(text: str) -> dict[str, str]:
    import csv

    try:
        parts = next(csv.reader([text]), [])
    except csv.Error as exc:
        raise InvalidArgument(f"invalid --secret {text!r}: {exc}") from None
    fields: dict[str, str] = {}
    for part in parts:
        key, eq, value = part.partition("=")
        key = key.strip().lower()
        if not eq:
            raise InvalidArgument(
                f"invalid --secret field {part!r}: must be a key=value pair",
                hint="e.g. --secret id=npm,src=.npmrc or --secret id=token,env=TOKEN",
            )
        if key == "type" and value not in ("file", "env"):
            raise InvalidArgument(f"unsupported secret type {value!r}", hint="use type=file or env")
        if key == "source":
            key = "src"
        if key not in ("type", "id", "src", "env"):
            raise InvalidArgument(
                f"unexpected key {key!r} in {part!r}",
                hint="--secret takes type=file|env, id=, src= (or source=) and env=",
            )
        fields[key] = value
    return fields


def parse_secret(text: str, environ: Mapping[str, str] | None = None) -> tuple[str, Path]:
    """``--secret``'s value → (secret ID, a file holding the value); ``environ`` is where
    ``env=`` variables are looked up (default: this process's environment)."""
    environ = os.environ if environ is None else environ
    fields = _fields(text)
    kind = fields.get("type")
    ident = fields.get("id", "")
    src = fields.get("src", "")
    env = fields.get("env", "")
    if kind == "env" and not env:
        env, src = src, ""
    if src and env:
        raise InvalidArgument(
            f"invalid --secret {text!r}: give src= (a file) or env= (a variable), not both"
        )
    if not ident:
        ident = env or (Path(src).name if src else "")
    if not ident:
        raise InvalidArgument(
            f"invalid --secret {text!r}: secret missing ID",
            hint="e.g. --secret id=npm,src=.npmrc or --secret id=token,env=TOKEN",
        )
    if not src and not env:
        if kind == "env" or (kind is None and ident in environ):
            env = ident
        elif kind is None and not os.path.lexists(os.path.expanduser(ident)):
            raise NotFound(
                f"secret {ident}: there is no environment variable {ident} and no file {ident}",
                hint=f"set {ident}, or pass --secret id={ident},src=<file> or env=<variable>",
            )
        else:
            src = ident
    if env:
        return ident, _from_env(ident, env, environ)
    return ident, _from_file(ident, src)


def _from_file(ident: str, src: str) -> Path:
    path = Path(src).expanduser()
    try:
        st = path.stat()
    except FileNotFoundError:
        raise NotFound(
            f"secret {ident}: failed to stat {src}: no such file or directory",
            hint="check the src= path of --secret",
        ) from None
    except OSError as exc:
        raise InvalidArgument(f"secret {ident}: cannot read {src}: {exc.strerror}") from None
    if not path.is_file():
        raise InvalidArgument(f"secret {ident}: {src} is not a regular file")
    if st.st_size > MAX_SECRET_SIZE:
        raise InvalidArgument(f"secret {ident} too big. max size 500KB ({src})")
    if not os.access(path, os.R_OK):
        raise InvalidArgument(f"secret {ident}: {src} is not readable")
    return path


def _from_env(ident: str, env: str, environ: Mapping[str, str]) -> Path:
    if env not in environ:
        raise NotFound(
            f"secret {ident}: environment variable {env} is not set",
            hint=f"export {env}, or pass the secret from a file with --secret id={ident},src=…",
        )
    value = os.fsencode(environ[env])
    if len(value) > MAX_SECRET_SIZE:
        raise InvalidArgument(f"secret {ident} too big. max size 500KB (variable {env})")
    create = getattr(os, "memfd_create", None)
    if create is None:
        raise Unsupported("secrets from environment variables need Linux (memfd_create)")
    fd = create(f"dockyard-secret-{ident}", os.MFD_CLOEXEC)
    view = memoryview(value)
    while view:
        view = view[os.write(fd, view) :]
    return Path(f"/proc/self/fd/{fd}")
