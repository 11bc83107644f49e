"""The API's pure parts: Harbor's q= language, sort=, paging and Link headers, path decoding,
and the served swagger document against Harbor's definitions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from _infra.harbor_api import harbor_definitions, strict, validate
from dockyard.registry.harbor import DEFINITIONS, ROUTES, swagger
from dockyard.registry.harbor._errors import BadRequest, MethodNotAllowed
from dockyard.registry.harbor._paging import Page, ValidationFailed, link_header, parse_page
from dockyard.registry.harbor._query import (
    MAX_QUERY,
    AndList,
    Exact,
    Fuzzy,
    OrList,
    Range,
    parse_bool,
    parse_query,
    parse_sort,
)
from dockyard.registry.harbor._router import Router


def test_query_terms_as_harbor_parses_them() -> None:
    terms = parse_query(
        "name=app,tags=~v1,n=[1~10],t=[2024-01-02T03:04:05~],o={a b  'c'},a=(x 2),e=\\~lit"
    )
    assert terms == {
        "name": Exact("app"),
        "tags": Fuzzy("v1"),
        "n": Range(1, 10),
        "t": Range(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), None),
        "o": OrList(("a", "b", "c")),
        "a": AndList(("x", 2)),
        "e": Exact("~lit"),
    }
    assert parse_query("tags%3Dnil") == {"tags": Exact("nil")}  # unescaped once more
    assert parse_query(None) == {} == parse_query("")


@pytest.mark.parametrize(
    "q",
    ["name", "=x", "name=", "a=~", "r=[1~2", "r=[1~2~3]", "r=[~]", "o={a b", "a=(a b", "x=1,,y=2"],
)
def test_malformed_queries_are_bad_requests(q: str) -> None:
    with pytest.raises(BadRequest):
        parse_query(q)


def test_queries_are_bounded() -> None:
    with pytest.raises(BadRequest, match="longer than"):
        parse_query("name=" + "a" * MAX_QUERY)
    with pytest.raises(BadRequest, match="keys"):
        parse_query(",".join(f"k{i}=v" for i in range(17)))
    with pytest.raises(BadRequest, match="values"):
        parse_query("o={" + " ".join(str(i) for i in range(101)) + "}")


def test_sort_and_booleans() -> None:
    assert parse_sort("name,-creation_time", ("name", "creation_time")) == (
        ("name", False),
        ("creation_time", True),
    )
    with pytest.raises(BadRequest, match="cannot sort by 'id; drop table'"):
        parse_sort("id; drop table", ("name",))
    assert parse_bool("with_tag", "F", True) is False
    assert parse_bool("with_tag", None, True) is True
    with pytest.raises(BadRequest):
        parse_bool("with_tag", "yes", True)


@pytest.mark.parametrize(
    ("page", "size"),
    [("0", None), ("-1", None), (None, "0"), (None, "101"), ("x", None), ("1" * 30, None)],
)
def test_page_bounds(page: str | None, size: str | None) -> None:
    with pytest.raises(ValidationFailed):
        parse_page(page, size)


def test_page_defaults_and_largest() -> None:
    assert parse_page(None, None) == Page(1, 10)
    assert parse_page(str(2**63 - 1), "100") == Page(2**63 - 1, 100)


def test_link_header_as_harbor_writes_it() -> None:
    path = "/api/v2.0/projects/p/repositories/a%252Fb/artifacts"
    # first page of three: next only; query sorted by key and unescaped, page/page_size set
    assert link_header(path, "q=tags%3D~v&with_tag=false", 25, Page(1, 10)) == (
        f'<{path}?page=2&page_size=10&q=tags=~v&with_tag=false>; rel="next"'
    )
    assert link_header(path, "page=2&page_size=10", 25, Page(2, 10)) == (
        f'<{path}?page=1&page_size=10>; rel="prev" , <{path}?page=3&page_size=10>; rel="next"'
    )
    assert link_header(path, "", 25, Page(3, 10)) == f'<{path}?page=2&page_size=10>; rel="prev"'
    assert link_header(path, "", 20, Page(2, 10)) == f'<{path}?page=1&page_size=10>; rel="prev"'
    assert link_header(path, "", 10, Page(1, 10)) is None
    assert link_header(path, "", 10, Page(5, 10)) is None  # past the end: no prev either


def test_router_decodes_repository_names_twice() -> None:
    router = Router(ROUTES)
    found = router.match("GET", "/projects/p/repositories/a%252Fb%252Fc/artifacts/v1/tags")
    assert found is not None
    route, params = found
    assert route.operation_id == "listTags"
    assert params == {"project_name": "p", "repository_name": "a/b/c", "reference": "v1"}
    # encoded once, the slash splits the path: no such route
    assert router.match("GET", "/projects/p/repositories/a%2Fb/artifacts") is None
    with pytest.raises(MethodNotAllowed) as info:
        router.match("PATCH", "/projects/p/repositories/a")
    assert info.value.allow == ("DELETE", "GET", "PUT")
    with pytest.raises(BadRequest):
        router.match("GET", "/projects/p/repositories/%ff")


def test_served_definitions_are_harbors() -> None:
    """Every field dockyard declares is Harbor's field with Harbor's type (apart from the
    definitions of dockyard's own extensions, marked ``x-dockyard-extension``)."""
    harbor = {k: strict(v) for k, v in harbor_definitions().items()}
    for name, ours in DEFINITIONS.items():
        if ours.get("x-dockyard-extension"):
            assert name not in harbor, name  # an extension never shadows Harbor's
            continue
        theirs = harbor[name]
        for field, schema in ours.get("properties", {}).items():
            assert field in theirs["properties"], (name, field)
            other = theirs["properties"][field]
            for key in ("type", "format", "$ref"):
                if key in schema or key in other:
                    base = other.get(key)
                    base = base[0] if isinstance(base, list) else base
                    assert schema.get(key) == base, (name, field, key)


def test_swagger_lists_every_route() -> None:
    doc = swagger(ROUTES)
    operations = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert operations == {(r.method, r.template) for r in ROUTES}
    assert doc["definitions"] == DEFINITIONS
    for path, ops in doc["paths"].items():
        for op in ops.values():
            names = {p["name"] for p in op["parameters"] if p.get("in") == "path"}
            assert names == {s[1:-1] for s in path.split("/") if s.startswith("{")}
    # our own definitions are valid strict schemas: an example validates against them
    validate(
        {"name": "x", "push_time": "2024-01-02T03:04:05.678Z", "immutable": False},
        {"$ref": "#/definitions/Tag"},
        DEFINITIONS,
    )
