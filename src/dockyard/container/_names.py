"""Container names made up as docker makes them: ``adjective_surname``."""

from __future__ import annotations

import os
from collections.abc import Container, Sequence

__all__ = ["random_name"]

_LEFT = (
    "admiring", "affectionate", "amazing", "angry", "awesome", "blissful", "bold", "brave",
    "charming", "clever", "compassionate", "confident", "cool", "dazzling", "determined",
    "eager", "ecstatic", "elegant", "epic", "festive", "focused", "friendly", "gallant",
    "gifted", "happy", "hopeful", "jolly", "keen", "kind", "laughing", "loving", "lucid",
    "modest", "nice", "nifty", "objective", "optimistic", "peaceful", "pensive", "quirky",
    "relaxed", "serene", "sharp", "stoic", "sweet", "tender", "trusting", "vibrant", "wizardly",
    "youthful", "zealous",
)  # fmt: skip
_RIGHT = (
    "albattani", "babbage", "banach", "bardeen", "bell", "blackwell", "bohr", "cannon",
    "curie", "darwin", "dijkstra", "einstein", "euclid", "fermat", "feynman", "galileo",
    "gauss", "goldberg", "hamilton", "hopper", "hypatia", "johnson", "kepler", "knuth",
    "lamport", "lovelace", "mayer", "mccarthy", "meitner", "newton", "noether", "pascal",
    "pike", "ritchie", "shannon", "thompson", "torvalds", "turing", "wilson", "wozniak",
)  # fmt: skip


def random_name(taken: Container[str]) -> str:
    """A free ``adjective_surname`` (a digit appended after collisions, as docker does)."""
    for attempt in range(100):
        name = f"{_pick(_LEFT)}_{_pick(_RIGHT)}"
        if attempt >= 10:
            name += _pick("0123456789")
        if name not in taken:
            return name
    return f"container_{os.urandom(6).hex()}"


def _pick(choices: Sequence[str]) -> str:
    """One of ``choices`` at random, from ``os.urandom`` (as ``secrets`` draws, without loading
    ``random``, ``hmac`` and ``base64`` on ``run``'s path)."""
    return choices[int.from_bytes(os.urandom(4), "big") % len(choices)]
