"""Catalogers: each reads the files matching its globs and reports the packages they declare."""

from dockyard.scan.catalog._apk import ApkCataloger
from dockyard.scan.catalog._base import BinaryCataloger, Cataloger, Context
from dockyard.scan.catalog._classifiers import BinaryClassifierCataloger
from dockyard.scan.catalog._dpkg import DpkgCataloger
from dockyard.scan.catalog._golang import GoBinaryCataloger, read_build_info
from dockyard.scan.catalog._java import JavaCataloger
from dockyard.scan.catalog._jvm import JvmReleaseCataloger
from dockyard.scan.catalog._npm import NpmCataloger
from dockyard.scan.catalog._osrelease import GLOBS as OS_RELEASE_GLOBS
from dockyard.scan.catalog._osrelease import find_distro
from dockyard.scan.catalog._ownership import OWNERSHIP_GLOBS, drop_owned_binaries
from dockyard.scan.catalog._python import PythonCataloger
from dockyard.scan.catalog._rpm import RpmCataloger
from dockyard.scan.catalog._ruby import GemspecCataloger
from dockyard.scan.catalog._rust import CargoAuditableCataloger, CargoLockCataloger

__all__ = [
    "OS_RELEASE_GLOBS",
    "OWNERSHIP_GLOBS",
    "ApkCataloger",
    "BinaryCataloger",
    "BinaryClassifierCataloger",
    "CargoAuditableCataloger",
    "CargoLockCataloger",
    "Cataloger",
    "Context",
    "DpkgCataloger",
    "GemspecCataloger",
    "GoBinaryCataloger",
    "JavaCataloger",
    "JvmReleaseCataloger",
    "NpmCataloger",
    "PythonCataloger",
    "RpmCataloger",
    "drop_owned_binaries",
    "find_distro",
    "read_build_info",
]
