"""htpasswd files as registry:2 reads them: ``user:hash`` lines, bcrypt hashes only.

Lines are trimmed; blank lines and lines starting with ``#`` are skipped; the user name is what
comes before the first ``:``. Hashes other than bcrypt (``$2y$``, ``$2a$``, ``$2b$``) are kept
but never match, exactly as in registry:2 (which only speaks bcrypt); a warning names them.
Writes (add, update, delete a user) replace the file atomically under a lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from dockyard.atomicfile import write_atomic
from dockyard.errors import InvalidArgument, NotFound

__all__ = [
    "BCRYPT_PREFIXES",
    "DEFAULT_COST",
    "MAX_PASSWORD_BYTES",
    "HtpasswdFile",
    "check_password",
    "delete_user",
    "hash_password",
    "htpasswd_line",
    "is_bcrypt",
    "parse_htpasswd",
    "read_htpasswd",
    "set_user",
]

BCRYPT_PREFIXES = ("$2y$", "$2a$", "$2b$")
#: Apache htpasswd's default bcrypt cost (``-C``), which registry:2's docs use.
DEFAULT_COST = 5
MAX_PASSWORD_BYTES = 72


@dataclass(frozen=True)
class HtpasswdFile:
    entries: dict[str, str]
    #: Users whose hash is not bcrypt (registry:2 and dockyard never accept them).
    unsupported: tuple[str, ...] = ()


def is_bcrypt(hashed: str) -> bool:
    return hashed.startswith(BCRYPT_PREFIXES) and len(hashed) == 60


def parse_htpasswd(text: str, source: str = "htpasswd") -> HtpasswdFile:
    """Parse htpasswd text; a line without ``:`` is an error naming its number."""
    entries: dict[str, str] = {}
    unsupported: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user:
            raise InvalidArgument(
                f"{source}: line {number} is not USER:HASH",
                hint="fix or remove the line (make entries with `dockyard htpasswd -Bbn USER PASS`)",
            )
        entries[user] = hashed
        if not is_bcrypt(hashed):
            unsupported.append(user)
    return HtpasswdFile(entries, tuple(unsupported))


def read_htpasswd(path: Path) -> HtpasswdFile:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(
            f"htpasswd file {path} does not exist",
            hint=f"create it with `dockyard htpasswd -Bc {path} USER`",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"cannot read htpasswd file {path}: {exc}") from exc
    return parse_htpasswd(text, str(path))


def _password_bytes(password: str | bytes) -> bytes:
    return password.encode() if isinstance(password, str) else password


def hash_password(password: str | bytes, cost: int = DEFAULT_COST) -> str:
    """A bcrypt hash in Apache's spelling (``$2y$``), which registry:2 and htpasswd -v accept."""
    secret = _password_bytes(password)
    if len(secret) > MAX_PASSWORD_BYTES:
        raise InvalidArgument(
            f"the password is {len(secret)} bytes; bcrypt uses only the first 72",
            hint="choose a password of at most 72 bytes",
        )
    if b"\0" in secret:
        raise InvalidArgument("the password contains a NUL byte, which bcrypt cannot hash")
    if not 4 <= cost <= 17:
        raise InvalidArgument(f"bcrypt cost {cost} is out of range", hint="use 4 to 17 (default 5)")
    hashed = bcrypt.hashpw(secret, bcrypt.gensalt(rounds=cost, prefix=b"2b")).decode("ascii")
    return "$2y$" + hashed[4:]


def check_password(password: str | bytes, hashed: str) -> bool:
    """True when ``password`` matches the bcrypt ``hashed`` (any other scheme never matches)."""
    if not is_bcrypt(hashed):
        return False
    secret = _password_bytes(password)[:MAX_PASSWORD_BYTES]
    try:
        return bcrypt.checkpw(secret, ("$2b$" + hashed[4:]).encode("ascii"))
    except ValueError:
        return False


def htpasswd_line(user: str, password: str | bytes, cost: int = DEFAULT_COST) -> str:
    """``user:$2y$…`` (no newline)."""
    _check_user(user)
    return f"{user}:{hash_password(password, cost)}"


def _check_user(user: str) -> None:
    if not user or ":" in user or any(c in user for c in "\r\n") or user != user.strip():
        raise InvalidArgument(
            f"user name {user!r} is not allowed",
            hint="use a name without ':', line breaks or surrounding spaces",
        )
    if user.startswith("#"):
        raise InvalidArgument(f"user name {user!r} would read as a comment; do not start with #")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        raise NotFound(
            f"directory {path.parent} does not exist", hint="create it first, then the file in it"
        ) from None
    except NotADirectoryError:
        raise InvalidArgument(f"{path.parent} is not a directory") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def set_user(
    path: Path, user: str, password: str | bytes, *, cost: int = DEFAULT_COST, create: bool = False
) -> bool:
    """Add or update ``user`` in the file at ``path``; True if the user was new.

    ``create`` starts a new file (replacing any existing one, as ``htpasswd -c`` does). Other
    lines, comments included, are kept as they were.
    """
    line = htpasswd_line(user, password, cost)
    with _locked(path):
        lines = [] if create else _existing_lines(path)
        added = True
        for i, existing in enumerate(lines):
            if existing.strip().partition(":")[0] == user and not existing.startswith("#"):
                lines[i] = line
                added = False
                break
        if added:
            lines.append(line)
        _replace(path, lines)
    return added


def delete_user(path: Path, user: str) -> None:
    """Remove ``user`` from the file; NotFound if it is not there."""
    with _locked(path):
        lines = _existing_lines(path)
        kept = [x for x in lines if x.startswith("#") or x.strip().partition(":")[0] != user]
        if len(kept) == len(lines):
            raise NotFound(f"user {user!r} is not in {path}")
        _replace(path, kept)


def _existing_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(
            f"htpasswd file {path} does not exist", hint="pass -c to create it"
        ) from None
    parse_htpasswd(text, str(path))  # refuse to rewrite a file we cannot read back
    return [x for x in text.splitlines() if x.strip()]


def _replace(path: Path, lines: list[str]) -> None:
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    write_atomic(path, "".join(f"{x}\n" for x in lines).encode(), mode=mode)
