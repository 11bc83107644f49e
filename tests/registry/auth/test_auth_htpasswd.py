"""htpasswd auth: parsing as registry:2 does, Apache's lines, reload, cache, 401 challenge."""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path

import pytest

from _infra import run_command
from dockyard.errors import InvalidArgument, NotFound, Unauthorized, Unavailable
from dockyard.registry.auth import (
    AuthenticationRequired,
    Authenticator,
    HtpasswdAuthenticator,
    _authenticator,
    access_detail,
    basic_challenge,
    check_password,
    hash_password,
    htpasswd_line,
    parse_basic_authorization,
    parse_htpasswd,
    unauthorized_body,
    unauthorized_response,
)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def apache_line(*flags: str) -> str:
    """A line made by Apache's own htpasswd (apache2-utils)."""
    out = run_command(["htpasswd", *flags]).stdout
    return str(out).splitlines()[0]


@pytest.fixture
def htpasswd(tmp_path: Path) -> Path:
    path = tmp_path / "htpasswd"
    path.write_text(htpasswd_line("alice", "wonderland", cost=4) + "\n")
    return path


def test_apache_bcrypt_lines_authenticate(tmp_path: Path) -> None:
    path = tmp_path / "htpasswd"
    path.write_text(apache_line("-Bbn", "bob", "s3cret pass") + "\n")
    auth = HtpasswdAuthenticator(path, "Registry Realm")
    assert auth.authenticate(basic("bob", "s3cret pass")) == "bob"
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(basic("bob", "s3cret"))


def test_only_bcrypt_counts_as_in_registry2(tmp_path: Path) -> None:
    path = tmp_path / "htpasswd"
    md5 = apache_line("-mbn", "md5user", "pw")
    sha = apache_line("-sbn", "shauser", "pw")
    plain = "plainuser:pw"
    path.write_text("\n".join([md5, sha, plain, apache_line("-Bbn", "ok", "pw")]) + "\n")
    parsed = parse_htpasswd(path.read_text())
    assert parsed.unsupported == ("md5user", "shauser", "plainuser")
    auth = HtpasswdAuthenticator(path, "r")
    for user in ("md5user", "shauser", "plainuser"):
        with pytest.raises(AuthenticationRequired):
            auth.authenticate(basic(user, "pw"))
    assert auth.authenticate(basic("ok", "pw")) == "ok"


@pytest.mark.parametrize("prefix", ["$2y$", "$2a$", "$2b$"])
def test_every_bcrypt_spelling_verifies(prefix: str) -> None:
    hashed = prefix + hash_password("pw", cost=4)[4:]
    assert check_password("pw", hashed)
    assert not check_password("pW", hashed)


def test_parsing_follows_registry2() -> None:
    text = "# comment\n\n  alice:$2y$04$" + "a" * 53 + "  \nbob:x:y\n"
    parsed = parse_htpasswd(text)
    assert parsed.entries == {"alice": "$2y$04$" + "a" * 53, "bob": "x:y"}
    with pytest.raises(InvalidArgument, match="line 2 is not USER:HASH"):
        parse_htpasswd("alice:h\nnocolon\n")


def test_challenge_and_missing_or_malformed_credentials(htpasswd: Path) -> None:
    auth = HtpasswdAuthenticator(htpasswd, 'My "Realm"')
    assert isinstance(auth, Authenticator)
    assert auth.challenge == 'Basic realm="My \\"Realm\\""'
    assert basic_challenge("Registry Realm") == 'Basic realm="Registry Realm"'
    for header in (None, "", "Bearer abc", "Basic", "Basic !!!", "Basic " + "bm9jb2xvbg=="):
        with pytest.raises(AuthenticationRequired) as info:
            auth.authenticate(header)
        assert isinstance(info.value, Unauthorized)
        assert info.value.http_status == 401
        assert info.value.oci_code == "UNAUTHORIZED"
        assert info.value.headers == {"WWW-Authenticate": auth.challenge}


def test_parse_basic_authorization() -> None:
    assert parse_basic_authorization(basic("u", "p:with:colons")) == ("u", b"p:with:colons")
    assert parse_basic_authorization("basic " + base64.b64encode(b"u:").decode()) == ("u", b"")
    assert parse_basic_authorization("Basic " + base64.b64encode(b"\xff:p").decode()) is None


def test_reloads_when_the_file_changes(htpasswd: Path) -> None:
    auth = HtpasswdAuthenticator(htpasswd, "r")
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(basic("carol", "pw"))
    htpasswd.write_text(htpasswd.read_text() + htpasswd_line("carol", "pw", cost=4) + "\n")
    assert auth.authenticate(basic("carol", "pw")) == "carol"
    # a changed password takes effect, even for credentials that were cached
    assert auth.authenticate(basic("alice", "wonderland")) == "alice"
    htpasswd.write_text(htpasswd_line("alice", "new", cost=4) + "\n")
    os.utime(htpasswd, ns=(1, 1))  # a different mtime even on coarse clocks
    with pytest.raises(AuthenticationRequired):
        auth.authenticate(basic("alice", "wonderland"))
    assert auth.authenticate(basic("alice", "new")) == "alice"
    assert auth.users() == ["alice"]


