"""Shell-word expansion, checked against the results Docker documents and BuildKit's tests."""

from __future__ import annotations

import pytest

from dockyard.dockerfile.shell import Lex, ShellError, process_word, process_words

ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "E": "", "N": "1"}


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("hello", "hello"),
        ("he'll'o", "hello"),
        ('he"ll"o', "hello"),
        ("'$PWD'", "$PWD"),
        ('"$PWD"', "/home"),
        ("$PWD", "/home"),
        ("${PWD}", "/home"),
        ("${PWD}x", "/homex"),
        ("\\$PWD", "$PWD"),
        ('"\\$PWD"', "$PWD"),
        ("$", "$"),
        ("a$", "a$"),
        ("${UNSET}", ""),
        ("${UNSET:-def}", "def"),
        ("${E:-def}", "def"),
        ("${E-def}", ""),
        ("${UNSET-def}", "def"),
        ("${PWD:-def}", "/home"),
        ("${PWD:+alt}", "alt"),
        ("${E:+alt}", ""),
        ("${E+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${UNSET:-${PWD}/x}", "/home/x"),
        ('${UNSET:-"a b"}', "a b"),
        ("a  b", "a  b"),
        ("${KOREAN}", "한국어"),
        ("${PWD#/}", "home"),
        ("${PWD#*o}", "me"),
        ("${PWD##*o}", "me"),
        ("${SHELL%h}", "bas"),
        ("${SHELL%%a*}", "b"),
        ("${SHELL%a*}", "b"),
        ("${PWD/o/0}", "/h0me"),
        ("${SHELL//a/A}", "bAsh"),
        ("$N$N", "11"),
        ("\\'", "'"),
        ("a\\ b", "a b"),
    ],
)
def test_process_word(word: str, expected: str) -> None:
    assert process_word(word, ENV) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("a b  c", ["a", "b", "c"]),
        ('"a b" c', ["a b", "c"]),
        ("$SHELL x", ["bash", "x"]),
        ("${UNSET:-1 2}", ["1", "2"]),
        ('"${UNSET:-1 2}"', ["1 2"]),
        ("'' x", ["x"]),
    ],
)
def test_process_words(word: str, expected: list[str]) -> None:
    assert process_words(word, ENV) == expected


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("'abc", "matching single-quote"),
        ('"abc', "matching double-quote"),
        ("${abc", "unsupported modifier"),
        ("${abc:-x", "missing '}'"),
        ("${}", "bad substitution"),
        ("${:a}", "bad substitution"),
        ("${UNSET?must be set}", "UNSET: must be set"),
        ("${E:?}", "E: is not allowed to be empty"),
        ("${PWD:#x}", "unsupported modifier (:#)"),
        ("${PWD!x}", "unsupported modifier (!)"),
    ],
)
def test_errors(word: str, message: str) -> None:
    with pytest.raises(ShellError, match="failed to process") as err:
        process_word(word, ENV)
    assert message in str(err.value)


def test_backtick_escape_token() -> None:
    assert process_word("a`$PWD", ENV, escape="`") == "a$PWD"
    assert process_word("C:\\dir", ENV, escape="`") == "C:\\dir"


def test_skip_unset_keeps_references() -> None:
    lex = Lex(skip_unset_env=True)
    assert lex.process_word("$X ${Y} ${Z:-d} $PWD", ENV) == "$X ${Y} ${Z:-d} /home"
