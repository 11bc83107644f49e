"""Shell-word processing exactly as Dockerfiles do it (BuildKit's ``shell.Lex``).

``process_word`` expands variables and removes quotes, keeping whitespace (ENV, LABEL, WORKDIR…);
``process_words`` does the same and splits the result into words (EXPOSE, heredoc detection).
Supported: ``$V``, ``${V}``, ``${V:-w}``, ``${V-w}``, ``${V:+w}``, ``${V+w}``, ``${V:?w}``,
``${V?w}``, ``${V#p}``, ``${V##p}``, ``${V%p}``, ``${V%%p}``, ``${V/p/r}``, ``${V//p/r}``,
escapes with the Dockerfile's escape token, and no expansion inside single quotes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from dockyard.dockerfile._gofmt import quote

__all__ = ["Lex", "ShellError", "process_word", "process_words"]

_EOF = ""
_SPECIAL = frozenset("@*#?-$!0")


class ShellError(ValueError):
    """A word cannot be processed (unterminated quote, bad substitution …)."""


@dataclass
class _Words:
    word: str = ""
    words: list[str] = field(default_factory=list)
    in_word: bool = False

    def add_char(self, ch: str) -> None:
        if ch.isspace():
            if self.in_word and self.word:
                self.words.append(self.word)
                self.word = ""
                self.in_word = False
        else:
            self.add_raw(ch)

    def add_raw(self, s: str) -> None:
        self.word += s
        self.in_word = True

    def add_string(self, s: str) -> None:
        for ch in s:
            self.add_char(ch)

    def get(self) -> list[str]:
        if self.word:
            self.words.append(self.word)
            self.word = ""
            self.in_word = False
        return self.words


@dataclass
class Lex:
    """Options of one lexer: ``escape`` token, and BuildKit's raw/skip switches."""

    escape: str = "\\"
    raw_quotes: bool = False
    raw_escapes: bool = False
    skip_unset_env: bool = False
    skip_process_quotes: bool = False

    def process_word(self, word: str, env: Mapping[str, str]) -> str:
        return _Scanner(self, word, env).process()[0]

    def process_words(self, word: str, env: Mapping[str, str]) -> list[str]:
        return _Scanner(self, word, env).process()[1]

    def unmatched(self, word: str, env: Mapping[str, str]) -> set[str]:
        """Names referenced by ``word`` that ``env`` does not define."""
        sc = _Scanner(self, word, env)
        sc.process()
        return sc.unmatched


