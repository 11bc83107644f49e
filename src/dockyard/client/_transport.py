"""HTTP to registries on a urllib3 connection pool: scheme discovery, auth, retries, errors."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, NewConnectionError, SSLError
from urllib3.util.ssl_ import create_urllib3_context

from dockyard.client._auth import Challenge, TokenCache, basic_header, parse_challenge
from dockyard.client._credentials import Credentials
from dockyard.client._errors import connection_error, response_error
from dockyard.client._options import ClientOptions
from dockyard.errors import Denied, DockyardError, RateLimited, Unauthorized

__all__ = ["Body", "Endpoint", "Transport"]

#: A request body: bytes, or a factory giving a fresh iterable of chunks (so it can be resent).
Body = bytes | Callable[[], Iterable[bytes]] | None
#: Longest Retry-After we wait out by ourselves before giving up.
MAX_RETRY_AFTER = 10.0
POOL_SIZE = 16


@dataclass
class Endpoint:
    """One registry (or mirror) base URL and what we learned by pinging it."""

    host: str  # host[:port] as in references and credentials
    base: str  # scheme://host[:port]
    challenge: Challenge | None
    tokens: TokenCache


class Transport:
    """Shared by every request of a command; thread-safe."""

    def __init__(self, options: ClientOptions | None = None) -> None:
        self.options = options or ClientOptions()
        self._pools: dict[bool, urllib3.PoolManager] = {}
        self._endpoints: dict[str, Endpoint] = {}
        self._creds: dict[str, Credentials | None] = {}
        self._lock = threading.Lock()

    # --- pools and endpoints ---------------------------------------------------------------

    def _pool(self, verify: bool) -> urllib3.PoolManager:
        with self._lock:
            pool = self._pools.get(verify)
            if pool is None:
                kwargs: dict[str, object] = {"maxsize": POOL_SIZE, "block": False}
                if verify:
                    ctx = ssl.create_default_context(
                        cafile=str(self.options.ca_cert) if self.options.ca_cert else None
                    )
                    kwargs["ssl_context"] = ctx
                else:
                    # our own context: given none, urllib3 loads the system CA bundle into
                    # each new context only to ignore it with CERT_NONE
                    kwargs["ssl_context"] = create_urllib3_context(cert_reqs=ssl.CERT_NONE)
                    kwargs["cert_reqs"] = "CERT_NONE"
                    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
                pool = urllib3.PoolManager(num_pools=32, **kwargs)  # type: ignore[arg-type]
                self._pools[verify] = pool
            return pool

    def credentials(self, host: str) -> Credentials | None:
        with self._lock:
            if host in self._creds:
                return self._creds[host]
        creds = self.options.credentials.get(host)
        with self._lock:
            self._creds[host] = creds
        return creds

    def set_credentials(self, host: str, creds: Credentials | None) -> None:
        with self._lock:
            self._creds[host] = creds
            self._endpoints.pop(host, None)

    def endpoint(self, where: str) -> Endpoint:
        """``where`` is ``host[:port]`` (scheme discovered) or a mirror URL with a scheme."""
        with self._lock:
            found = self._endpoints.get(where)
        if found is not None:
            return found
        if "://" in where:
            base = where.rstrip("/")
            host = base.split("://", 1)[1].split("/", 1)[0]
            candidates = [base]
        else:
            host = where
            candidates = [f"https://{host}"]
            if self.options.insecure(host):
                candidates.append(f"http://{host}")
        last: DockyardError | None = None
        for base in candidates:
            try:
                ep = self._ping(host, base)
            except DockyardError as exc:
                last = exc
                continue
            with self._lock:
                self._endpoints[where] = ep
            return ep
        assert last is not None
        raise last

    def _ping(self, host: str, base: str) -> Endpoint:
        what = f"reach registry {host}"
        verify = not self.options.insecure(host)
        try:
            resp = self._pool(verify).request(
                "GET",
                f"{base}/v2/",
                headers={"User-Agent": self.options.user_agent},
                redirect=False,
                retries=False,
                timeout=urllib3.Timeout(connect=10, read=30),
            )
        except (Urllib3Error, OSError) as exc:
            raise connection_error(exc, host=host, what=what) from exc
        challenge = None
        if resp.status == 401:
            challenge = parse_challenge(resp.headers.get("WWW-Authenticate"))
        elif resp.status >= 500 or resp.status == 404:
            raise response_error(resp.status, resp.data, host=host, what=what)
        return Endpoint(host, base, challenge, TokenCache(host))

    # --- auth --------------------------------------------------------------------------------

    def _fetch(
        self, host: str
    ) -> Callable[[str, str, dict[str, str], bytes | None], tuple[int, bytes]]:
        def fetch(
            method: str, url: str, headers: dict[str, str], body: bytes | None
        ) -> tuple[int, bytes]:
            verify = not self.options.insecure(host)
            headers = {"User-Agent": self.options.user_agent, **headers}
            try:
                resp = self._pool(verify).request(
                    method, url, headers=headers, body=body, timeout=urllib3.Timeout(30)
                )
            except (Urllib3Error, OSError) as exc:
                raise connection_error(exc, host=host, what="get a registry token") from exc
            return resp.status, resp.data

        return fetch

    def _authorization(self, ep: Endpoint, scopes: Sequence[str]) -> dict[str, str]:
        challenge = ep.challenge
        if challenge is None:
            return {}
        creds = self.credentials(ep.host)
        if challenge.scheme == "basic":
            if creds is None or not creds.username:
                return {}
            return {"Authorization": basic_header(creds)}
        if challenge.scheme == "bearer":
            token = ep.tokens.token(challenge, scopes, creds, self._fetch(ep.host))
            return {"Authorization": f"Bearer {token}"}
        return {}

    # --- requests ----------------------------------------------------------------------------

    def request(
        self,
        where: str,
        method: str,
        path: str,
        *,
        scopes: Sequence[str] = (),
        what: str,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        ok: Sequence[int] = (200,),
        stream: bool = False,
        redirect: bool = True,
        timeout: float = 300.0,
        retry: bool = True,
    ) -> urllib3.BaseHTTPResponse:
        """One request with auth and retries; raises the mapped error unless the status is
        in ``ok``. ``path`` starts with ``/v2/`` or is an absolute URL (upload locations).
        ``retry=False`` sends the body once (a streamed chunk cannot be sent again)."""
        ep = self.endpoint(where)
        verify = not self.options.insecure(ep.host)
        url = path if "://" in path else ep.base + path
        attempts = max(1, self.options.retries) if retry else 1
        reauthed = not retry
        attempt = 0
        while True:
            attempt += 1
            hdrs = {"User-Agent": self.options.user_agent, **(headers or {})}
            hdrs.update(self._authorization(ep, scopes))
            data = body() if callable(body) else body
            try:
                resp = self._pool(verify).request(
                    method,
                    url,
                    headers=hdrs,
                    body=data,
                    preload_content=not stream,
                    redirect=redirect,
                    retries=urllib3.Retry(total=None, connect=0, read=0, redirect=5)
                    if redirect
                    else False,
                    timeout=urllib3.Timeout(connect=15, read=timeout),
                )
            except (Urllib3Error, OSError) as exc:
                error = connection_error(exc, host=ep.host, what=what)
                if error.retryable and attempt < attempts and _can_retry(exc):
                    time.sleep(_backoff(attempt))
                    continue
                raise error from exc
            if resp.status in ok:
                return resp
            content = resp.data if stream is False else resp.read()
            resp.release_conn()
            if resp.status == 401 and not reauthed:
                reauthed = True
                challenge = parse_challenge(resp.headers.get("WWW-Authenticate"))
                if challenge is not None:
                    ep.challenge = challenge
                ep.tokens.invalidate(scopes)
                if challenge is not None and (
                    self.credentials(ep.host) is not None or challenge.scheme == "bearer"
                ):
                    continue
            error = response_error(
                resp.status,
                content,
                host=ep.host,
                what=what,
                retry_after=resp.headers.get("Retry-After"),
            )
            if resp.status == 401:
                header = resp.headers.get("WWW-Authenticate")
                error = self._insufficient_scope(ep, header, error, what)
            if isinstance(error, RateLimited):
                wait = error.retry_after if error.retry_after is not None else _backoff(attempt)
                if wait <= MAX_RETRY_AFTER and attempt < attempts:
                    time.sleep(wait)
                    continue
            elif error.retryable and attempt < attempts:
                time.sleep(_backoff(attempt))
                continue
            if isinstance(error, Unauthorized) and self.credentials(ep.host) is None:
                error.hint = f"run `dockyard login {ep.host}` first"
            raise error

    def _insufficient_scope(
        self, ep: Endpoint, header: str | None, error: DockyardError, what: str
    ) -> DockyardError:
        """A fresh token that still lacks the access asked for: the token service said no.
        Logged in, that is a denial naming what was refused (not a reason to log in again)."""
        challenge = parse_challenge(header)
        if challenge is None or challenge.params.get("error") != "insufficient_scope":
            return error
        creds = self.credentials(ep.host)
        if creds is None:
            return error  # anonymous: logging in is the fix, as the Unauthorized error says
        wanted: dict[str, list[str]] = {}
        # distribution lists the access the request needed in the error detail
        for item in error.detail if isinstance(error.detail, list) else []:
            if isinstance(item, dict) and item.get("Name"):
                wanted.setdefault(str(item["Name"]), []).append(str(item.get("Action") or ""))
        if not wanted:
            for scope in challenge.params.get("scope", "").split(" "):
                kind, _, rest = scope.partition(":")
                name, _, actions = rest.rpartition(":")
                if kind == "repository" and name:
                    wanted.setdefault(name, []).extend(actions.split(","))
        refused = [
            f"the {','.join(a for a in actions if a) or 'any'} access to repository {name!r}"
            for name, actions in wanted.items()
        ]
        who = f"user {creds.username!r}" if creds.username else "the logged-in identity"
        return Denied(
            f"{what}: denied: {ep.host} does not grant {who} "
            + (" and ".join(refused) or "access to this resource")
            + " this needs",
            hint=f"ask the administrator of {ep.host} for access, or log in as another user",
            detail=error.detail,
        )


def _backoff(attempt: int) -> float:
    return float(min(8.0, 0.25 * 2.0 ** (attempt - 1)))


def _can_retry(exc: BaseException) -> bool:
    reason = exc.reason if isinstance(exc, MaxRetryError) else exc
    return not isinstance(reason, SSLError) and (
        isinstance(reason, NewConnectionError | Urllib3Error | OSError)
    )
