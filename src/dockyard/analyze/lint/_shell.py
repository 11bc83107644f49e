"""Just enough of a POSIX shell to find the commands in a RUN line and their words.

Quotes are removed, variables are kept as written (``$V``/``${V}``), redirections are dropped,
and commands inside ``$(…)``, backticks, subshells, ``if``/``while``/``for`` bodies all count —
the view hadolint's rules take of a script. It is not an interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Command", "Script", "parse_script"]

_RESERVED = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}",
             "esac", "in"}  # fmt: skip
_ASSIGN_START = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")


@dataclass(frozen=True)
class Command:
    """A simple command: its name and its arguments (words after the name)."""

    name: str
    args: tuple[str, ...]

    @property
    def flags(self) -> list[str]:
        """hadolint's flag list: ``--name[=v]`` → ``name``; ``-abc`` → ``a``, ``b``, ``c``."""
        out: list[str] = []
        for arg in self.args:
            if arg in ("-", "--"):
                continue
            if arg.startswith("--"):
                out.append(arg[2:].split("=", 1)[0])
            elif arg.startswith("-"):
                out.extend(arg[1:])
        return out

    def has_flag(self, *names: str) -> bool:
        flags = self.flags
        return any(n in flags for n in names)

    def has_arg(self, *values: str) -> bool:
        return any(a in values for a in self.args)

    def is_(self, name: str, *args: str) -> bool:
        """hadolint's cmdHasArgs: the command is ``name`` and one of ``args`` is an argument."""
        return self.name == name and (not args or self.has_arg(*args))

    def args_no_flags(self, drop_flag_args: tuple[str, ...] = ()) -> list[str]:
        """Arguments that are not flags; the value after each flag in ``drop_flag_args`` goes too."""
        out: list[str] = []
        skip = False
        for arg in self.args:
            if skip:
                skip = False
                if not arg.startswith("-"):
                    continue
            if arg.startswith("-") and arg not in ("-", "--"):
                name = arg.lstrip("-").split("=", 1)[0]
                if "=" not in arg and (
                    name in drop_flag_args
                    or (not arg.startswith("--") and name[-1:] in drop_flag_args)
                ):
                    skip = True
                continue
            out.append(arg)
        return out


@dataclass(frozen=True)
class Script:
    text: str
    commands: tuple[Command, ...]
    has_pipes: bool

    def using(self, program: str) -> bool:
        return any(c.name == program for c in self.commands)


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.nested: list[str] = []  # the bodies of $(…) and `…`

    def _subst(self, closer: str) -> str:
        """Read up to the matching ``)`` (or backtick); return the body."""
        depth = 1
        start = self.pos
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\\":
                self.pos += 2
                continue
            if ch == "'" and closer == ")":
                end = text.find("'", self.pos + 1)
                self.pos = len(text) if end < 0 else end + 1
                continue
            if closer == "`" and ch == "`":
                self.pos += 1
                return text[start : self.pos - 1]
            if closer == ")":
                if ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                    if depth == 0:
                        self.pos += 1
                        return text[start : self.pos - 1]
            self.pos += 1
        return text[start:]

    def tokens(self) -> list[tuple[str, str]]:
        """("word", text) and ("op", text) tokens."""
        out: list[tuple[str, str]] = []
        text = self.text
        n = len(text)
        word: list[str] = []
        in_word = False

        def flush() -> None:
            nonlocal in_word
            if in_word:
                out.append(("word", "".join(word)))
                word.clear()
                in_word = False

        while self.pos < n:
            ch = text[self.pos]
            if ch in " \t":
                flush()
                self.pos += 1
            elif ch == "\\":
                if self.pos + 1 < n and text[self.pos + 1] == "\n":
                    self.pos += 2
                    continue
                word.append(text[self.pos + 1 : self.pos + 2])
                in_word = True
                self.pos += 2
            elif ch == "#" and not in_word:
                end = text.find("\n", self.pos)
                self.pos = n if end < 0 else end
            elif ch == "'":
                end = text.find("'", self.pos + 1)
                end = n if end < 0 else end
                word.append(text[self.pos + 1 : end])
                in_word = True
                self.pos = end + 1
            elif ch == '"':
                self.pos += 1
                in_word = True
                while self.pos < n and text[self.pos] != '"':
                    c = text[self.pos]
                    if c == "\\" and self.pos + 1 < n:
                        nxt = text[self.pos + 1]
                        word.append(nxt if nxt in '"\\$`' else "\\" + nxt)
                        self.pos += 2
                    elif (
                        c == "$"
                        and text.startswith("$(", self.pos)
                        and not text.startswith("$((", self.pos)
                    ):
                        self.pos += 2
                        body = self._subst(")")
                        self.nested.append(body)
                        word.append("$(" + body + ")")
                    elif c == "`":
                        self.pos += 1
                        body = self._subst("`")
                        self.nested.append(body)
                        word.append("`" + body + "`")
                    else:
                        word.append(c)
                        self.pos += 1
                self.pos += 1
            elif ch == "$" and text.startswith("$(", self.pos):
                arith = text.startswith("$((", self.pos)
                self.pos += 2
                body = self._subst(")")
                if not arith:
                    self.nested.append(body)
                word.append("$(" + body + ")")
                in_word = True
            elif ch == "`":
                self.pos += 1
                body = self._subst("`")
                self.nested.append(body)
                word.append("`" + body + "`")
                in_word = True
            elif ch in "\n;&|()<>":
                if ch in "<>" and in_word and "".join(word).isdigit():
                    word.clear()  # "2>" — the fd number belongs to the redirection
                    in_word = False
                flush()
                op = ch
                two = text[self.pos : self.pos + 2]
                if two in ("&&", "||", ";;", ">>", "<<", "&>", ">&", "<&", "<>", ">|"):
                    op = two
                self.pos += len(op)
                out.append(("op", op))
            else:
                word.append(ch)
                in_word = True
                self.pos += 1
        flush()
        return out


