"""Record classes: :func:`dataclasses.dataclass` semantics at a fraction of the start-up cost.

A ``@dataclass`` compiles its ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` and, when
frozen, ``__setattr__``/``__delattr__`` from source as the class is created: ~0.45 ms a class,
which for the ~90 classes ``dockyard build`` loads was a quarter of a small rebuild. A
``@record`` class gets the same methods, but each is compiled on its first use, and the frozen
guards are shared functions; classes that are defined but never used cost only the reading of
their annotations. The generated code is what ``dataclasses`` generates, so instances are as
fast to create and compare.

Supported: ``frozen``, ``kw_only``, ``slots``, ``eq``, ``order``, ``repr``; fields with
``default``, ``default_factory``, ``kw_only``, ``repr`` and ``compare``; inheritance,
``__post_init__``, ``ClassVar`` annotations, ``__match_args__``, pickling. Use this module's
:func:`replace`, :func:`fields` and :func:`asdict` in place of the ``dataclasses`` ones.
Assigning to a frozen record raises :class:`dataclasses.FrozenInstanceError`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["Field", "asdict", "field", "fields", "is_record", "record", "replace"]

_T = TypeVar("_T")
_C = TypeVar("_C", bound=type)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_FIELDS = "__record_fields__"
_PARAMS = "__record_params__"


class Field:
    """One field of a record class (what :func:`fields` returns)."""

    __slots__ = ("compare", "default", "default_factory", "kw_only", "name", "repr", "type")

    def __init__(
        self,
        default: Any = MISSING,
        default_factory: Any = MISSING,
        repr: bool = True,
        compare: bool = True,
        kw_only: Any = MISSING,
    ) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare
        self.kw_only = kw_only

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, kw_only={self.kw_only!r})"


@overload
def field(*, default: _T, repr: bool = ..., compare: bool = ..., kw_only: bool = ...) -> _T: ...
@overload
def field(
    *, default_factory: Callable[[], _T], repr: bool = ..., compare: bool = ..., kw_only: bool = ...
) -> _T: ...
@overload
def field(*, repr: bool = ..., compare: bool = ..., kw_only: bool = ...) -> Any: ...
def field(
    *,
    default: Any = MISSING,
    default_factory: Any = MISSING,
    repr: bool = True,
    compare: bool = True,
    kw_only: Any = MISSING,
) -> Any:
    """A field with a default, a default factory or other options, as ``dataclasses.field``."""
    return Field(default, default_factory, repr, compare, kw_only)


@overload
def record(cls: _C, /) -> _C: ...
@overload
def record(
    *,
    frozen: bool = False,
    kw_only: bool = False,
    slots: bool = False,
    eq: bool = True,
    order: bool = False,
    repr: bool = True,
) -> Callable[[_C], _C]: ...
@dataclass_transform(field_specifiers=(field, Field))
def record(
    cls: Any = None,
    /,
    *,
    frozen: bool = False,
    kw_only: bool = False,
    slots: bool = False,
    eq: bool = True,
    order: bool = False,
    repr: bool = True,
) -> Any:
    """Make ``cls`` a record class: ``@dataclass`` with the same arguments, compiled lazily."""

    def wrap(cls: type) -> type:
        return _process(cls, frozen, kw_only, slots, eq, order, repr)

    return wrap if cls is None else wrap(cls)


def is_record(obj: object) -> bool:
    """Whether ``obj`` is a record class or an instance of one."""
    return hasattr(obj if isinstance(obj, type) else type(obj), _FIELDS)


def fields(obj: object) -> tuple[Field, ...]:
    """The fields of a record class or instance, in ``__init__`` order of definition."""
    try:
        found: dict[str, Field] = getattr(obj, _FIELDS)
    except AttributeError:
        raise TypeError("must be called with a record class or instance") from None
    return tuple(found.values())


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of record ``obj`` with ``changes`` (as ``dataclasses.replace``)."""
    for f in fields(obj):
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return type(obj)(**changes)


def asdict(obj: object) -> dict[str, Any]:
    """Record ``obj`` as a dict, records, lists, tuples and dicts inside converted too."""
    if not is_record(obj) or isinstance(obj, type):
        raise TypeError("asdict() should be called on record instances")
    result: dict[str, Any] = _asdict(obj)
    return result