def test_a_missing_or_broken_file(tmp_path: Path, htpasswd: Path) -> None:
    with pytest.raises(NotFound, match="cannot be read"):
        HtpasswdAuthenticator(tmp_path / "nope", "r")
    (tmp_path / "bad").write_text("no colon\n")
    with pytest.raises(InvalidArgument, match="line 1"):
        HtpasswdAuthenticator(tmp_path / "bad", "r")
    auth = HtpasswdAuthenticator(htpasswd, "r")
    htpasswd.unlink()
    with pytest.raises(Unavailable, match="cannot be used"):
        auth.authenticate(basic("alice", "wonderland"))
    htpasswd.write_text("garbage line\n")
    with pytest.raises(Unavailable, match="line 1"):
        auth.authenticate(basic("alice", "wonderland"))
    htpasswd.write_text(htpasswd_line("alice", "wonderland", cost=4) + "\n")
    assert auth.authenticate(basic("alice", "wonderland")) == "alice"


class CountingChecks:
    """Counts bcrypt verifications (the real function still runs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hashes: list[str] = []
        real = check_password

        def counted(password: str | bytes, hashed: str) -> bool:
            self.hashes.append(hashed)
            return real(password, hashed)

        monkeypatch.setattr(_authenticator, "check_password", counted)


def test_verified_credentials_are_cached_until_the_file_changes(
    htpasswd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = CountingChecks(monkeypatch)
    auth = HtpasswdAuthenticator(htpasswd, "r")
    header = basic("alice", "wonderland")
    assert auth.authenticate_cached(header) is None
    for _ in range(5):
        assert auth.authenticate(header) == "alice"
    assert len(checks.hashes) == 1
    assert auth.authenticate_cached(header) == "alice"
    # a wrong password is never cached: every attempt pays for bcrypt
    for _ in range(3):
        with pytest.raises(AuthenticationRequired):
            auth.authenticate(basic("alice", "guess"))
    assert len(checks.hashes) == 4
    assert auth.authenticate_cached(basic("alice", "guess")) is None
    htpasswd.write_text(htpasswd.read_text() + "# touched\n")
    assert auth.authenticate_cached(header) is None
    assert auth.authenticate(header) == "alice"
    assert len(checks.hashes) == 5


def test_unknown_users_cost_a_bcrypt_check_of_the_same_cost(
    htpasswd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = CountingChecks(monkeypatch)
    auth = HtpasswdAuthenticator(htpasswd, "r")
    with pytest.raises(AuthenticationRequired) as unknown:
        auth.authenticate(basic("mallory", "wonderland"))
    with pytest.raises(AuthenticationRequired) as wrong:
        auth.authenticate(basic("alice", "nope"))
    assert len(checks.hashes) == 2
    dummy, real = checks.hashes
    assert dummy != real and dummy[4:7] == real[4:7] == "04$"  # the same bcrypt cost
    assert str(unknown.value) == str(wrong.value)  # nothing tells the two apart


def test_concurrent_authentication(htpasswd: Path) -> None:
    auth = HtpasswdAuthenticator(htpasswd, "r")
    results: list[str] = []

    def worker() -> None:
        for _ in range(20):
            results.append(auth.authenticate(basic("alice", "wonderland")))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["alice"] * 160


def test_unauthorized_body_and_response() -> None:
    assert json.loads(unauthorized_body()) == {
        "errors": [{"code": "UNAUTHORIZED", "message": "authentication required", "detail": None}]
    }
    detail = access_detail("registry", "catalog", "*")
    exc = AuthenticationRequired("authentication required", challenge='Basic realm="r"')
    status, headers, body = unauthorized_response(exc, detail)
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="r"'
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body)
    assert json.loads(body)["errors"][0]["detail"] == [
        {"Type": "registry", "Class": "", "Name": "catalog", "Action": "*"}
    ]


def test_hashing_refuses_what_bcrypt_cannot_hold() -> None:
    with pytest.raises(InvalidArgument, match="72"):
        hash_password("x" * 73)
    with pytest.raises(InvalidArgument, match="cost"):
        hash_password("x", cost=3)
    with pytest.raises(InvalidArgument, match="not allowed"):
        htpasswd_line("a:b", "x")
    line = htpasswd_line("u", "x" * 72, cost=4)
    assert line.startswith("u:$2y$04$")
    # a longer password is checked as bcrypt does: only the first 72 bytes count (as Apache, Go)
    assert check_password("x" * 80, line.split(":", 1)[1])
