"""Binary classifiers: the version a static binary carries in its own bytes.

After syft's binary classifiers (``syft/pkg/cataloger/binary/classifiers.go``): a file whose
name matches a classifier is searched for that classifier's version pattern, and a match
becomes a ``binary`` package with a ``pkg:generic`` purl and the CPEs vulnerability databases
use. The bytes are searched a window at a time (:data:`WINDOW` plus an overlap, so a version
string across a window edge is still found): never the whole file in memory. Python's regular
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
    cpes: tuple[str, ...]  # vendor:product pairs
    namespace: str = ""


def _cpe(vendor_product: str, version: str) -> str:
    return f"cpe:2.3:a:{vendor_product}:{version}:*:*:*:*:*:*:*"


_PY_VERSION = r"\x00(?P<version>{version}[-._a-zA-Z0-9]{0,32})\x00"
_PYTHON_CPES = ("python_software_foundation:python", "python:python")

CLASSIFIERS: tuple[Classifier, ...] = (
    Classifier(
        "busybox-binary",
        re.compile(r"busybox"),
        (r"BusyBox\s{1,8}v(?P<version>[0-9]+\.[0-9]+\.[0-9]+)",),
        "busybox",
        ("busybox:busybox",),
    ),
    Classifier(
        "python-binary",
        re.compile(r"python(?P<version>[0-9]+(?:\.[0-9]+)+)"),
        (_PY_VERSION,),
        "python",
        _PYTHON_CPES,
    ),
    Classifier(
        "python-binary-lib",
        re.compile(r"libpython(?P<version>[0-9]+(?:\.[0-9]+)+)[a-z]?\.so.*"),
        (_PY_VERSION,),
        "python",
        _PYTHON_CPES,
    ),
    Classifier(
        "go-binary",
        re.compile(r"go(?:\.exe)?"),
        (r"go(?P<version>[0-9]+\.[0-9]+(?:\.[0-9]+|beta[0-9]+|alpha[0-9]+|rc[0-9]+)?)\x00",),
        "go",
        ("golang:go",),
    ),
    Classifier(
        "nodejs-binary",
        re.compile(r"node"),
        (
            r"\x00(?:node )?v(?P<version>(?:0|4|5|6)\.[0-9]+\.[0-9]+)\x00",
            r"node\.js/v(?P<version>[0-9]+\.[0-9]+\.[0-9]+)",
        ),
        "node",
        ("nodejs:node.js",),
    ),
    Classifier(
        "java-binary-openjdk",
        re.compile(r"java"),
        (
            r"\x00openjdk\x00java\x00(?P<release>[0-9]+[.0-9]*)\x00"
            r"(?P<version>[0-9]+[^\x00]{1,64})\x00",
        ),
        "openjdk",
        ("oracle:openjdk",),
        namespace="oracle",
    ),
    Classifier(
        "openssl-binary",
        re.compile(r"openssl|libcrypto\.so.*|libssl\.so.*"),
        (
            r"\x00OpenSSL (?P<version>[0-9]+\.[0-9]+\.[0-9]+"
            r"(?:[a-z]+|-alpha[0-9]|-beta[0-9]|-rc[0-9])?)",
        ),
        "openssl",
        ("openssl:openssl",),
    ),
    Classifier(
        "redis-binary",
        re.compile(r"redis-server"),
        (
            r"[^\d](?P<version>\d+\.\d+\.\d+)buildkitsandbox-\d+",
            r"[^\d](?P<version>[0-9]+\.[0-9]+\.[0-9]+)\w{12}-\d+",
            r"Redis version (?P<version>[0-9]+\.[0-9]+\.[0-9]+)",
        ),
        "redis",
        ("redislabs:redis", "redis:redis"),
    ),
    Classifier(
        "nginx-binary",
        re.compile(r"nginx"),
        (
            r"(?:\x00|\?)nginx version: [^/\x00]{1,64}/"
            r"(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:\+\d+)?(?:-\d+)?)",
        ),
        "nginx",
        ("f5:nginx", "nginx:nginx"),
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
            seen.add(classifier.package)
            out.append(
                Package(
                    classifier.package,
                    version,
                    "binary",
                    purl("generic", classifier.package, version, namespace=classifier.namespace),
                    locations=[Location(entry.path, entry.layer)],
                    cpes=[_cpe(vp, version) for vp in classifier.cpes],
                    metadata={"classifier": classifier.cls},
                )
            )
        return out
