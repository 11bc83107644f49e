"""The registry's web console, served at ``/`` in ``auth: projects`` mode: sign-in with
server-side sessions and CSRF tokens, and pages (projects with their members, robots and
quota, the dashboard, repositories, artifacts, two tags compared, the audit log) built only
from what ``/api/v2.0`` answers the signed-in user."""

from dockyard.registry.console._console import SESSION_COOKIE, Console
from dockyard.registry.console._sessions import Session, SessionStore

__all__ = ["SESSION_COOKIE", "Console", "Session", "SessionStore"]
