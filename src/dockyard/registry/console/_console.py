"""The web console's handler: sign-in/out, sessions, CSRF checks, and the pages.

Every page asks ``/api/v2.0`` (in-process, as the signed-in user, see :mod:`._calls`) for
what it shows, so a user sees in the console exactly what the API would let them read.
Without an access model (an open registry) nobody signs in: every visitor is the API's
anonymous caller, whom an open registry lets do everything, and the pages are those that need
no projects (repositories, artifacts, files, packages, SBOMs, comparisons).
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote

from dockyard.errors import Denied, DockyardError, FailedPrecondition, InvalidArgument, NotFound
from dockyard.registry import contents
from dockyard.registry._registry import Registry
from dockyard.registry.access import AccessService
from dockyard.registry.auth import AuthenticationRequired
from dockyard.registry.console import _artifact_view as artifact_view
from dockyard.registry.console import _badges as badges
from dockyard.registry.console import _compare_view as compare_view
from dockyard.registry.console import _dashboard as dashboard
from dockyard.registry.console import _dashboard_view as dashboard_view
from dockyard.registry.console import _open_views as open_views
from dockyard.registry.console import _paging as paging
from dockyard.registry.console import _policy_pages as policy_pages
from dockyard.registry.console import _project_views as project_views
from dockyard.registry.console import _replication_pages as replication_pages
from dockyard.registry.console import _robots as robots
from dockyard.registry.console import _views as views
from dockyard.registry.console._calls import ApiAnswer, call_api, segment
from dockyard.registry.console._html import (
    ADMIN_NAV,
    CSS,
    JS,
    NO_PROJECT,
    OPEN_NAV,
    SECURITY_HEADERS,
)
from dockyard.registry.console._sessions import Session, SessionStore
from dockyard.registry.contents import Verdict, comparison_from_json
from dockyard.registry.harbor import HarborApi
from dockyard.registry.harbor._errors import harbor_status
from dockyard.registry.http import _pages
from dockyard.registry.http._io import Request, read_body, send_bytes
from dockyard.registry.identity import ANONYMOUS, Identity

__all__ = ["SESSION_COOKIE", "Console"]

log = logging.getLogger("dockyard.registry")

SESSION_COOKIE = "dockyard_session"
#: the pre-session token of the sign-in form (double submit: cookie and form field)
LOGIN_COOKIE = "dockyard_login"
#: an open registry's CSRF token (double submit: cookie and form field), one per browser
OPEN_COOKIE = "dockyard_csrf"
MAX_FORM = 16 << 10
_HTML = b"text/html; charset=utf-8"
_SECURITY_HEADERS = SECURITY_HEADERS


class _Redirect(Exception):
    def __init__(self, location: str) -> None:
        self.location = location


class _Download(Exception):
    """A file to save (an SBOM) instead of a page."""

    def __init__(self, body: bytes, content_type: bytes, filename: str) -> None:
        self.body, self.content_type, self.filename = body, content_type, filename


@dataclass(frozen=True, slots=True)
class _Who:
    session: Session
    identity: Identity


def _cookies(request: Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (request.header("cookie") or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name not in out:
            out[name] = value
    return out


def _secure(request: Request) -> bool:
    forwarded = (request.header("x-forwarded-proto") or "").split(",")[0].strip().lower()
    return forwarded == "https" or request.scope.get("scheme") == "https"


def _cookie(request: Request, name: str, value: str, *, max_age: int | None = None) -> bytes:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if _secure(request):
        parts.append("Secure")
    return "; ".join(parts).encode()


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


class Console:
    """A prefix-less page handler for :class:`~dockyard.registry.http.RegistryApp`
    (``RegistryApp(console=…)``): it answers ``/`` and every path no other handler takes.
    ``scan_reports``: the registry's vulnerability reports (``ScanReports``), when scanning is on;
    ``clock``: the dashboard's now (the days its activity chart counts). Without ``access``
    and ``sessions``: the console of an open registry (no sign-in)."""

    def __init__(
        self,
        api: HarborApi,
        access: AccessService | None,
        sessions: SessionStore | None,
        *,
        scan_reports: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.api = api
        self.access = access
        self.sessions = sessions
        self.scan_reports = scan_reports

    async def __call__(self, request: Request, registry: Registry) -> None:
        ADMIN_NAV.set(False)  # until the session names a system administrator
        OPEN_NAV.set(self.access is None)
        headers = list(_SECURITY_HEADERS)
        try:
            status, body, content_type = await self._route(request, registry, headers)
        except _Redirect as moved:
            status, body, content_type = 303, b"", _HTML
            headers.append((b"location", moved.location.encode()))
        except _Download as file:
            status, body, content_type = 200, file.body, file.content_type
            disposition = f'attachment; filename="{file.filename}"'
            headers += [(b"content-disposition", disposition.encode()),
                        (b"cache-control", b"no-store")]  # fmt: skip
        if content_type == _HTML:
            headers.append((b"cache-control", b"no-store"))
        await send_bytes(
            request.send, status, body, headers, content_type=content_type,
            head=request.method == "HEAD",
        )  # fmt: skip

    async def _route(
        self, request: Request, registry: Registry, headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, bytes, bytes]:
        path, method = request.path, request.method
        if path == "/static/console.css":
            headers.append((b"cache-control", b"max-age=3600"))
            return 200, CSS, b"text/css; charset=utf-8"
        if path == "/static/console.js":
            headers.append((b"cache-control", b"max-age=3600"))
            return 200, JS, b"text/javascript; charset=utf-8"
        if path == "/login":
            if self.access is None:
                raise _Redirect("/")  # nobody signs in to an open registry
            return await self._login(request, headers)
        who = self._open_who(request, headers) if self.access is None else await self._who(request)
        if who is None:
            if method in ("GET", "HEAD"):
                raise _Redirect("/login")
            return 403, views.login_page(self._login_token(request, headers),
                                         "Your session has ended: sign in again."), _HTML  # fmt: skip
        form: dict[str, str] = {}
        if method not in ("GET", "HEAD"):
            form = await self._form(request)
            if not _same(form.get("csrf", ""), who.session.csrf):
                return 403, views.error_page(
                    403, "The form's security token is missing or stale: reload the page and "
                    "try again.", user=who.identity.name, csrf=who.session.csrf,
                ), _HTML  # fmt: skip
        try:
            return 200, await self._page(request, registry, who, form), _HTML
        except DockyardError as exc:
            status, _ = harbor_status(exc)
            if isinstance(exc, AuthenticationRequired):
                status = 403
            return status, views.error_page(
                status, exc.message, user=who.identity.name, csrf=who.session.csrf
            ), _HTML  # fmt: skip

    # --- sessions -------------------------------------------------------------------------

    def _login_token(self, request: Request, headers: list[tuple[bytes, bytes]]) -> str:
        token = _cookies(request).get(LOGIN_COOKIE, "")
        if not token or len(token) > 64:
            token = secrets.token_urlsafe(24)
            headers.append((b"set-cookie", _cookie(request, LOGIN_COOKIE, token, max_age=3600)))
        return token

    def _open_who(self, request: Request, headers: list[tuple[bytes, bytes]]) -> _Who:
        """An open registry's visitor: the API's anonymous caller, with a CSRF token of
        their own (a cookie, set on the first visit) that every form must send back."""
        token = _cookies(request).get(OPEN_COOKIE, "")
        if not token or len(token) > 64:
            token = secrets.token_urlsafe(24)
            headers.append((b"set-cookie", _cookie(request, OPEN_COOKIE, token)))
        return _Who(Session("", "", token, math.inf), ANONYMOUS)

    async def _who(self, request: Request) -> _Who | None:
        assert self.access is not None and self.sessions is not None
        session_id = _cookies(request).get(SESSION_COOKIE, "")
        if not session_id:
            return None
        session = await request.run(self.sessions.get, session_id)
        if session is None:
            return None
        identity = await request.run(self.access.identity_of, session.username)
        if identity is None or identity.kind != "user":
            return None
        request.user = identity.name
        ADMIN_NAV.set(identity.sysadmin)  # the header's link to the administration pages
        return _Who(session, identity)

    async def _form(self, request: Request) -> dict[str, str]:
        body = await read_body(request, MAX_FORM, "form", "the console's 16 KiB")
        try:
            parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise InvalidArgument("the form is not UTF-8") from None
        return {k: v[-1] for k, v in parsed.items()}

    async def _login(
        self, request: Request, headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, bytes, bytes]:
        assert self.access is not None and self.sessions is not None
        if request.method in ("GET", "HEAD"):
            return 200, views.login_page(self._login_token(request, headers)), _HTML
        if request.method != "POST":
            return 405, b"", _HTML
        form = await self._form(request)
        token = _cookies(request).get(LOGIN_COOKIE, "")
        if not _same(form.get("csrf", ""), token):
            fresh = self._login_token(request, headers)
            return 403, views.login_page(fresh, "The sign-in form expired: try again."), _HTML
        username, password = form.get("username", ""), form.get("password", "")
        client = request.scope.get("client")
        ip = str(client[0]) if client else ""
        access = self.access
        try:
            identity = await request.run(
                lambda: access.authenticate(username, password, client_ip=ip)
            )
        except DockyardError as exc:
            status, _ = harbor_status(exc)
            message = (
                "Wrong user name or password."
                if isinstance(exc, AuthenticationRequired)
                else f"Cannot sign in now: {exc.message}"
            )
            return (401 if status == 401 else status), views.login_page(token, message), _HTML
        if identity.kind != "user":
            return 401, views.login_page(token, "Robot accounts cannot sign in here."), _HTML
        old = _cookies(request).get(SESSION_COOKIE)
        if old:  # never keep a session id from before the sign-in (fixation)
            await request.run(self.sessions.delete, old)
        session = await request.run(self.sessions.create, identity.name)
        lifetime = int(self.sessions.lifetime)
        headers.append(
            (b"set-cookie", _cookie(request, SESSION_COOKIE, session.id, max_age=lifetime))
        )
        headers.append((b"set-cookie", _cookie(request, LOGIN_COOKIE, "", max_age=0)))
        raise _Redirect("/")

    # --- pages ----------------------------------------------------------------------------

    async def _api(
        self,
        request: Request,
        registry: Registry,
        who: _Who,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> ApiAnswer:
        return await call_api(self.api, request, registry, who.identity, method, path, query, body)

    async def _page(
        self, request: Request, registry: Registry, who: _Who, form: dict[str, str]
    ) -> bytes:
        path, method = request.path, request.method
        user, csrf = who.identity.name, who.session.csrf
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/logout":
            if self.sessions is None:
                raise _Redirect("/")
            await request.run(self.sessions.delete, who.session.id)
            raise _Redirect("/login")
        if self.access is None and path in ("/", "/index.html") and method in ("GET", "HEAD"):
            return await self._open_home(request, registry, who)
        if path in ("/", "/index.html", "/projects"):
            if method == "POST" and path == "/projects":
                name = form.get("project_name", "").strip()
                body = {"project_name": name, "metadata": {"public": form.get("public") or "false"}}
                await self._api(request, registry, who, "POST", "/projects", body=body)
                raise _Redirect("/projects/" + quote(name, safe=""))
            at = paging.paging(request.query("page"), request.query("page_size"))
            answer = await self._api(request, registry, who, "GET", "/projects", at.query())
            more = paging.pager("/", {}, at, answer.total, "projects")
            return views.projects_page(answer.json or [], user=user, csrf=csrf, pager=more)
        if path == "/dashboard" and method in ("GET", "HEAD"):
            return await self._dashboard(request, registry, who)
        if path == "/audit" and method in ("GET", "HEAD"):
            at = paging.paging(request.query("page"), request.query("page_size"))
            answer = await self._api(request, registry, who, "GET", "/audit-logs", at.query())
            more = paging.pager("/audit", {}, at, answer.total, "entries")
            return views.audit_page(answer.json or [], user=user, csrf=csrf, extra=more)
        if parts[:2] == ["admin", "replication"]:
            ask = self._asker(request, registry, who)
            return _answer(await replication_pages.replication_admin_page(
                ask, method, parts[2:], form, user=user, csrf=csrf))  # fmt: skip
        if parts[0] == "admin":
            ask = self._asker(request, registry, who)
            found = await policy_pages.admin_page(ask, method, parts[1:], form, request.query,
                                                  user=user, csrf=csrf)  # fmt: skip
            return _answer(found)
        if len(parts) >= 2 and parts[0] == "projects":
            project = parts[1]
            rest = parts[2:]
            return await self._project(request, registry, who, project, rest, form)
        raise NotFound(f"no such page {path}")

    async def _project(
        self,
        request: Request,
        registry: Registry,
        who: _Who,
        project: str,
        rest: list[str],
        form: dict[str, str],
    ) -> bytes:
        user, csrf, method = who.identity.name, who.session.csrf, request.method
        base = f"/projects/{segment(project)}"
        if method == "POST" and rest == ["members"]:
            role = form.get("role_id", "")
            if not role.isdigit():
                raise InvalidArgument("choose a role")
            body = {"role_id": int(role), "member_user": {"username": form.get("username", "")}}
            await self._api(request, registry, who, "POST", base + "/members", body=body)
            raise _Redirect("/projects/" + quote(project, safe=""))
        if method == "POST" and len(rest) == 3 and rest[0] == "members" and rest[2] == "delete":
            if not rest[1].isdigit():
                raise NotFound("no such member")
            await self._api(request, registry, who, "DELETE", f"{base}/members/{rest[1]}")
            raise _Redirect("/projects/" + quote(project, safe=""))
        ask, can = self._asker(request, registry, who), self._checker(request, who)
        if method == "POST" and rest == ["robots"]:
            created = await robots.create_robot(ask, project, form)
            return await self._project_page(request, registry, who, project,
                                            project_views.created_robot_card(created))  # fmt: skip
        if method == "POST" and len(rest) == 3 and rest[0] == "robots":
            if rest[2] == "delete":
                await robots.delete_robot(ask, project, rest[1])
            elif rest[2] in ("disable", "enable"):
                await robots.switch_robot(ask, project, rest[1], disable=rest[2] == "disable")
            else:
                raise NotFound("no such form")
            raise _Redirect("/projects/" + quote(project, safe=""))
        if method == "POST" and rest == ["quota"]:
            if not await can(None, "quota", "update"):  # before reading the form's numbers
                raise Denied(f"{user} may not change quotas: ask a system administrator")
            await robots.set_quota(ask, project, form)
            raise _Redirect("/projects/" + quote(project, safe=""))
        found = await policy_pages.policy_page(ask, can, project, method, rest, form,
                                               request.query, user=user, csrf=csrf)  # fmt: skip
        if found is not None:
            return _answer(found)
        if method not in ("GET", "HEAD"):
            raise NotFound("no such form")
        if not rest and self.access is None:
            return await self._namespace(request, registry, who, project)
        if not rest:
            return await self._project_page(request, registry, who, project)
        if rest == ["repository"]:
            name = request.query("name") or ""
            search = (request.query("q") or "").strip()
            sort = request.query("sort") or "-push_time"
            if sort not in ("-push_time", "push_time", "digest"):
                sort = "-push_time"
            at = paging.paging(request.query("page"), request.query("page_size"))
            query = {
                **at.query(),
                "sort": sort,
                "with_accessory": "true",
                "with_scan_overview": "true",
            }
            if q := _search(search):
                query["q"] = q
            answer = await self._api(
                request, registry, who, "GET",
                f"{base}/repositories/{segment(name)}/artifacts", query,
            )  # fmt: skip
            artifacts = answer.json or []
            configs = await self._configs(request, registry, who,
                                          f"{base}/repositories/{segment(name)}", artifacts)  # fmt: skip
            marks = badges.badges(artifacts, configs)
            tags = _tags(artifacts)
            picker = compare_view.compare_form(project, name, tags) if len(tags) > 1 else ""
            kept = {"name": name, "sort": sort, **({"q": search} if search else {})}
            more = paging.pager(f"/projects/{project}/repository", kept, at, answer.total,
                                "artifacts")  # fmt: skip
            return views.repository_page(project, name, artifacts, search=search, sort=sort,
                                         user=user, csrf=csrf, extra=more + picker,
                                         badges=marks)  # fmt: skip
        if rest == ["artifact"]:
            return await self._artifact(request, registry, who, project)
        if rest == ["files"]:
            return await self._files(request, registry, who, project)
        if rest == ["sbom"]:
            await self._sbom(request, registry, who, project)
        if rest == ["packages"]:
            return await self._packages(request, registry, who, project)
        if rest == ["compare"]:
            return await self._compare(request, registry, who, project)
        raise NotFound(f"no such page {request.path}")

    async def _open_home(self, request: Request, registry: Registry, who: _Who) -> bytes:
        """An open registry's home: every repository, and how to push and pull."""
        at = paging.paging(request.query("page"), request.query("page_size"))
        answer = await self._api(request, registry, who, "GET", "/repositories",
                                 {**at.query(), "sort": "name"})  # fmt: skip
        more = paging.pager("/", {}, at, answer.total, "repositories")
        return open_views.open_home_page(
            answer.json or [], about=_pages.about(), push_help=_pages.push_help(request),
            pager=more, csrf=who.session.csrf,
        )  # fmt: skip

    async def _namespace(
        self, request: Request, registry: Registry, who: _Who, namespace: str
    ) -> bytes:
        """An open registry's namespace (``team`` of ``team/app``): its repositories."""
        if namespace == NO_PROJECT:
            raise _Redirect("/")  # the repositories without one are on the home page
        at = paging.paging(request.query("page"), request.query("page_size"))
        answer = await self._api(request, registry, who, "GET",
                                 f"/projects/{segment(namespace)}/repositories",
                                 {**at.query(), "sort": "name"})  # fmt: skip
        more = paging.pager(f"/projects/{namespace}", {}, at, answer.total, "repositories")
        return open_views.namespace_page(namespace, answer.json or [], pager=more,
                                         csrf=who.session.csrf)  # fmt: skip

    async def _compare(
        self, request: Request, registry: Registry, who: _Who, project: str
    ) -> bytes:
        name = request.query("repo") or ""
        a, b = (request.query("a") or "").strip(), (request.query("b") or "").strip()
        if not a or not b:
            raise InvalidArgument("name two tags to compare: ?repo=<repository>&a=<tag>&b=<tag>")
        base = f"/projects/{segment(project)}/repositories/{segment(name)}"
        listed = await self._api(request, registry, who, "GET", base + "/artifacts",
                                 {"page_size": "100"})  # fmt: skip
        found = await self._api(request, registry, who, "GET",
                                f"{base}/artifacts/{quote(a, safe='')}/compare", {"with": b})  # fmt: skip
        result = comparison_from_json(found.json)
        return compare_view.compare_page(
            project, name, a, b, result, _tags(listed.json or []),
            user=who.identity.name, csrf=who.session.csrf,
        )  # fmt: skip

    async def _dashboard(self, request: Request, registry: Registry, who: _Who) -> bytes:
        board = await dashboard.collect(
            self._asker(request, registry, who), now=self.clock(),
            scanning=self.scan_reports is not None,
        )  # fmt: skip
        return dashboard_view.dashboard_page(board, user=who.identity.name,
                                             csrf=who.session.csrf)  # fmt: skip

    async def _project_page(
        self, request: Request, registry: Registry, who: _Who, project: str, notice: str = ""
    ) -> bytes:
        base = f"/projects/{segment(project)}"
        at = paging.paging(request.query("page"), request.query("page_size"))
        repos = await self._api(request, registry, who, "GET", base + "/repositories",
                                at.query())  # fmt: skip
        more = paging.pager(f"/projects/{project}", {}, at, repos.total, "repositories")
        members: list[Any] | None = None
        if await self._can(request, who, project, "member", "list"):
            found = await self._api(request, registry, who, "GET", base + "/members",
                                    {"page_size": "100"})  # fmt: skip
            members = found.json or []
        extras = await robots.project_extras(
            self._asker(request, registry, who), self._checker(request, who), project
        )
        csrf = who.session.csrf
        extra = (
            project_views.policies_link(project)
            + project_views.quota_section(project, extras, csrf)
            + project_views.robots_section(project, extras, csrf)
        )
        return views.project_page(project, repos.json or [], members, user=who.identity.name,
                                  csrf=csrf, notice=notice, extra=extra,
                                  pager=more)  # fmt: skip

    def _asker(self, request: Request, registry: Registry, who: _Who) -> robots.Ask:
        async def ask(
            method: str, path: str, query: dict[str, str] | None = None,
            body: dict[str, Any] | None = None,
        ) -> ApiAnswer:  # fmt: skip
            return await self._api(request, registry, who, method, path, query, body)

        return ask

    def _checker(self, request: Request, who: _Who) -> robots.Can:
        async def can(project: str | None, resource: str, action: str) -> bool:
            return await request.run(self.api.security.can, who.identity, project, resource,
                                     action)  # fmt: skip

        return can

    async def _can(
        self, request: Request, who: _Who, project: str, resource: str, action: str
    ) -> bool:
        return await request.run(self.api.security.can, who.identity, project, resource, action)

    async def _artifact(
        self, request: Request, registry: Registry, who: _Who, project: str
    ) -> bytes:
        name = request.query("repo") or ""
        digest = request.query("digest") or ""
        chosen = views.Findings(
            severity=(request.query("severity") or "").upper()[:16],
            search=(request.query("q") or "").strip()[:200],
            fixable=request.query("fixable") == "1",
            at=paging.paging(request.query("page"), request.query("page_size")),
        )
        base = f"/projects/{segment(project)}/repositories/{segment(name)}"
        # the API decides whether this user may read it (403/404 otherwise)
        answer = await self._api(request, registry, who, "GET",
                                 f"{base}/artifacts/{quote(digest, safe='')}")  # fmt: skip
        artifact = answer.json
        at = f"{base}/artifacts/{quote(str(artifact['digest']), safe='')}"
        layers, config = await self._layers(request, registry, who, at)
        vulnerabilities, scanned = await self._findings(request, registry, who, at)
        listed = await self._api(request, registry, who, "GET", at + "/referrers")
        found = [_referrer(r) for r in listed.json or ()]
        extra = artifact_view.extras_section(project, name, str(artifact["digest"]), found,
                                             image=bool(layers))  # fmt: skip
        host = request.header("host") or "localhost:5000"
        return views.artifact_page(
            project, name, artifact, layers, config, host=host,
            vulnerabilities=vulnerabilities, chosen=chosen, scanned=scanned,
            user=who.identity.name, csrf=who.session.csrf, extra=extra,
        )  # fmt: skip

    async def _findings(
        self, request: Request, registry: Registry, who: _Who, at: str
    ) -> tuple[list[dict[str, Any]] | None, str]:
        """The scan report's findings as the page's rows, from Harbor's vulnerabilities
        addition (empty while the scan is pending, or for an index; None when the registry
        does not scan), and when the scan finished (the report's ``generated_at``; empty
        while there is none)."""
        try:
            answer = await self._api(request, registry, who, "GET",
                                     at + "/additions/vulnerabilities")  # fmt: skip
        except FailedPrecondition:
            return None, ""
        except NotFound:
            return [], ""
        found = answer.json if isinstance(answer.json, dict) else {}
        report: dict[str, Any] = next(iter(found.values()), {})
        return [
            {"id": v["id"], "severity": str(v["severity"]).upper(), "package": v["package"],
             "version": v["version"], "fix_version": v["fix_version"],
             "title": v["description"], "links": list(v["links"])}
            for v in report.get("vulnerabilities") or ()
        ], str(report.get("generated_at") or "")  # fmt: skip

    async def _configs(
        self, request: Request, registry: Registry, who: _Who, repo: str,
        artifacts: list[dict[str, Any]],
    ) -> dict[str, object]:  # fmt: skip
        """The configs of the listed single images (not indexes), by digest, from the API's
        ``…/layers`` (one call each, for the page's artifacts only); one that is no image or
        cannot be read has none."""
        out: dict[str, object] = {}
        for artifact in artifacts:
            digest = str(artifact.get("digest", ""))
            if isinstance(artifact.get("references"), list) or not digest:
                continue
            try:
                answer = await self._api(request, registry, who, "GET",
                                         f"{repo}/artifacts/{quote(digest, safe='')}/layers")  # fmt: skip
            except DockyardError:
                continue
            out[digest] = answer.json.get("config") if isinstance(answer.json, dict) else None
        return out

    async def _layers(
        self, request: Request, registry: Registry, who: _Who, at: str
    ) -> tuple[list[views.Layer], str]:
        """The image's layers with the command that made each, and its config (pretty JSON),
        from the API; an index or an artifact without an image config has none."""
        try:
            answer = await self._api(request, registry, who, "GET", at + "/layers")
        except NotFound:
            return [], "(an index or an artifact that is no image: open one of its images)"
        layers = [views.Layer(str(x.get("digest", "")), int(x.get("size", 0)),
                              str(x.get("created_by", ""))) for x in answer.json["layers"]]  # fmt: skip
        return layers, json.dumps(answer.json["config"], indent=2)[:100000]

    async def _readable(
        self, request: Request, registry: Registry, who: _Who, project: str
    ) -> tuple[str, str, str]:
        """The query's repository, the artifact's digest and its API path, once the API has
        let the user read the artifact (403/404 otherwise)."""
        name = request.query("repo") or ""
        reference = request.query("digest") or ""
        base = f"/projects/{segment(project)}/repositories/{segment(name)}"
        answer = await self._api(request, registry, who, "GET",
                                 f"{base}/artifacts/{quote(reference, safe='')}")  # fmt: skip
        digest = str(answer.json["digest"])
        return name, digest, f"{base}/artifacts/{quote(digest, safe='')}"

    async def _files(self, request: Request, registry: Registry, who: _Who, project: str) -> bytes:
        name, digest, at = await self._readable(request, registry, who, project)
        query = {"layer": request.query("layer") or "1",
                 "view": "merged" if request.query("view") == "merged" else "layer",
                 "path": (request.query("path") or "")[:4096]}  # fmt: skip
        found = (await self._api(request, registry, who, "GET", at + "/files", query)).json
        rows = [contents.FileRow(r["name"], r["is_dir"], r["kind"], r["size"], r["mode"],
                               r["layer"] - 1 if r["layer"] is not None else -1, r["link"],
                               r["wasted"]) for r in found["rows"]]  # fmt: skip
        listing = contents.Listing(found["layers"], found["layer"] - 1, found["merged"],
                                 found["path"], rows, found["more"], found["wasted_bytes"])  # fmt: skip
        return artifact_view.files_page(project, name, digest, listing, user=who.identity.name,
                                        csrf=who.session.csrf)  # fmt: skip

    async def _packages(
        self, request: Request, registry: Registry, who: _Who, project: str
    ) -> bytes:
        name, digest, at = await self._readable(request, registry, who, project)
        found = (await self._api(request, registry, who, "GET", at + "/packages")).json
        rows = [contents.PackageRow(p["name"], p["version"], p["type"], tuple(p["licenses"]))
                for p in found]  # fmt: skip
        at_page = paging.paging(request.query("page"), request.query("page_size"))
        return artifact_view.packages_page(
            project, name, digest, rows, search=(request.query("q") or "")[:200], at=at_page,
            user=who.identity.name, csrf=who.session.csrf,
        )  # fmt: skip

    async def _sbom(self, request: Request, registry: Registry, who: _Who, project: str) -> None:
        name, digest, at = await self._readable(request, registry, who, project)
        fmt = request.query("format") or ""
        if fmt not in contents.SBOM_FORMATS:
            raise InvalidArgument(f"format must be one of {', '.join(contents.SBOM_FORMATS)}")
        found = await self._api(request, registry, who, "GET", at + "/additions/sbom",
                                {"format": fmt})  # fmt: skip
        suffix = contents.SBOM_FORMATS[fmt][1]
        filename = f"{name.replace('/', '_')}-{digest.split(':')[-1][:12]}.{suffix}"
        raise _Download(json.dumps(found.json, indent=2).encode(), b"application/json", filename)


