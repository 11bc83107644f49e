"""License names as declared by packages, mapped to SPDX identifiers where the mapping is sure."""

from __future__ import annotations

import re

__all__ = ["license_ref", "spdx_id"]

#: Common SPDX license-list identifiers (spdx.org/licenses), used verbatim when declared.
_SPDX_IDS = frozenset(
    [
        "0BSD",
        "AFL-2.1",
        "AGPL-3.0-only",
        "AGPL-3.0-or-later",
        "Apache-1.1",
        "Apache-2.0",
        "Artistic-1.0",
        "Artistic-1.0-Perl",
        "Artistic-2.0",
        "BSD-1-Clause",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "BSD-4-Clause",
        "BSL-1.0",
        "CC-BY-3.0",
        "CC-BY-4.0",
        "CC-BY-SA-3.0",
        "CC-BY-SA-4.0",
        "CC0-1.0",
        "CDDL-1.0",
        "CDDL-1.1",
        "EPL-1.0",
        "EPL-2.0",
        "GFDL-1.2-only",
        "GFDL-1.2-or-later",
        "GFDL-1.3-only",
        "GFDL-1.3-or-later",
        "GPL-1.0-only",
        "GPL-1.0-or-later",
        "GPL-2.0-only",
        "GPL-2.0-or-later",
        "GPL-3.0-only",
        "GPL-3.0-or-later",
        "HPND",
        "ISC",
        "LGPL-2.0-only",
        "LGPL-2.0-or-later",
        "LGPL-2.1-only",
        "LGPL-2.1-or-later",
        "LGPL-3.0-only",
        "LGPL-3.0-or-later",
        "MIT",
        "MIT-0",
        "MPL-1.1",
        "MPL-2.0",
        "OpenSSL",
        "PSF-2.0",
        "Python-2.0",
        "Ruby",
        "Unicode-DFS-2016",
        "Unlicense",
        "WTFPL",
        "X11",
        "Zlib",
        "zlib-acknowledgement",
        "curl",
        "bzip2-1.0.6",
        "Beerware",
        "FSFAP",
        "FSFUL",
        "FSFULLR",
    ]
)
_BY_LOWER = {i.lower(): i for i in _SPDX_IDS}

#: Debian copyright short names and other common spellings.
_ALIASES = {
    "gpl-1": "GPL-1.0-only",
    "gpl-1+": "GPL-1.0-or-later",
    "gpl-2": "GPL-2.0-only",
    "gpl-2+": "GPL-2.0-or-later",
    "gpl-3": "GPL-3.0-only",
    "gpl-3+": "GPL-3.0-or-later",
    "lgpl-2": "LGPL-2.0-only",
    "lgpl-2+": "LGPL-2.0-or-later",
    "lgpl-2.1": "LGPL-2.1-only",
    "lgpl-2.1+": "LGPL-2.1-or-later",
    "lgpl-3": "LGPL-3.0-only",
    "lgpl-3+": "LGPL-3.0-or-later",
    "gfdl-1.2": "GFDL-1.2-only",
    "gfdl-1.3": "GFDL-1.3-only",
    "gfdl-1.2+": "GFDL-1.2-or-later",
    "gfdl-1.3+": "GFDL-1.3-or-later",
    "apache-2": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "mit license": "MIT",
    "expat": "MIT",
    "bsd-3-clause license": "BSD-3-Clause",
    "bsd license": "BSD-3-Clause",
    "isc license (iscl)": "ISC",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "python software foundation license": "PSF-2.0",
    "artistic": "Artistic-1.0-Perl",
    "cc0": "CC0-1.0",
    "mpl-2": "MPL-2.0",
    "zlib": "Zlib",
}


def spdx_id(declared: str) -> str | None:
    """The SPDX identifier ``declared`` stands for, or None when unsure."""
    text = declared.strip()
    return _BY_LOWER.get(text.lower()) or _ALIASES.get(text.lower())


def license_ref(declared: str) -> str:
    """A ``LicenseRef-`` id for a license with no SPDX identifier (idstring: letters, digits, .-)."""
    return "LicenseRef-" + (
        re.sub(r"[^A-Za-z0-9.\-]+", "-", declared.strip()).strip("-") or "unknown"
    )
