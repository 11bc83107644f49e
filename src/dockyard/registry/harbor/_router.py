"""Routing on (method, path template) with typed path parameters.

Paths are decoded the way Harbor's Go server does: the raw path once (so ``%2F`` inside a
segment stays inside it), split on ``/``, then each parameter once more. A repository name
with a slash is therefore written encoded twice, ``a/b`` → ``a%252Fb``, as Harbor documents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote

from dockyard.registry.harbor._errors import BadRequest, MethodNotAllowed

if TYPE_CHECKING:
    from dockyard.registry.harbor._call import Call, Reply

__all__ = ["Handler", "PathParam", "QueryParam", "Route", "Router"]

Handler = Callable[["Call"], Awaitable["Reply"]]
JsonType = Literal["string", "integer", "boolean"]

#: Longest path the router decodes (the HTTP layer bounds the request line anyway).
MAX_PATH = 4096


@dataclass(frozen=True, slots=True)
class PathParam:
    name: str
    description: str
    type: JsonType = "string"


@dataclass(frozen=True, slots=True)
class QueryParam:
    name: str
    description: str
    type: JsonType = "string"
    default: object = None
    maximum: int | None = None
    minimum: int | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """One operation. ``response`` names the body: a definition (``Repository``), a list of
    one (``[Repository]``), ``string`` (text/plain) or None (no body)."""

    method: str
    template: str
    handler: Handler
    operation_id: str
    summary: str
    tag: str
    status: int = 200
    response: str | None = None
    params: tuple[PathParam, ...] = ()
    query: tuple[QueryParam, ...] = ()
    body: str | None = None
    paged: bool = False
    segments: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(self.template.strip("/").split("/")))
        names = {s[1:-1] for s in self.segments if s.startswith("{")}
        declared = {p.name for p in self.params}
        if names != declared:
            raise ValueError(f"{self.template}: path parameters {names} but declared {declared}")


def _decode(text: str) -> str:
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(f"the path segment {text!r} is not valid percent-encoded UTF-8") from None


class Router:
    """Finds the route and the typed path parameters for a method and a path."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = list(routes)

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str | int]] | None:
        """The route and its parameters; None when no template fits the path;
        MethodNotAllowed when one does, but not for ``method``."""
        if len(raw_path) > MAX_PATH:
            raise BadRequest(f"the path is longer than {MAX_PATH} bytes")
        parts = _decode(raw_path).strip("/").split("/") if raw_path.strip("/") else [""]
        allowed: list[str] = []
        for route in self.routes:
            params = self._fit(route, parts)
            if params is None:
                continue
            if route.method != method:
                allowed.append(route.method)
                continue
            return route, params
        if allowed:
            raise MethodNotAllowed(
                f"{method} is not allowed here; use {', '.join(sorted(set(allowed)))}",
                allow=tuple(sorted(set(allowed))),
            )
        return None

    @staticmethod
    def _fit(route: Route, parts: list[str]) -> dict[str, str | int] | None:
        if len(parts) != len(route.segments):
            return None
        params: dict[str, str | int] = {}
        types = {p.name: p.type for p in route.params}
        for segment, part in zip(route.segments, parts, strict=True):
            if not segment.startswith("{"):
                if segment != part:
                    return None
                continue
            name = segment[1:-1]
            value = _decode(part)
            if not value:
                return None
            if types[name] == "integer":
                if not value.isdigit() or len(value) > 18:
                    raise BadRequest(f"{name} must be a positive integer, not {value!r}")
                params[name] = int(value)
            else:
                params[name] = value
        return params