class _Scanner:
    def __init__(self, lex: Lex, src: str, env: Mapping[str, str]) -> None:
        self.lex = lex
        self.src = src
        self.pos = 0
        self.env = env
        self.raw_escapes = lex.raw_escapes
        self.unmatched: set[str] = set()

    def peek(self) -> str:
        return self.src[self.pos] if self.pos < len(self.src) else _EOF

    def next(self) -> str:
        if self.pos >= len(self.src):
            return _EOF
        ch = self.src[self.pos]
        self.pos += 1
        return ch

    def process(self) -> tuple[str, list[str]]:
        try:
            return self.stop_on(_EOF, self.lex.raw_escapes)
        except ShellError as e:
            raise ShellError(f"failed to process {_go_quote(self.src)}: {e}") from None

    def stop_on(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            while self.peek() != _EOF:
                ch = self.peek()
                if stop != _EOF and ch == stop:
                    self.next()
                    return "".join(result), words.get()
                if ch == "$":
                    tmp = self.dollar()
                    result.append(tmp)
                    words.add_string(tmp)
                elif ch in "'\"" and not self.lex.skip_process_quotes:
                    tmp = self.single_quote() if ch == "'" else self.double_quote()
                    result.append(tmp)
                    words.add_raw(tmp)
                else:
                    ch = self.next()
                    if ch == self.lex.escape:
                        if self.raw_escapes:
                            words.add_raw(ch)
                            result.append(ch)
                        ch = self.next()
                        if ch == _EOF:
                            break
                        words.add_raw(ch)
                    else:
                        words.add_char(ch)
                    result.append(ch)
            if stop != _EOF:
                raise ShellError(f"unexpected end of statement while looking for matching {stop}")
            return "".join(result), words.get()
        finally:
            self.raw_escapes = saved

    def single_quote(self) -> str:
        out: list[str] = []
        ch = self.next()
        if self.lex.raw_quotes:
            out.append(ch)
        while True:
            ch = self.next()
            if ch == _EOF:
                raise ShellError(
                    "unexpected end of statement while looking for matching single-quote"
                )
            if ch == "'":
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def double_quote(self) -> str:
        out: list[str] = []
        ch = self.next()
        if self.lex.raw_quotes:
            out.append(ch)
        while True:
            p = self.peek()
            if p == _EOF:
                raise ShellError(
                    "unexpected end of statement while looking for matching double-quote"
                )
            if p == '"':
                ch = self.next()
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if p == "$":
                out.append(self.dollar())
                continue
            ch = self.next()
            if ch == self.lex.escape:
                if self.raw_escapes:
                    out.append(ch)
                nxt = self.peek()
                if nxt == _EOF:
                    continue
                if nxt in ('"', "$", self.lex.escape):
                    ch = self.next()
            out.append(ch)

    def get_env(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            return self.env[name], True
        self.unmatched.add(name)
        return "", False

    def name(self) -> str:
        out: list[str] = []
        while self.peek() != _EOF:
            ch = self.peek()
            if not out and ch.isdigit():
                while self.peek() != _EOF and self.peek().isdigit():
                    out.append(self.next())
                return "".join(out)
            if not out and ch in _SPECIAL:
                return self.next()
            if not (ch.isalpha() or ch.isdigit() or ch == "_"):
                break
            out.append(self.next())
        return "".join(out)

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "$" + name
            return value
        self.next()
        if self.peek() == _EOF:
            raise ShellError("syntax error: missing '}'")
        if self.peek() in "{}:":
            raise ShellError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        chs = ch or "\ufffd"  # Go prints EOF as U+FFFD
        null_is_unset = False
        if ch == "}":
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "${" + name + "}"
            return value
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            chs += ch
        if ch in ("+", "-", "?", "#", "%"):
            raw = ch in "#%"
            if null_is_unset and raw:
                raise ShellError(f"unsupported modifier ({chs}) in substitution")
            try:
                word, _ = self.stop_on("}", raw)
            except ShellError:
                if self.peek() == _EOF:
                    raise ShellError("syntax error: missing '}'") from None
                raise
            value, found = self.get_env(name)
            if self.lex.skip_unset_env and not found:
                return "${" + name + chs + word + "}"
            empty = not found or (null_is_unset and value == "")
            if ch == "-":
                return word if empty else value
            if ch == "+":
                return "" if empty else word
            if ch == "?":
                if not found:
                    raise ShellError(f"{name}: {word or 'is not allowed to be unset'}")
                if null_is_unset and value == "":
                    raise ShellError(f"{name}: {word or 'is not allowed to be empty'}")
                return value
            greedy = bool(word) and word[0] == ch
            if greedy:
                word = word[1:]
            return (
                _trim_suffix(word, value, greedy)
                if ch == "%"
                else _trim_prefix(word, value, greedy)
            )
        if ch == "/" and not null_is_unset:
            replace_all = self.peek() == "/"
            if replace_all:
                self.next()
            try:
                pattern, _ = self.stop_on("/", True)
            except ShellError:
                if self.peek() == _EOF:
                    raise ShellError("syntax error: missing '/' in ${}") from None
                raise
            try:
                repl, _ = self.stop_on("}", True)
            except ShellError:
                if self.peek() == _EOF:
                    raise ShellError("syntax error: missing '}'") from None
                raise
            value, found = self.get_env(name)
            if self.lex.skip_unset_env and not found:
                return "${" + name + "/" + pattern + "/" + repl + "}"
            rx = _pattern_regex(pattern, greedy=True, anchored=False)
            if replace_all:
                return rx.sub(lambda _m: repl, value)
            return rx.sub(lambda _m: repl, value, count=1)
        raise ShellError(f"unsupported modifier ({chs}) in substitution")


def _pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    while i < len(pattern):
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(star)
            continue
        if tok == "?":
            out.append(".")
            continue
        if tok == "\\":
            nxt = pattern[i] if i < len(pattern) else _EOF
            if nxt in ("}", "/"):
                continue
            if nxt not in ("*", "?", "\\"):
                raise ShellError(
                    f"invalid pattern ({pattern}) in substitution: invalid escape '\\{nxt}'"
                )
            i += 1
            out.append(re.escape(nxt))
            continue
        if tok == "[":
            raise ShellError(
                f"invalid pattern ({pattern}) in substitution: unsupported character range"
            )
        out.append(re.escape(tok))
    return re.compile("".join(out))


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    m = _pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value[m.end() :] if m else value


def _reverse_pattern(pattern: str) -> str:
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i != len(pattern) - 1:
            tokens.append(pattern[i : i + 2])
            i += 2
        else:
            tokens.append(pattern[i])
            i += 1
    return "".join(reversed(tokens))


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


def _go_quote(s: str) -> str:
    return quote(s)


def process_word(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """Expand ``word`` as one word (whitespace kept, quotes removed)."""
    return Lex(escape=escape).process_word(word, env)


def process_words(word: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Expand ``word`` and split it into words as the shell would."""
    return Lex(escape=escape).process_words(word, env)
