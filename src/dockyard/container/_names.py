"""Container names made up as docker makes them: ``adjective_surname``."""

from __future__ import annotations

import secrets
from collections.abc import Container

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
        name = f"{secrets.choice(_LEFT)}_{secrets.choice(_RIGHT)}"
        if attempt >= 10:
            name += str(secrets.randbelow(10))
        if name not in taken:
            return name
    return f"container_{secrets.token_hex(6)}"
