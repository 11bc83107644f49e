"""dockyard.record behaves as dataclasses does: each case is defined twice, once with
``@dataclasses.dataclass`` and once with ``@record``, and both must answer the same."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from dockyard import record as rec

# --- the same classes, made by both decorators ---------------------------------------------


def define(decorator: Callable[..., Any], field: Callable[..., Any]) -> dict[str, type]:
    @decorator(frozen=True)
    class Point:
        x: int
        y: int = 0
        tags: list[str] = field(default_factory=list)
        secret: str = field(default="s", repr=False, compare=False)
        counter: ClassVar[int] = 7

        def norm(self) -> int:
            return abs(self.x) + abs(self.y)

    @decorator(frozen=True)
    class Base:
        original: str = field(default="", kw_only=True)
        line: int = field(default=0, kw_only=True)

    @decorator(frozen=True)
    class Run(Base):
        command: str
        shell: bool = True

    @decorator(frozen=True)
    class Copy(Run):
        sources: tuple[str, ...] = ()

    @decorator(frozen=True, slots=True)
    class Slotted:
        a: int
        b: str = "b"

    @decorator(frozen=True, kw_only=True)
    class KwOnly:
        a: int
        b: int = 2

    @decorator(slots=True)
    class Mutable:
        a: int
        items: dict[str, int] = field(default_factory=dict)

    @decorator(frozen=True, slots=True, order=True)
    class Ordered:
        major: int
        minor: int = 0

    @decorator(frozen=True, slots=True, eq=False)
    class Identity:
        a: int

    @decorator
    class Plain:
        a: int
        b: list[int] = field(default_factory=lambda: [1, 2])

    @decorator(frozen=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("negative")

    @decorator(frozen=True)
    class ExplicitHash:
        a: int

        def __hash__(self) -> int:
            return 42

    @decorator(frozen=True)
    class OwnRepr:
        a: int

        def __repr__(self) -> str:
            return "mine"

    return {c.__name__: c for c in (Point, Base, Run, Copy, Slotted, KwOnly, Mutable, Ordered,
                                    Identity, Plain, Checked, ExplicitHash, OwnRepr)}  # fmt: skip


DC = define(dataclasses.dataclass, dataclasses.field)
RC = define(rec.record, rec.field)

#: (class, args, kwargs) constructions, valid and not
CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("Point", (1,), {}),
    ("Point", (1, 2), {"tags": ["a"], "secret": "x"}),
    ("Point", (), {"x": 3, "y": 4}),
    ("Point", (), {}),
    ("Point", (1, 2, [], "s", 5), {}),
    ("Point", (1,), {"x": 2}),
    ("Point", (1,), {"z": 2}),
    ("Run", ("echo",), {"original": "RUN echo", "line": 3}),
    ("Run", ("echo", False), {}),
    ("Run", ("echo", False, "orig"), {}),
    ("Copy", ("cp", True, ("a", "b")), {"line": 9}),
    ("Slotted", (1,), {}),
    ("KwOnly", (1,), {}),
    ("KwOnly", (), {"a": 1}),
    ("Mutable", (5,), {}),
    ("Ordered", (1, 2), {}),
    ("Identity", (1,), {}),
    ("Plain", (1,), {}),
    ("Checked", (1,), {}),
    ("Checked", (-1,), {}),
    ("ExplicitHash", (1,), {}),
    ("OwnRepr", (1,), {}),
]


def outcome(
    classes: dict[str, type], name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    try:
        obj = classes[name](*args, **kwargs)
    except (TypeError, ValueError) as exc:
        return ("raises", type(exc).__name__)
    return obj


@pytest.mark.parametrize(("name", "args", "kwargs"), CALLS)
def test_construction_repr_and_values_match_dataclasses(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    ours, theirs = outcome(RC, name, args, kwargs), outcome(DC, name, args, kwargs)
    if isinstance(theirs, tuple):
        assert ours == theirs
        return
    assert repr(ours) == repr(theirs)
    names = [f.name for f in dataclasses.fields(theirs)]
    assert [f.name for f in rec.fields(ours)] == names
    assert [getattr(ours, n) for n in names] == [getattr(theirs, n) for n in names]
    assert type(ours).__match_args__ == type(theirs).__match_args__  # type: ignore[attr-defined]
    assert hasattr(ours, "__dict__") == hasattr(theirs, "__dict__")


@pytest.mark.parametrize(("name", "args", "kwargs"), [c for c in CALLS if "z" not in c[2]])
def test_equality_hash_and_freezing_match_dataclasses(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    def facts(classes: dict[str, type]) -> Any:
        a, b = outcome(classes, name, args, kwargs), outcome(classes, name, args, kwargs)
        if isinstance(a, tuple):
            return a
        try:
            hashes: Any = hash(a) == hash(b)
        except TypeError:
            hashes = "unhashable"
        # (a frozen slotted dataclass raises TypeError here on Python 3.11: a bug fixed in 3.12,
        # which raises FrozenInstanceError as records do)
        try:
            a.first = 1
            assigned: Any = "ok"
        except (dataclasses.FrozenInstanceError, TypeError):
            assigned = "frozen"
        except AttributeError:
            assigned = "no attribute"
        try:
            del a.first
            deleted: Any = "ok"
        except (dataclasses.FrozenInstanceError, TypeError):
            deleted = "frozen"
        except AttributeError:
            deleted = "no attribute"
        return (a == b, a != b, a == object(), hashes, assigned, deleted)

    assert facts(RC) == facts(DC)


def test_fields_keep_their_options() -> None:
    ours = {f.name: (f.kw_only, f.repr, f.compare) for f in rec.fields(RC["Copy"])}
    theirs = {f.name: (f.kw_only, f.repr, f.compare) for f in dataclasses.fields(DC["Copy"])}
    assert ours == theirs
    assert RC["Point"].counter == 7  # type: ignore[attr-defined]
    assert "counter" not in {f.name for f in rec.fields(RC["Point"])}
    assert RC["Point"].y == DC["Point"].y == 0  # type: ignore[attr-defined]


def test_order_matches_dataclasses() -> None:
    pairs = [((1, 2), (1, 3)), ((2, 0), (1, 9)), ((1, 1), (1, 1))]
    for left, right in pairs:
        for op in ("__lt__", "__le__", "__gt__", "__ge__"):
            ours = getattr(RC["Ordered"](*left), op)(RC["Ordered"](*right))
            theirs = getattr(DC["Ordered"](*left), op)(DC["Ordered"](*right))
            assert ours == theirs
    assert sorted([RC["Ordered"](2), RC["Ordered"](1, 5)]) == [
        RC["Ordered"](1, 5),
        RC["Ordered"](2),
    ]


def test_replace_and_asdict_match_dataclasses() -> None:
    ours = RC["Copy"]("cp", sources=("a",), line=2)
    theirs = DC["Copy"]("cp", sources=("a",), line=2)
    assert repr(rec.replace(ours, command="mv", line=5)) == repr(
        dataclasses.replace(theirs, command="mv", line=5)
    )
    assert rec.asdict(ours) == dataclasses.asdict(theirs)
    nested = RC["Mutable"](1, {"k": 2})
    assert rec.asdict(nested) == dataclasses.asdict(DC["Mutable"](1, {"k": 2}))
    with pytest.raises(TypeError):
        rec.replace(ours, nope=1)
    with pytest.raises(TypeError):
        rec.fields(object())
    assert rec.is_record(ours) and rec.is_record(RC["Copy"]) and not rec.is_record(object())


@rec.record(frozen=True, slots=True)
class PickledSlots:
    a: int
    b: tuple[str, ...] = ()


@rec.record(frozen=True)
class PickledFrozen:
    a: int
    b: list[str] = rec.field(default_factory=list)


@rec.record(slots=True)
class PickledMutable:
    a: int


def test_records_pickle_round_trip() -> None:
    for obj in (PickledSlots(1, ("x",)), PickledFrozen(1, ["t"]), PickledMutable(2)):
        copy = pickle.loads(pickle.dumps(obj))
        assert copy == obj and copy is not obj


def test_invalid_definitions_are_refused_as_dataclasses_refuses_them() -> None:
    for decorator, field in ((rec.record, rec.field), (dataclasses.dataclass, dataclasses.field)):
        with pytest.raises(TypeError):

            @decorator
            class Bad:
                a: int = 1
                b: int

        with pytest.raises(ValueError):

            @decorator
            class Shared:
                a: list[int] = []  # noqa: RUF012

        with pytest.raises(ValueError):
            field(default=1, default_factory=int)

        @decorator(frozen=True)
        class Frozen:
            a: int

        with pytest.raises(TypeError):

            @decorator
            class Thawed(Frozen):
                b: int

        with pytest.raises(TypeError):

            @decorator(frozen=True)
            class Guarded:
                a: int

                def __setattr__(self, name: str, value: Any) -> None:
                    pass


def test_methods_are_compiled_on_first_use_only() -> None:
    @rec.record(frozen=True)
    class Lazy:
        a: int

    first = Lazy.__dict__["__init__"]
    Lazy(1)
    assert Lazy.__dict__["__init__"] is not first  # replaced by the compiled one
    assert (
        Lazy(2).a == 2
        and repr(Lazy(3)) == "test_methods_are_compiled_on_first_use_only.<locals>.Lazy(a=3)"
    )