def _asdict(value: Any) -> Any:
    if is_record(value) and not isinstance(value, type):
        return {f.name: _asdict(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*[_asdict(v) for v in value])
    if isinstance(value, list | tuple):
        return type(value)(_asdict(v) for v in value)
    if isinstance(value, dict):
        return type(value)((_asdict(k), _asdict(v)) for k, v in value.items())
    import copy

    return copy.deepcopy(value)


# --- class processing --------------------------------------------------------------------------


def _is_classvar(annotation: object) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))
    return getattr(annotation, "__origin__", None) is getattr(
        sys.modules.get("typing"), "ClassVar", None
    ) or annotation is getattr(sys.modules.get("typing"), "ClassVar", None)


def _process(
    cls: type, frozen: bool, kw_only: bool, slots: bool, eq: bool, order: bool, repr_: bool
) -> type:
    collected: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        base_fields = base.__dict__.get(_FIELDS)
        if base_fields is not None:
            if base.__dict__[_PARAMS]["frozen"] != frozen:
                raise TypeError(
                    "cannot inherit frozen record from a non-frozen one"
                    if frozen
                    else "cannot inherit non-frozen record from a frozen one"
                )
            collected.update(base_fields)
    own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - inspect costs ~10 ms to import
    for name, annotation in own.items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name = name
        f.type = annotation
        if f.kw_only is MISSING:
            f.kw_only = kw_only
        if isinstance(f.default, list | dict | set):
            raise ValueError(
                f"mutable default {type(f.default)} for field {name} is not allowed:"
                " use default_factory"
            )
        if isinstance(value, Field):
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        collected[name] = f
    positional = [f for f in collected.values() if not f.kw_only]
    seen_default = False
    for f in positional:
        if f.default is not MISSING or f.default_factory is not MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
    body = cls.__dict__
    setattr(cls, _FIELDS, collected)
    setattr(cls, _PARAMS, {"frozen": frozen, "eq": eq, "order": order})
    cls.__match_args__ = tuple(f.name for f in positional)  # type: ignore[attr-defined,misc]
    if slots:
        cls = _with_slots(cls, collected, frozen)
    if "__init__" not in body:
        _lazy(cls, "__init__", _make_init)
    if repr_ and "__repr__" not in body:
        _lazy(cls, "__repr__", _make_repr)
    if eq and "__eq__" not in body:
        _lazy(cls, "__eq__", _make_eq)
    if order:
        for op in ("__lt__", "__le__", "__gt__", "__ge__"):
            if op in body:
                raise TypeError(f"cannot overwrite attribute {op} in class {cls.__name__}")
            _lazy(cls, op, _make_order(op))
    explicit_hash = "__hash__" in body and not (body["__hash__"] is None and "__eq__" in body)
    if eq and not explicit_hash:
        if frozen:
            _lazy(cls, "__hash__", _make_hash)
        else:
            cls.__hash__ = None  # type: ignore[assignment]
    if frozen:
        if "__setattr__" in body or "__delattr__" in body:
            raise TypeError(f"cannot overwrite __setattr__/__delattr__ in frozen {cls.__name__}")
        cls.__setattr__ = _frozen_setattr  # type: ignore[assignment]
        cls.__delattr__ = _frozen_delattr  # type: ignore[assignment]
    return cls


def _with_slots(cls: type, collected: dict[str, Field], frozen: bool) -> type:
    inherited: set[str] = set()
    for base in cls.__mro__[1:-1]:
        inherited.update(getattr(base, "__slots__", ()))
    namespace = dict(cls.__dict__)
    names = tuple(name for name in collected if name not in inherited)
    namespace["__slots__"] = names
    for name in names:
        namespace.pop(name, None)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    if frozen and "__getstate__" not in namespace:
        namespace["__getstate__"] = _slots_getstate
        namespace["__setstate__"] = _slots_setstate
    new = type(cls)(cls.__name__, cls.__bases__, namespace)
    new.__qualname__ = cls.__qualname__
    return new


def _slots_getstate(self: Any) -> list[Any]:
    return [getattr(self, name) for name in getattr(self, _FIELDS)]


def _slots_setstate(self: Any, state: list[Any]) -> None:
    for name, value in zip(getattr(self, _FIELDS), state, strict=True):
        object.__setattr__(self, name, value)


