"""A real OpenLDAP server (Debian's ``slapd``) on loopback, with a small test tree.

The tree (``dc=example,dc=org``): people ``alice`` (in ``cn=developers``), ``bob`` (in
``cn=admins``), ``carol`` (in no group), a search account ``cn=reader``; groups are
``groupOfNames`` under ``ou=groups`` and the ``memberof`` overlay fills users' ``memberOf``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from _infra._process import run_command
from _infra._registry import free_port

SLAPD = "/usr/sbin/slapd"
LDAPADD = "/usr/bin/ldapadd"
SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "rootsecret"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PASSWORD = "readersecret"
#: user → (password, groups)
PEOPLE = {
    "alice": ("alice-pw", ("developers",)),
    "bob": ("bob-pw", ("admins",)),
    "carol": ("carol-pw", ()),
}
GROUPS = ("developers", "admins", "empty")

_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {dir}/slapd.pid
database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {dir}/data
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
access to attrs=userPassword by self auth by anonymous auth by * none
access to * by * read
"""


def group_dn(name: str) -> str:
    return f"cn={name},ou=groups,{SUFFIX}"


def user_dn(name: str) -> str:
    return f"uid={name},ou=people,{SUFFIX}"


def _tree() -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example",
        f"dn: {READER_DN}\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\n"
        f"cn: reader\nuserPassword: {READER_PASSWORD}",
        f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people",
        f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups",
    ]
    for name, (password, _) in PEOPLE.items():
        entries.append(
            f"dn: {user_dn(name)}\nobjectClass: inetOrgPerson\nuid: {name}\ncn: {name.title()}\n"
            f"sn: {name.title()}\nmail: {name}@example.org\nuserPassword: {password}"
        )
    for group in GROUPS:
        members = [user_dn(n) for n, (_, groups) in PEOPLE.items() if group in groups]
        # groupOfNames needs at least one member: an empty group lists the reader account
        lines = "\n".join(f"member: {m}" for m in members or [READER_DN])
        entries.append(f"dn: {group_dn(group)}\nobjectClass: groupOfNames\ncn: {group}\n{lines}")
    return "\n\n".join(entries) + "\n"


@dataclass(frozen=True)
class Slapd:
    url: str
    base_dn: str = SUFFIX


@contextmanager
def started_slapd(timeout: float = 30.0) -> Iterator[Slapd]:
    """slapd on 127.0.0.1 with the test tree loaded; stopped and removed afterwards."""
    if not Path(SLAPD).exists() or not Path(LDAPADD).exists():
        raise RuntimeError(
            "the LDAP tests need slapd and ldapadd (Debian packages slapd, ldap-utils); "
            "`make test` installs them"
        )
    workdir = Path(tempfile.mkdtemp(prefix="slapd-"))
    (workdir / "data").mkdir()
    conf = workdir / "slapd.conf"
    conf.write_text(_CONF.format(dir=workdir, suffix=SUFFIX, rootdn=ROOT_DN, rootpw=ROOT_PASSWORD))
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    log = (workdir / "slapd.log").open("wb")
    process = subprocess.Popen(
        [SLAPD, "-f", str(conf), "-h", f"{url}/", "-d", "0"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _load_tree(url, workdir, process, timeout)
        yield Slapd(url=url)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _load_tree(url: str, workdir: Path, process: subprocess.Popen[bytes], timeout: float) -> None:
    ldif = workdir / "tree.ldif"
    ldif.write_text(_tree())
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"slapd exited with status {process.returncode}:\n"
                + (workdir / "slapd.log").read_text(errors="replace")[-2000:]
            )
        result = run_command(
            [LDAPADD, "-x", "-H", url, "-D", ROOT_DN, "-w", ROOT_PASSWORD, "-f", str(ldif)],
            check=False,
            timeout=30,
        )
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"cannot load the LDAP test tree: {result.stderr.strip()}")
        time.sleep(0.2)
