"""Check a whole layer against the target tree before anything is written, and say what to do.

:func:`plan_layer` replays the layer on a *model* of the target: the real tree is only ever
``lstat``-ed (never through a symlink), and every change the layer would make is kept in a
dictionary on top of it. The replay follows exactly the order :mod:`._apply` uses — first all
whiteouts (which, per the OCI spec, only hide content of the layers below, whatever their place in
the tar), then the entries in tar order — so when the plan is accepted, applying it cannot write
outside the root. Any entry that could is refused with :class:`~dockyard.errors.UnsafeLayer`:

* names that are absolute, contain ``..`` or NUL, or whiteouts of ``.``/``..``;
* names no file system can hold (a component over 255 bytes, a path over 4096) or deeper than
  256 directories: refused before anything is written, rather than failing half-way through
  applying (or, for a deep tree, when a later layer's whiteout removes it);
* an entry (or whiteout) whose parent path goes through a symlink, whether the symlink is already
  in the tree or was created earlier in the same tar — layers never need to write through a
  symlink, and following one is how a tar writes outside its root;
* an entry whose parent is a regular file or other non-directory;
* hardlinks whose target is absolute, escapes, is a directory, is missing or is the entry itself;
* relative symlinks whose target climbs above the root (``../../etc``); absolute symlink targets
  are kept: inside an image they are resolved against the image's own root;
* character and block devices unless we are privileged (root); unknown entry types.
"""

from __future__ import annotations

import enum
import errno
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.errors import UnsafeLayer
from dockyard.layers._entries import OPAQUE_MARKER, WHITEOUT_PREFIX

__all__ = ["MAX_DEPTH", "NAME_MAX", "PATH_MAX", "Kind", "Plan", "plan_layer"]

#: Linux's limits on one path component and on a whole path, in bytes.
NAME_MAX = 255
PATH_MAX = 4096
#: The deepest path a layer may hold, in components. Real images stay far below it; much deeper
#: trees break recursive tree walks (Python's ``shutil.rmtree`` raises RecursionError near
#: 1000 levels, e.g. when a later layer's whiteout removes the tree).
MAX_DEPTH = 256


class Kind(enum.Enum):
    DIR = "directory"
    FILE = "file"
    SYMLINK = "symlink"
    SPECIAL = "special file"


@dataclass
class _Node:
    kind: Kind
    target: str = ""
    #: a directory made by this layer (or opaque): nothing from the tree below shows through
    hides_lower: bool = False


@dataclass
class Plan:
    """What applying a layer does: removals of lower content, then entries in order."""

    #: ``("delete", rel)`` removes ``rel``; ``("clear", rel)`` empties directory ``rel``
    #: (``""`` is the root). Done first.
    removals: list[tuple[str, str]] = field(default_factory=list)
    #: ``(member, rel)`` to create, in tar order; ``rel`` is normalised (no ``./``, no ``//``).
    entries: list[tuple[tarfile.TarInfo, str]] = field(default_factory=list)
    whiteouts: int = 0


def _refuse(entry: str, problem: str) -> UnsafeLayer:
    return UnsafeLayer(
        f"refusing layer entry {entry!r}: {problem}; the layer was not applied (nothing in the "
        "target directory changed) — the image is malformed or hostile, do not use it",
        detail={"entry": entry, "problem": problem},
    )


def _parts(name: str, entry: str, what: str = "its path") -> list[str]:
    if "\x00" in name:
        raise _refuse(entry, f"{what} contains a NUL byte")
    if name.startswith("/"):
        raise _refuse(entry, f"{what} {name!r} is absolute; layer paths must be relative")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _refuse(entry, f"{what} {name!r} contains '..' and could point outside the root")
    try:
        too_long = len(os.fsencode(name)) >= PATH_MAX
    except UnicodeEncodeError:  # a lone surrogate that no tar header bytes decode to
        raise _refuse(entry, f"{what} {name!r} cannot be encoded as a file name") from None
    if len(parts) > MAX_DEPTH:
        raise _refuse(
            entry, f"{what} is {len(parts)} directories deep; at most {MAX_DEPTH} are allowed"
        )
    if too_long or any(len(os.fsencode(p)) > NAME_MAX for p in parts):
        raise _refuse(
            entry,
            f"{what} is longer than a file system allows ({NAME_MAX} bytes a name, "
            f"{PATH_MAX} a path)",
        )
    return parts


