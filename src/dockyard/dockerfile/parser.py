"""Dockerfile text → parser directives and one :class:`Node` per instruction (BuildKit's parser).

Handles the BOM, parser directives (``syntax``, ``escape``, ``check``), line continuations with
the escape token, comments and empty lines inside continuations, and heredocs after
``RUN``/``COPY``/``ADD`` (also behind ``ONBUILD``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dockyard.dockerfile._words import (
    WHITESPACE,
    extract_builder_flags,
    parse_json_array,
    parse_words,
)
from dockyard.dockerfile.errors import DockerfileError
from dockyard.dockerfile.shell import Lex, ShellError

__all__ = [
    "Directives",
    "Heredoc",
    "Node",
    "ParseResult",
    "chomp_heredoc",
    "parse",
    "parse_heredoc",
]

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_KNOWN_DIRECTIVES = ("syntax", "escape", "check")
_HEREDOC = re.compile(r"^(\d*)<<(-?)([^<]*)$")
_HEREDOC_KEYWORDS = ("add", "copy", "run")
_LEADING_TABS = re.compile(r"^\t+", re.M)


@dataclass
class Directives:
    """Parser directives found at the top of the file."""

    escape: str = "\\"
    syntax: str | None = None
    check: str | None = None
    done: bool = False
    seen: set[str] = field(default_factory=set)

    def parse_line(self, line: str) -> None:
        if self.done:
            return
        m = _DIRECTIVE.match(line)
        if not m:
            self.done = True
            return
        key = m.group(1).lower()
        if key not in _KNOWN_DIRECTIVES:
            self.done = True
            return
        if key in self.seen:
            raise ValueError(f"only one {key} parser directive can be used")
        self.seen.add(key)
        value = m.group(2)
        if key == "escape":
            if value not in ("`", "\\"):
                raise ValueError(f"invalid escape token '{value}' does not match ` or \\")
            self.escape = value
        elif key == "syntax":
            self.syntax = value
        else:
            self.check = value


@dataclass(frozen=True)
class Heredoc:
    """``<<[-]NAME``: ``content`` ends with a newline; ``expand`` is false for a quoted name."""

    name: str
    content: str = ""
    expand: bool = True
    chomp: bool = False
    fd: int = 0

    @property
    def data(self) -> str:
        """The content with leading tabs removed for ``<<-``."""
        return chomp_heredoc(self.content) if self.chomp else self.content


def chomp_heredoc(content: str) -> str:
    return _LEADING_TABS.sub("", content)


@dataclass
class Node:
    """One instruction as parsed: lowercase ``keyword``, flags, arguments and location.

    ``args`` depend on the instruction: for ENV and LABEL they are ``key, value, delimiter``
    triples (delimiter ``"="`` or ``""`` for the legacy space form); for HEALTHCHECK the type
    then the command; for ONBUILD ``sub`` holds the trigger's node.
    """

    keyword: str
    original: str
    flags: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    json: bool = False
    heredocs: list[Heredoc] = field(default_factory=list)
    start_line: int = 0
    end_line: int = 0
    comments: list[str] = field(default_factory=list)
    sub: Node | None = None
    raw_keyword: str = ""

    def can_contain_heredoc(self) -> bool:
        node: Node = self
        if node.keyword == "onbuild" and node.sub is not None:
            node = node.sub
        return node.keyword in _HEREDOC_KEYWORDS and not node.json


@dataclass
class ParseResult:
    nodes: list[Node]
    directives: Directives
    warnings: list[str]
    source: str
    name: str


def parse_heredoc(word: str) -> Heredoc | None:
    """The heredoc a word like ``<<EOF``, ``<<-"EOF"`` or ``3<<EOF`` opens, if any."""
    m = _HEREDOC.match(word)
    if not m or not m.group(3):
        return None
    rest = m.group(3)
    lex = Lex(skip_unset_env=True)
    words = lex.process_words(rest, {})
    if len(words) != 1:
        return None
    lex.raw_quotes = True
    raw = lex.process_words(rest, {})
    if len(raw) != 1:
        raise ValueError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    quotes = words[0].count("'") + words[0].count('"')
    raw_quotes = raw[0].count("'") + raw[0].count('"')
    return Heredoc(
        name=words[0],
        expand=quotes == raw_quotes,
        chomp=m.group(2) == "-",
        fd=int(m.group(1) or "0"),
    )


def _heredocs_in(line: str) -> list[Heredoc]:
    lex = Lex(raw_quotes=True, raw_escapes=True)
    out = []
    for word in lex.process_words(line, {}):
        doc = parse_heredoc(word)
        if doc is not None:
            out.append(doc)
    return out


# --- argument parsers, one per instruction family ----------------------------------------


def _maybe_json(rest: str) -> tuple[list[str], bool]:
    if rest == "":
        return [], False
    arr = parse_json_array(rest)
    if arr is not None:
        return arr, True
    return [rest], False


def _maybe_json_to_list(rest: str) -> tuple[list[str], bool]:
    arr = parse_json_array(rest)
    if arr is not None:
        return arr, True
    return _whitespace_split(rest), False


def _whitespace_split(rest: str) -> list[str]:
    if rest == "":
        return []
    return WHITESPACE.split(rest)


def _name_val(rest: str, key: str, escape: str) -> list[str]:
    words = parse_words(rest, escape)
    if not words:
        return []
    if "=" not in words[0]:
        parts = WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise ValueError(f"{key} must have two arguments")
        return [parts[0], parts[1], ""]
    out: list[str] = []
    for word in words:
        if "=" not in word:
            raise ValueError(
                f"Syntax error - can't find = in {word!r}. Must be of the form: name=value"
            )
        k, v = word.split("=", 1)
        out += [k, v, "="]
    return out


def _new_node(line: str, d: Directives) -> Node:
    parts = WHITESPACE.split(line.strip(), maxsplit=1)
    cmd = parts[0]
    flags: list[str] = []
    rest = ""
    if len(parts) == 2:
        rest, flags = extract_builder_flags(parts[1])
        rest = rest.strip()
    node = Node(keyword=cmd.lower(), raw_keyword=cmd, original=line, flags=flags)
    kw = node.keyword
    if kw in ("add", "copy", "volume"):
        node.args, node.json = _maybe_json_to_list(rest)
    elif kw in ("cmd", "entrypoint", "run", "shell"):
        node.args, node.json = _maybe_json(rest)
    elif kw == "arg":
        node.args = parse_words(rest, d.escape)
    elif kw in ("env", "label"):
        node.args = _name_val(rest, kw.upper(), d.escape)
    elif kw in ("expose", "from"):
        node.args = _whitespace_split(rest)
    elif kw in ("maintainer", "stopsignal", "user", "workdir"):
        node.args = [rest] if rest else []
    elif kw == "healthcheck":
        hc = re.match(r"(\S+)\s*(.*)", rest, re.S)
        if hc:
            cmd_args, node.json = _maybe_json(hc.group(2))
            node.args = [hc.group(1), *cmd_args]
    elif kw == "onbuild" and rest:
        node.sub = _new_node(rest, d)
        node.args = [node.sub.keyword]
    return node


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def parse(source: str | bytes, name: str = "Dockerfile") -> ParseResult:
    """Parse Dockerfile text into nodes; errors are :class:`DockerfileError` with lines."""
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if source.startswith("\ufeff"):
        source = source[1:]
    raw_lines = [ln[:-1] if ln.endswith("\r") else ln for ln in source.split("\n")]
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    d = Directives()
    nodes: list[Node] = []
    warnings: list[str] = []
    comments: list[str] = []
    i = 0
    total = len(raw_lines)

    def fail(msg: str, start: int, end: int) -> DockerfileError:
        return DockerfileError(msg, file=name, start_line=start, end_line=end, source=source)

    def process(raw: str, strip_left: bool, lineno: int) -> str:
        token = raw.rstrip("\r\n")
        if strip_left:
            token = token.lstrip()
        try:
            d.parse_line(token)
        except ValueError as e:
            raise fail(str(e), lineno, lineno) from None
        return "" if _is_comment(token) else token

    cont = re.compile(re.escape(d.escape) + r"[ \t]*$")
    while i < total:
        raw = raw_lines[i]
        i += 1
        if _is_comment(raw):
            text = raw.lstrip()[1:].strip()
            comments = [*comments, text] if text else []
        escape_before = d.escape
        line = process(raw, True, i)
        if d.escape != escape_before:
            cont = re.compile(re.escape(d.escape) + r"[ \t]*$")
        start = i
        m = cont.search(line)
        end_of_line = m is None
        if m:
            line = line[: m.start()]
        if end_of_line and not line:
            continue
        empty_cont = False
        while not end_of_line and i < total:
            raw = raw_lines[i]
            i += 1
            nxt = process(raw, False, i)
            if _is_comment(raw):
                continue
            if not nxt.strip():
                empty_cont = True
                continue
            m = cont.search(nxt)
            end_of_line = m is None
            line += nxt[: m.start()] if m else nxt
        if empty_cont:
            warnings.append(f"Empty continuation line found in: {line}")
        try:
            node = _new_node(line, d)
        except (ValueError, ShellError) as e:
            raise fail(str(e), start, i) from None
        if node.can_contain_heredoc() and "<<" in line:
            try:
                docs = _heredocs_in(line)
            except (ValueError, ShellError) as e:
                raise fail(str(e), start, i) from None
            for doc in docs:
                body: list[str] = []
                terminated = False
                while i < total:
                    raw = raw_lines[i]
                    i += 1
                    candidate = raw.rstrip("\r\n")
                    if doc.chomp:
                        candidate = candidate.lstrip("\t")
                    if candidate == doc.name:
                        terminated = True
                        break
                    body.append(raw + "\n")
                if not terminated:
                    raise fail("unterminated heredoc", start, i)
                node.heredocs.append(
                    Heredoc(doc.name, "".join(body), doc.expand, doc.chomp, doc.fd)
                )
        node.start_line, node.end_line = start, i
        node.comments = comments
        nodes.append(node)
        comments = []
    return ParseResult(nodes=nodes, directives=d, warnings=warnings, source=source, name=name)