def _frozen_error(name: str) -> Exception:
    from dataclasses import FrozenInstanceError  # loaded only when someone breaks the rule

    return FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    cls = type(self)
    if _FIELDS in cls.__dict__ or name in getattr(cls, _FIELDS):
        raise _frozen_error(name)
    object.__setattr__(self, name, value)


def _frozen_delattr(self: Any, name: str) -> None:
    cls = type(self)
    if _FIELDS in cls.__dict__ or name in getattr(cls, _FIELDS):
        raise _frozen_error(name)
    object.__delattr__(self, name)


# --- lazily compiled methods -------------------------------------------------------------------


def _lazy(cls: type, name: str, make: Callable[[type], Callable[..., Any]]) -> None:
    """Install a stand-in for method ``name`` that compiles the real one on its first call."""

    def first_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        method = make(cls)
        method.__qualname__ = f"{cls.__qualname__}.{name}"
        type.__setattr__(cls, name, method)
        return method(self, *args, **kwargs)

    first_call.__name__ = name
    first_call.__qualname__ = f"{cls.__qualname__}.{name}"
    type.__setattr__(cls, name, first_call)


def _compile(name: str, source: str, scope: dict[str, Any]) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(source, scope, namespace)
    function: Callable[..., Any] = namespace[name]
    function.__name__ = name
    return function


def _make_init(cls: type) -> Callable[..., Any]:
    collected: dict[str, Field] = getattr(cls, _FIELDS)
    frozen = getattr(cls, _PARAMS)["frozen"]
    scope: dict[str, Any] = {"__MISSING": MISSING, "__object_setattr": object.__setattr__}
    positional: list[str] = []
    keyword: list[str] = []
    lines: list[str] = []
    for f in collected.values():
        if f.default_factory is not MISSING:
            scope[f"__factory_{f.name}"] = f.default_factory
            param = f"{f.name}=__MISSING"
            value = f"__factory_{f.name}() if {f.name} is __MISSING else {f.name}"
        elif f.default is not MISSING:
            scope[f"__default_{f.name}"] = f.default
            param = f"{f.name}=__default_{f.name}"
            value = f.name
        else:
            param = f.name
            value = f.name
        (keyword if f.kw_only else positional).append(param)
        if frozen:
            lines.append(f"__object_setattr(self, {f.name!r}, {value})")
        else:
            lines.append(f"self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        lines.append("self.__post_init__()")
    params = ["self", *positional, *(["*", *keyword] if keyword else [])]
    source = f"def __init__({', '.join(params)}):\n"
    source += "".join(f"    {line}\n" for line in lines or ["pass"])
    return _compile("__init__", source, scope)


def _make_repr(cls: type) -> Callable[..., Any]:
    shown = [f.name for f in getattr(cls, _FIELDS).values() if f.repr]
    parts = ", ".join(f"{name}={{self.{name}!r}}" for name in shown)
    source = f"def __repr__(self):\n    return f'{{type(self).__qualname__}}({parts})'\n"
    return _compile("__repr__", source, {})


def _compared(cls: type, who: str) -> str:
    names = [f.name for f in getattr(cls, _FIELDS).values() if f.compare]
    return "(" + "".join(f"{who}.{name}," for name in names) + ")"


def _make_eq(cls: type) -> Callable[..., Any]:
    source = (
        "def __eq__(self, other):\n"
        "    if other.__class__ is self.__class__:\n"
        f"        return {_compared(cls, 'self')} == {_compared(cls, 'other')}\n"
        "    return NotImplemented\n"
    )
    return _compile("__eq__", source, {})


def _make_order(op: str) -> Callable[[type], Callable[..., Any]]:
    symbol = {"__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">="}[op]

    def make(cls: type) -> Callable[..., Any]:
        source = (
            f"def {op}(self, other):\n"
            "    if other.__class__ is self.__class__:\n"
            f"        return {_compared(cls, 'self')} {symbol} {_compared(cls, 'other')}\n"
            "    return NotImplemented\n"
        )
        return _compile(op, source, {})

    return make


def _make_hash(cls: type) -> Callable[..., Any]:
    source = f"def __hash__(self):\n    return hash({_compared(cls, 'self')})\n"
    return _compile("__hash__", source, {})
