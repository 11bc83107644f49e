"""The name rules of the access model: projects, users and robots, as Harbor 2.x spells them.

A project name is Harbor's: lower-case letters and digits, single ``.``, ``_`` or ``-`` between
them, 1 to 255 characters. A user name is 1 to 255 characters without control characters, ``:``
(it could not be sent as Basic credentials) or surrounding spaces, and never starts with
``robot$`` (those names belong to robot accounts). A robot's own name follows the project rule
(Harbor refuses ``+`` in it); its login name is ``robot$<name>`` at system level and
``robot$<project>+<name>`` at project level.
"""

from __future__ import annotations

import re
import unicodedata

from dockyard.errors import InvalidArgument, NameInvalid

__all__ = [
    "MAX_NAME",
    "ROBOT_PREFIX",
    "check_project_name",
    "check_robot_name",
    "check_user_name",
    "project_of",
    "robot_login_name",
]

MAX_NAME = 255
ROBOT_PREFIX = "robot$"
_PROJECT = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")


def check_project_name(name: str) -> str:
    """``name`` when it is a valid project name, else NameInvalid saying the rule."""
    if not 1 <= len(name) <= MAX_NAME or _PROJECT.fullmatch(name) is None:
        raise NameInvalid(
            f"project name {name[:80]!r} is not valid",
            hint="use 1-255 lower-case letters and digits, separated by single '.', '_' or '-' "
            "(e.g. team-a)",
        )
    return name


def check_user_name(name: str) -> str:
    """``name`` when it is a valid user name, else InvalidArgument saying the rule."""
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidArgument(
            f"user name must be 1 to {MAX_NAME} characters, got {len(name)}",
            hint="choose a shorter (or non-empty) name",
        )
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise InvalidArgument(
            f"user name {name[:80]!r} contains a control character",
            hint="use printable characters only",
        )
    if ":" in name or name != name.strip():
        raise InvalidArgument(
            f"user name {name[:80]!r} is not allowed",
            hint="use a name without ':' and without leading or trailing spaces",
        )
    if name.lower().startswith(ROBOT_PREFIX):
        raise InvalidArgument(
            f"user name {name[:80]!r} starts with {ROBOT_PREFIX!r}, which names robot accounts",
            hint="choose a name that does not start with robot$",
        )
    return name


def check_robot_name(name: str) -> str:
    """A robot's own name (without prefix or project): Harbor's rule, which refuses ``+``."""
    if not 1 <= len(name) <= MAX_NAME or _PROJECT.fullmatch(name) is None:
        raise NameInvalid(
            f"robot name {name[:80]!r} is not valid",
            hint="use lower-case letters and digits separated by single '.', '_' or '-' "
            "(the robot$ prefix and the project are added for you)",
        )
    return name


def robot_login_name(name: str, project: str | None) -> str:
    """``robot$<name>`` (system level) or ``robot$<project>+<name>`` (project level)."""
    return f"{ROBOT_PREFIX}{name}" if project is None else f"{ROBOT_PREFIX}{project}+{name}"


def project_of(repository: str) -> str:
    """The project a repository belongs to: its first path component (``team`` for
    ``team/app/web``). A name without ``/`` belongs to no project: NameInvalid."""
    project, sep, rest = repository.partition("/")
    if not sep or not project or not rest:
        raise NameInvalid(
            f"repository {repository[:120]!r} is not inside a project",
            hint=f"name it <project>/{repository[:80]} (e.g. library/{repository[:80]})",
        )
    return project