def _referrer(found: dict[str, Any]) -> contents.Referrer:
    """A referrer as the API's ``…/referrers`` lists it."""
    signatures = found.get("signatures") or []
    return contents.Referrer(
        str(found["digest"]), str(found["media_type"]), str(found["artifact_type"]),
        int(found["size"]), str(found["how"]), [str(x["digest"]) for x in signatures],
        [Verdict(str(x["state"]), str(x["detail"])) for x in signatures],
        [str(x["kind"]) for x in signatures],
    )  # fmt: skip


def _answer(found: bytes | str | None) -> bytes:
    """A page, or a redirect (a location), or not found."""
    if found is None:
        raise NotFound("no such page")
    if isinstance(found, str):
        raise _Redirect(found)
    return found


def _tags(artifacts: list[dict[str, Any]]) -> list[str]:
    """The tags of a listing, newest push first."""
    return [str(t.get("name", "")) for a in artifacts for t in a.get("tags") or ()]


def _search(text: str) -> str | None:
    """The API's ``q`` for the repository page's search: a digest (``sha256:…`` or 7+ hex
    digits) by part of it, anything else by part of a tag; None when nothing is left once
    the query language's own characters are dropped."""
    clean = re.sub(r"[\s,=~{}\[\]()]", "", text)[:128]
    if not clean:
        return None
    bare = clean.removeprefix("sha256:")
    if clean.startswith("sha256:") or (
        len(bare) >= 7 and all(c in "0123456789abcdef" for c in bare)
    ):
        return f"digest=~{clean}"
    return f"tags=~{clean}"