def _commands(tokens: list[tuple[str, str]]) -> tuple[list[Command], bool]:
    """The simple commands, and whether a pipe joins two of them (not a case pattern's |)."""
    pipes = False
    commands: list[Command] = []
    words: list[str] = []
    mode = ""  # "for": skipping a for/select head; "case": its head; "pattern": a case pattern
    cases = 0  # open case statements
    redirect = False

    def end() -> None:
        nonlocal words
        i = 0
        while i < len(words) and words[i] in _RESERVED:
            i += 1
        while i < len(words) and _is_assignment(words[i]):
            i += 1
        rest = words[i:]
        if rest and rest[0] != "function":
            commands.append(Command(rest[0], tuple(rest[1:])))
        words = []

    for kind, value in tokens:
        if kind == "op":
            if value in ("<", ">", ">>", "<<", "&>", ">&", "<&", "<>", ">|"):
                redirect = True
            elif mode == "for":
                if value in ("\n", ";"):
                    mode = ""
            elif mode == "pattern":
                if value == ")":
                    mode = ""
            elif mode == "case":
                pass
            elif value == ";;" and cases:
                end()
                mode = "pattern"
            else:
                pipes = pipes or value == "|"
                end()
            continue
        if redirect:
            redirect = False
            continue
        if mode == "for":
            continue
        if mode == "case":
            if value == "in":
                mode = "pattern"
            continue
        if mode == "pattern":
            if value == "esac":
                cases -= 1
                mode = ""
            continue
        if not words and value in ("for", "select"):
            mode = "for"
            continue
        if not words and value == "case":
            mode = "case"
            cases += 1
            continue
        if not words and value == "esac" and cases:
            cases -= 1
            continue
        if not words and value in _RESERVED:
            continue
        words.append(value)
    if not mode:
        end()
    return commands, pipes


def _is_assignment(word: str) -> bool:
    name, eq, _ = word.partition("=")
    return bool(eq) and bool(name) and name[0] in _ASSIGN_START and name.replace("_", "a").isalnum()


def parse_script(text: str) -> Script:
    """The simple commands of a shell script (nested substitutions included)."""
    lexer = _Lexer(text)
    tokens = lexer.tokens()
    commands, pipes = _commands(tokens)
    for body in lexer.nested:
        inner = parse_script(body)
        commands.extend(inner.commands)
        pipes = pipes or inner.has_pipes
    return Script(text, tuple(commands), pipes)