def _symlink_escapes(parent_depth: int, target: str) -> bool:
    """Whether a relative symlink ``parent_depth`` directories down climbs above the root."""
    depth = parent_depth
    for part in target.split("/"):
        if part in ("", "."):
            continue
        depth = depth - 1 if part == ".." else depth + 1
        if depth < 0:
            return True
    return False


class _Model:
    """The target tree as the layer has changed it so far."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._changed: dict[str, _Node | None] = {}  # None: deleted
        self._lower: dict[str, _Node | None] = {}
        self._root_hidden = False

    def _lower_node(self, key: str) -> _Node | None:
        if key not in self._lower:
            try:
                st = os.lstat(self._root / key)
            except (FileNotFoundError, NotADirectoryError):
                node = None
            except OSError as exc:
                if exc.errno != errno.ENAMETOOLONG:
                    raise
                raise _refuse(
                    key, f"under {self._root} its path is longer than the file system allows"
                ) from None
            else:
                if stat.S_ISDIR(st.st_mode):
                    node = _Node(Kind.DIR)
                elif stat.S_ISLNK(st.st_mode):
                    node = _Node(Kind.SYMLINK, os.readlink(self._root / key))
                elif stat.S_ISREG(st.st_mode):
                    node = _Node(Kind.FILE)
                else:
                    node = _Node(Kind.SPECIAL)
            self._lower[key] = node
        return self._lower[key]

    def node(self, key: str, lower_visible: bool) -> _Node | None:
        if key in self._changed:
            return self._changed[key]
        return self._lower_node(key) if lower_visible else None

    def parents(self, parts: list[str], entry: str, *, create: bool) -> bool | None:
        """Check the directories above ``parts``; returns whether lower content shows through
        to the last component, or ``None`` if a parent is missing and ``create`` is false."""
        visible = not self._root_hidden
        for i in range(len(parts) - 1):
            key = "/".join(parts[: i + 1])
            node = self.node(key, visible)
            if node is None:
                if not create:
                    return None
                node = self._changed[key] = _Node(Kind.DIR, hides_lower=True)
            elif node.kind is Kind.SYMLINK:
                raise _refuse(
                    entry,
                    f"it would be written through the symlink {key!r} -> {node.target!r}; "
                    "layers must not write through symlinks",
                )
            elif node.kind is not Kind.DIR:
                raise _refuse(entry, f"its parent {key!r} is a {node.kind.value}, not a directory")
            visible = visible and not node.hides_lower
        return visible

    def put(self, key: str, node: _Node, visible: bool) -> None:
        """Create ``node`` at ``key``: a directory over a directory keeps what is in it, anything
        else replaces what was there (and so everything below it)."""
        existing = self.node(key, visible)
        if node.kind is Kind.DIR and existing is not None and existing.kind is Kind.DIR:
            if key in self._changed:
                return
            node = _Node(Kind.DIR)
        self.set(key, node)

    def set(self, key: str, node: _Node | None) -> None:
        """Replace whatever is at ``key`` (and so everything below it)."""
        old = self._changed[key] if key in self._changed else self._lower.get(key)
        if old is not None and old.kind is Kind.DIR:  # rare: forget what the layer put below
            prefix = key + "/"
            for stale in [k for k in self._changed if k.startswith(prefix)]:
                del self._changed[stale]
        self._changed[key] = node

    def hide_root(self) -> None:
        self._changed.clear()
        self._root_hidden = True


def _plan_whiteout(model: _Model, plan: Plan, member: tarfile.TarInfo, parts: list[str]) -> None:
    base = parts[-1]
    plan.whiteouts += 1
    if base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX) and base != OPAQUE_MARKER:
        return  # aufs bookkeeping (.wh..wh.plnk …): no meaning here
    visible = model.parents(parts, member.name, create=False)
    if visible is None:
        return  # the parent is not there: nothing to hide
    dir_parts = parts[:-1]
    if base == OPAQUE_MARKER:
        if not dir_parts:
            model.hide_root()
            plan.removals.append(("clear", ""))
            return
        key = "/".join(dir_parts)
        node = model.node(key, visible)
        if node is not None and node.kind is Kind.DIR:
            model.set(key, _Node(Kind.DIR, hides_lower=True))
            plan.removals.append(("clear", key))
        return
    name = base[len(WHITEOUT_PREFIX) :]
    if name in ("", ".", ".."):
        raise _refuse(member.name, f"it is a whiteout of {name or 'nothing'!r}")
    key = "/".join([*dir_parts, name])
    if model.node(key, visible) is not None:
        model.set(key, None)
        plan.removals.append(("delete", key))


def _new_node(
    model: _Model, member: tarfile.TarInfo, parts: list[str], key: str, privileged: bool
) -> _Node:
    entry = member.name
    if member.isdir():
        return _Node(Kind.DIR, hides_lower=True)
    if member.isreg():
        return _Node(Kind.FILE)
    if member.issym():
        target = member.linkname
        if not target or "\x00" in target:
            raise _refuse(entry, "it is a symlink with an empty or NUL-containing target")
        if not target.startswith("/") and _symlink_escapes(len(parts) - 1, target):
            raise _refuse(entry, f"its symlink target {target!r} points outside the root")
        return _Node(Kind.SYMLINK, target)
    if member.islnk():
        what = f"its hardlink target {member.linkname!r}"
        target_parts = _parts(member.linkname, entry, what)
        if not target_parts:
            raise _refuse(entry, f"{what} is the root directory")
        target_key = "/".join(target_parts)
        if target_key == key:
            raise _refuse(entry, "it is a hardlink to itself")
        visible = model.parents(target_parts, entry, create=False)
        linked = None if visible is None else model.node(target_key, visible)
        if linked is None:
            raise _refuse(entry, f"{what} does not exist in the layer or below it")
        if linked.kind is Kind.DIR:
            raise _refuse(entry, f"{what} is a directory")
        return _Node(linked.kind, linked.target)
    if member.ischr() or member.isblk():
        if not privileged:
            raise _refuse(entry, "it is a device node, and only root may create device nodes")
        return _Node(Kind.SPECIAL)
    if member.isfifo():
        return _Node(Kind.SPECIAL)
    raise _refuse(entry, f"its tar entry type {member.type!r} is not supported in layers")


def plan_layer(members: list[tarfile.TarInfo], root: Path, *, privileged: bool) -> Plan:
    """Validate every member against ``root`` (read-only) and return what to do."""
    model = _Model(root)
    plan = Plan()
    entries: list[tuple[tarfile.TarInfo, list[str]]] = []
    for member in members:
        parts = _parts(member.name, member.name)
        if parts and parts[-1].startswith(WHITEOUT_PREFIX):
            _plan_whiteout(model, plan, member, parts)
        else:
            entries.append((member, parts))
    for member, parts in entries:
        if not parts:
            if not member.isdir():
                raise _refuse(member.name, "it names the root but is not a directory")
            continue  # the root's own entry: the root is the caller's, we leave it alone
        visible = model.parents(parts, member.name, create=True)
        key = "/".join(parts)
        model.put(key, _new_node(model, member, parts, key, privileged), bool(visible))
        plan.entries.append((member, key))
    return plan
