"""Binary classifiers: the version a static binary carries in its own bytes.

After syft 1.18's binary classifiers (``syft/pkg/cataloger/binary/classifiers.go``, all of
them but ``erlang-library``, which reads ``.a`` archives, and the shared-library look-ups syft
adds to ``python``/``ruby``): a file whose name matches a classifier is searched for that
classifier's version pattern, and a match becomes a ``binary`` package with syft's name, purl
and CPEs (tests/scan/test_scan_binary_classifiers.py compares them with a real syft). As
everywhere in the scanner, only executable ELF files are probed; a find that an OS package
owns is dropped afterwards, as syft drops it (:mod:`._ownership`).

The bytes are searched a window at a time (:data:`WINDOW` plus an overlap, so a version string
across a window edge is still found): never the whole file in memory. Python's regular
expressions backtrack (syft's Go ones do not), so every open-ended repeat that follows a literal
is bounded (``[^/\x00]{1,64}`` where syft writes ``[^/]+``): a binary full of ``nginx version: ``
without a ``/`` costs one pass, not one pass per occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.scan._filesystem import FileEntry, ProbeData
from dockyard.scan._package import Location, Package, purl

__all__ = ["CLASSIFIERS", "BinaryClassifierCataloger", "Classifier", "search_window"]

#: bytes searched at a time; a version string is far shorter than OVERLAP
WINDOW = 1 << 20
OVERLAP = 4 << 10


@dataclass(frozen=True, slots=True)
class Classifier:
    cls: str  # syft's class name: busybox-binary, python-binary …
    #: the file's base name (the whole name must match); a ``version`` group constrains the
    #: content pattern (``python3.11`` is searched for ``3.11.x`` only)
    file_name: re.Pattern[str]
    #: content patterns, each with a ``version`` group; ``{version}`` is the name's version
    evidence: tuple[str, ...]
    package: str
    #: vendor:product pairs; where syft's classifier names none from NVD's dictionary, syft adds
    #: one made of the package's name (``pypy:pypy``), and so do these
    cpes: tuple[str, ...]
    #: ``type/namespace…/name`` of the purl; default ``generic/`` + the package's name
    purl_path: str = ""
    #: a pattern that, found anywhere in the file, means the file is not this classifier's
    exclude: str = ""

    def purl(self, version: str) -> str:
        ptype, _, rest = (self.purl_path or f"generic/{self.package}").partition("/")
        namespace, _, name = rest.rpartition("/")
        return purl(ptype, name, version, namespace=namespace)


#: characters a CPE 2.3 formatted string quotes with a backslash (every one but these)
_CPE_PLAIN = re.compile(r"[^A-Za-z0-9._\-]")


def _cpe(vendor_product: str, version: str) -> str:
    quoted = _CPE_PLAIN.sub(lambda m: "\\" + m.group(0), version)
    return f"cpe:2.3:a:{vendor_product}:{quoted}:*:*:*:*:*:*:*"


def _name(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# Bounded translations of syft's patterns (Go's RE2 never backtracks, Python's re does):
# - a version that starts the pattern with ``[0-9]+`` gets ``(?<![0-9])``: RE2's leftmost match
#   starts at the first digit of a run anyway, and the look-behind stops a retry at every digit
#   of a long run (quadratic on a file of digits);
# - open-ended repeats after a literal (``[^\x00]+``, ``\x00+``, ``.+``) get an upper bound far
#   above any real version string, and two repeats that can take the same characters in a row
#   (``[0-9]+[.0-9]+``) become one (``[0-9][.0-9]{1,32}``, the same strings);
# - a leading ``.*`` (mysql's ``.*/mysql-``) is dropped: it only moves where the match starts.
_PY_VERSION = r"\x00(?P<version>{version}[-._a-zA-Z0-9]{0,32})\x00"
_PYTHON_CPES = ("python_software_foundation:python", "python:python")
_PRE = r"(?:alpha[0-9]|beta[0-9]|rc[0-9])?"
_DB_VERSION = r"[0-9]+(?:\.[0-9]+)?(?:\.[0-9]+)?" + _PRE
_PHP = r"X-Powered-By: PHP/(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:beta[0-9]+|alpha[0-9]+|RC[0-9]+)?)"
_OTP = (
    r"/src/otp_src_(?P<version>[0-9]+\.[0-9]+(?:\.[0-9]+){0,2}(?:-rc[0-9])?)/erts/",
    r"/usr/local/src/otp-(?P<version>[0-9]+\.[0-9]+(?:\.[0-9]+){0,2}(?:-rc[0-9])?)/erts/",
)
_RUBY = r"ruby (?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:(?:p|preview|rc|dev)[0-9]*)?) "

CLASSIFIERS: tuple[Classifier, ...] = (
    Classifier(
        "python-binary",
        _name(r"python(?P<version>[0-9]+(?:\.[0-9]+)+)"),
        (_PY_VERSION,),
        "python",
        _PYTHON_CPES,
    ),
    Classifier(
        "python-binary-lib",
        _name(r"libpython(?P<version>[0-9]+(?:\.[0-9]+)+)[a-z]?\.so.*"),
        (_PY_VERSION,),
        "python",
        _PYTHON_CPES,
    ),
    Classifier(
        "pypy-binary-lib",
        _name(r"libpypy.*\.so.*"),
        (r"\[PyPy (?P<version>[0-9]+\.[0-9]+\.[0-9]+)",),
        "pypy",
        ("pypy:pypy",),
    ),
    Classifier(
        "go-binary",
        _name(r"go(?:\.exe)?"),
        (r"go(?P<version>[0-9]+\.[0-9]+(?:\.[0-9]+|beta[0-9]+|alpha[0-9]+|rc[0-9]+)?)\x00",),
        "go",
        ("golang:go",),
    ),
    Classifier(
        "julia-binary",
        _name(r"libjulia-internal\.so"),
        (r"__init__\x00(?P<version>[0-9]+\.[0-9]+\.[0-9]+)\x00verify",),
        "julia",
        ("julialang:julia",),
    ),
    Classifier(
        "helm",
        _name(r"helm"),
        (r"\x00v(?P<version>[0-9]+\.[0-9]+\.[0-9]+)\x00",),
        "helm",
        ("helm:helm",),
        purl_path="golang/helm.sh/helm",
    ),
    Classifier(
        "redis-binary",
        _name(r"redis-server"),
        (
            r"[^\d](?P<version>\d+\.\d+\.\d+)buildkitsandbox-\d+",
            r"[^\d](?P<version>[0-9]+\.[0-9]+\.[0-9]+)\w{12}-\d+",
            r"Redis version (?P<version>[0-9]+\.[0-9]+\.[0-9]+)",
        ),
        "redis",
        ("redislabs:redis", "redis:redis"),
    ),
    Classifier(
        "java-binary-openjdk",
        _name(r"java"),
        (
            # [NUL]openjdk[NUL]java[NUL]0.0[NUL]11.0.17+8-LTS[NUL]
            r"\x00openjdk\x00java\x00(?P<release>[0-9][.0-9]{0,32})\x00"
            r"(?P<version>[0-9][^\x00]{1,64})\x00",
            # arm64: [NUL]0.0[NUL][NUL]…[NUL]11.0.22+7[NUL]…[NUL]openjdk[NUL]java[NUL]
            r"\x00(?P<release>[0-9][.0-9]{0,32})\x00{1,64}(?P<version>[0-9][^\x00]{1,64})"
            r"\x00{1,64}openjdk\x00java",
        ),
        "java/jre",
        ("oracle:openjdk",),
        exclude=r"-jvmci-",  # GraalVM
    ),
    Classifier(
        "java-binary-ibm",
        _name(r"java"),
        (
            r"\x00java\x00(?P<release>[0-9][.0-9]{1,32})\x00{4}"
            r"(?P<version>[0-9][-._a-zA-Z0-9]{1,64})\x00",
        ),
        "java/jre",
        ("ibm:java",),
    ),
    Classifier(
        "java-binary-oracle",
        _name(r"java"),
        (r"\x00(?P<version>[0-9][.0-9]{1,32}[+][-0-9]{1,32})\x00",),
        "java/jre",
        ("oracle:jre",),
        exclude=r"\x00openjdk\x00",
    ),
    Classifier(
        "java-binary-graalvm",
        _name(r"java"),
        (
            r"\x00(?P<version>[0-9][.0-9]{2,32}\+[0-9]{1,16}-jvmci-[0-9][.0-9]{1,32}"
            r"-b[0-9]{1,16})\x00",
        ),
        "java/graalvm",
        ("oracle:graalvm",),
    ),
    Classifier(
        "java-binary-jdk",
        _name(r"jdb"),
        (
            r"\x00(?P<version>[0-9]{1,16}\.[0-9]{1,16}\.[0-9]{1,16}(?:\+[0-9]{1,16})?"
            r"(?:[-._a-zA-Z0-9]{1,64})?)\x00",
        ),
        "java/jdk",
        ("oracle:jdk",),
    ),
    Classifier(
        "nodejs-binary",
        _name(r"node"),
        (
            r"\x00(?:node )?v(?P<version>(?:0|4|5|6)\.[0-9]+\.[0-9]+)\x00",
            r"node\.js/v(?P<version>[0-9]+\.[0-9]+\.[0-9]+)",
        ),
        "node",
        ("nodejs:node.js",),
    ),
    Classifier(
        "busybox-binary",
        _name(r"busybox"),
        (r"BusyBox\s{1,8}v(?P<version>[0-9]+\.[0-9]+\.[0-9]+)",),
        "busybox",
        ("busybox:busybox",),
    ),
    Classifier(
        "util-linux-binary",
        _name(r"getopt"),
        (r"\x00util-linux\s(?P<version>[0-9]+\.[0-9]+\.[0-9]+)\x00",),
        "util-linux",
        ("kernel:util-linux",),
    ),
    Classifier(
        "haproxy-binary",
        _name(r"haproxy"),
        (
            r"version (?P<version>[0-9]+\.[0-9]+(?:\.|-dev|-rc)[0-9]+)(?:-[a-z0-9]{7})?, released 20",
            r"HA-Proxy version (?P<version>[0-9]+\.[0-9]+(?:\.|-dev)[0-9]+)",
            r"(?<![0-9])(?P<version>[0-9]+\.[0-9]+(?:\.|-dev)[0-9]+)-[0-9a-zA-Z]{7}"
            r".{1,256}HAProxy version",
        ),
        "haproxy",
        ("haproxy:haproxy",),
    ),
    Classifier(
        "perl-binary",
        _name(r"perl"),
        (r"/usr/local/lib/perl\d/(?P<version>[0-9]+\.[0-9]+\.[0-9]+)",),
        "perl",
        ("perl:perl",),
    ),
    Classifier("php-cli-binary", _name(r"php[0-9]*"), (_PHP,), "php-cli", ("php:php",)),
    Classifier("php-fpm-binary", _name(r"php-fpm.*"), (_PHP,), "php-fpm", ("php:php",)),
    Classifier(
        "php-apache-binary",
        _name(r"libphp.*\.so"),
        (_PHP,),
        "libphp",
        ("php:php",),
        purl_path="generic/php",
    ),
    Classifier(
        "php-composer-binary",
        _name(r"composer.*"),
        (
            r"'pretty_version'\s{0,64}=>\s{0,64}'(?P<version>[0-9]+\.[0-9]+\.[0-9]+"
            r"(?:beta[0-9]+|alpha[0-9]+|RC[0-9]+)?)'",
        ),
        "composer",
        ("getcomposer:composer",),
    ),
    Classifier(
        "httpd-binary",
        _name(r"httpd"),
        (r"Apache/(?P<version>[0-9]+\.[0-9]+\.[0-9]+)",),
        "httpd",
        ("apache:http_server",),
    ),
    Classifier(
        "memcached-binary",
        _name(r"memcached"),
        (r"memcached\s(?P<version>[0-9]+\.[0-9]+\.[0-9]+)",),
        "memcached",
        ("memcached:memcached",),
    ),
    Classifier(
        "traefik-binary",
        _name(r"traefik"),
        (r"(?<![0-9])(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-alpha[0-9]|-beta[0-9]|-rc[0-9])?)\x00",),
        "traefik",
        ("traefik:traefik",),
    ),
    Classifier(
        "arangodb-binary",
        _name(r"arangosh"),
        (r"(?<![0-9])(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9]+)?)\s\[linux\]",),
        "arangodb",
        ("arangodb:arangodb",),
    ),
    Classifier(
        "postgresql-binary",
        _name(r"postgres"),
        (r"(?:\x00|\?)PostgreSQL (?P<version>" + _DB_VERSION + ")",),
        "postgresql",
        ("postgresql:postgresql",),
    ),
    Classifier(
        "mysql-binary",
        _name(r"mysql"),
        (
            # shutdown[NUL]8.0.37[NUL][NUL][NUL][NUL][NUL]mysql_real_esc
            r"\x00(?P<version>" + _DB_VERSION + r")\x00{1,64}mysql",
            # …/release/mysql-8.0.4-rc/mysys_ssl/my_default.cc
            r"/mysql-(?P<version>" + _DB_VERSION + ")",
        ),
        "mysql",
        ("oracle:mysql",),
    ),
    Classifier(
        "mysql-binary",
        _name(r"mysql"),
        (r"/percona-server-(?P<version>" + _DB_VERSION + ")",),
        "percona-server",
        ("oracle:mysql", "percona:percona_server"),
    ),
    Classifier(
        "mysql-binary",
        _name(r"mysql"),
        (r"/Percona-XtraDB-Cluster-(?P<version>" + _DB_VERSION + ")",),
        "percona-xtradb-cluster",
        ("oracle:mysql", "percona:percona_server", "percona:xtradb_cluster"),
    ),
    Classifier(
        "xtrabackup-binary",
        _name(r"xtrabackup"),
        (r"/percona-xtrabackup-(?P<version>" + _DB_VERSION + ")",),
        "percona-xtrabackup",
        ("percona:xtrabackup",),
    ),
    Classifier(
        "mariadb-binary",
        _name(r"mariadb|mysql"),
        (r"(?<![0-9])(?P<version>" + _DB_VERSION + ")-MariaDB",),
        "mariadb",
        ("mariadb:mariadb",),
    ),
    Classifier(
        "rust-standard-library-linux",
        _name(r"libstd-.{16}\.so"),
        (
            r"\x00clang LLVM \(rustc version (?P<version>[0-9]+(?:\.[0-9]+)?\.[0-9]+) "
            r"\(\w{1,64} \d{4}-\d{2}-\d{2}\)",
        ),
        "rust",
        ("rust-lang:rust",),
    ),
    Classifier(
        "rust-standard-library-macos",
        _name(r"libstd-.{16}\.dylib"),
        (r"c (?P<version>[0-9]+(?:\.[0-9]+)?\.[0-9]+) \(\w{1,64} \d{4}-\d{2}-\d{2}\)",),
        "rust",
        ("rust-lang:rust",),
    ),
    Classifier("ruby-binary", _name(r"ruby"), (_RUBY,), "ruby", ("ruby-lang:ruby",)),
    Classifier("erlang-binary", _name(r"erlexec"), _OTP, "erlang", ("erlang:erlang\\/otp",)),
    Classifier(
        "erlang-alpine-binary", _name(r"beam\.smp"), _OTP, "erlang", ("erlang:erlang\\/otp",)
    ),
    Classifier(
        "swipl-binary",
        _name(r"swipl"),
        (r"swipl-(?P<version>[0-9]+\.[0-9]+\.[0-9]+)/",),
        "swipl",
        ("erlang:erlang\\/otp",),  # sic: syft's
    ),
    Classifier(
        "dart-binary",
        _name(r"dart"),
        (r"\x00(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9]+(?:\.[0-9]+)?\.beta)?) ",),
        "dart",
        ("dart:dart_software_development_kit",),
    ),
    Classifier(
        "haskell-ghc-binary",
        _name(r"ghc.*"),
        (r"\x00GHC (?P<version>[0-9]+\.[0-9]+\.[0-9]+)\x00",),
        "haskell/ghc",
        ("haskell:ghc", "haskell\\/ghc:haskell\\/ghc"),
    ),
    Classifier(
        "haskell-cabal-binary",
        _name(r"cabal"),
        (r"\x00Cabal-(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:\.[0-9]+)?)-",),
        "haskell/cabal",
        ("haskell:cabal", "haskell\\/cabal:haskell\\/cabal"),
    ),
    Classifier(
        "haskell-stack-binary",
        _name(r"stack"),
        (r"Version\s{0,64}(?P<version>[0-9]+\.[0-9]+\.[0-9]+),\s{0,64}Git",),
        "haskell/stack",
        ("haskell:stack", "haskell\\/stack:haskell\\/stack"),
    ),
    Classifier(
        "consul-binary",
        _name(r"consul"),
        (r"CONSUL_VERSION: (?P<version>\d+\.\d+\.\d+)",),
        "consul",
        ("hashicorp:consul",),
        purl_path="golang/github.com/hashicorp/consul",
    ),
    Classifier(
        "nginx-binary",
        _name(r"nginx"),
        (
            # [NUL]nginx version: openresty/1.21.4.1 gives 1.21.4, the nginx version part
            r"(?:\x00|\?)nginx version: [^/\x00]{1,64}/"
            r"(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:\+\d+)?(?:-\d+)?)",
        ),
        "nginx",
        ("f5:nginx", "nginx:nginx"),
    ),
    Classifier(
        "bash-binary",
        _name(r"bash"),
        (r"@\(#\)Bash version (?P<version>[0-9]+\.[0-9]+\.[0-9]+)\([0-9]\) [a-z0-9]{1,16} GNU",),
        "bash",
        ("gnu:bash",),
    ),
    Classifier(
        "openssl-binary",
        _name(r"openssl"),
        (
            r"\x00OpenSSL (?P<version>[0-9]+\.[0-9]+\.[0-9]+"
            r"(?:[a-z]|-alpha[0-9]|-beta[0-9]|-rc[0-9])?)",
        ),
        "openssl",
        ("openssl:openssl",),
    ),
    Classifier(
        "gcc-binary",
        _name(r"gcc"),
        (r"GCC: \(GNU\) (?P<version>[0-9]+\.[0-9]+\.[0-9]+)",),
        "gcc",
        ("gnu:gcc",),
    ),
    Classifier(
        "fluent-bit-binary",
        _name(r"fluent-bit"),
        (r"\x00(?P<version>[0-9]+\.[0-9]+\.[0-9]+)\x00[^\d]{0,64}Fluent",),
        "fluent-bit",
        ("treasuredata:fluent_bit",),
        purl_path="github/fluent/fluent-bit",
    ),
    Classifier(
        "wordpress-cli-binary",
        _name(r"wp"),
        (r"wp-cli/wp-cli (?P<version>[0-9]+\.[0-9]+\.[0-9]+)",),
        "wp-cli",
        ("wp-cli:wp-cli",),
    ),
    Classifier(
        "curl-binary",
        _name(r"curl"),
        (r"curl/(?P<version>[0-9]+\.[0-9]+\.[0-9]+)",),
        "curl",
        ("haxx:curl",),
    ),
    Classifier(
        "lighttpd-binary",
        _name(r"lighttpd"),
        (r"\x00lighttpd/(?P<version>[0-9]+\.[0-9]+\.[0-9]+)\x00",),
        "lighttpd",
        ("lighttpd:lighttpd",),
    ),
    Classifier(
        "proftpd-binary",
        _name(r"proftpd"),
        (r"\x00ProFTPD Version (?P<version>[0-9]+\.[0-9]+\.[0-9]+[a-z]?)\x00",),
        "proftpd",
        ("proftpd:proftpd",),
    ),
    Classifier(
        "zstd-binary",
        _name(r"zstd"),
        (r"\x00v(?P<version>[0-9]+\.[0-9]+\.[0-9]+)\x00",),
        "zstd",
        ("facebook:zstandard",),
    ),
    Classifier(
        "xz-binary",
        _name(r"xz"),
        (r"\x00xz \(XZ Utils\) (?P<version>[0-9]+\.[0-9]+\.[0-9]+)\x00",),
        "xz",
        ("tukaani:xz",),
    ),
    Classifier(
        "gzip-binary",
        _name(r"gzip"),
        (r"\x00(?P<version>[0-9]+\.[0-9]+)\x00",),
        "gzip",
        ("gnu:gzip",),
    ),
    Classifier(
        "sqlcipher-binary",
        _name(r"sqlcipher"),
        (r"[^0-9]\x00(?P<version>[0-9]+\.[0-9]+\.[0-9]+)\x00",),
        "sqlcipher",
        ("zetetic:sqlcipher",),
    ),
    Classifier(
        "jq-binary",
        _name(r"jq"),
        (r"\x00(?P<version>[0-9]{1,3}\.[0-9]{1,3}(?:\.[0-9]+)?)\x00",),
        "jq",
        ("jqlang:jq",),
    ),
)

_COMPILED: dict[str, re.Pattern[bytes]] = {}


def _pattern(source: str) -> re.Pattern[bytes]:
    found = _COMPILED.get(source)
    if found is None:
        found = _COMPILED[source] = re.compile(source.encode("latin-1"))
    return found


def search_window(data: ProbeData, pattern: re.Pattern[bytes]) -> re.Match[bytes] | None:
    """The first match of ``pattern`` in ``data``, reading :data:`WINDOW` bytes at a time."""
    size = len(data)
    start = 0
    while start < size:
        chunk = data[start : start + WINDOW + OVERLAP]
        match = pattern.search(chunk)
        if match is not None:
            return match
        start += WINDOW
    return None


def classify(classifier: Classifier, path: str, data: ProbeData) -> str | None:
    """The version ``classifier`` finds in the file at ``path``, or None."""
    named = classifier.file_name.fullmatch(path.rsplit("/", 1)[-1])
    if named is None:
        return None
    prefix = re.escape(named.group("version")) if "version" in named.groupdict() else ""
    for source in classifier.evidence:
        if "{version}" in source:
            if not prefix:
                continue
            source = source.replace("{version}", prefix)
        match = search_window(data, _pattern(source))
        if match is not None:
            return match.group("version").decode("ascii", "replace")
    return None


class BinaryClassifierCataloger:
    """``binary`` packages for the executables the classifiers recognise (syft's
    ``binary-classifier-cataloger``)."""

    name = "binary-classifier-cataloger"

    def __init__(self, classifiers: tuple[Classifier, ...] = CLASSIFIERS) -> None:
        self.classifiers = classifiers

    def probe(self, entry: FileEntry, data: ProbeData) -> list[Package]:
        out: list[Package] = []
        seen: set[str] = set()
        for classifier in self.classifiers:
            if classifier.package in seen:
                continue
            version = classify(classifier, entry.path, data)
            if not version:
                continue
            if classifier.exclude and search_window(data, _pattern(classifier.exclude)):
                continue
            seen.add(classifier.package)
            out.append(
                Package(
                    classifier.package,
                    version,
                    "binary",
                    classifier.purl(version),
                    locations=[Location(entry.path, entry.layer)],
                    cpes=[_cpe(vp, version) for vp in classifier.cpes],
                    metadata={"classifier": classifier.cls},
                )
            )
        return out
