"""A Python environment made by ``pip install --target`` of pinned old wheels, cached per machine.

The versions are old on purpose: the vulnerability tests expect their PYSEC advisories.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _infra._debian import cache_dir

REQUIREMENTS = (
    "requests==2.19.1",
    "urllib3==1.24.1",
    "jinja2==2.10",
    "idna==2.7",
    "certifi==2018.4.16",
    "chardet==3.0.4",
    "MarkupSafe==2.0.1",
)


def _pip() -> list[str]:
    for python in (shutil.which("python3") or "", sys.executable):
        if (
            python
            and subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode
            == 0
        ):
            return [python, "-m", "pip"]
    raise RuntimeError("no pip found on this machine (`apt-get install python3-pip`)")


def python_site_packages() -> Path:
    """A directory of installed distributions (site-packages layout), built once per machine."""
    key = hashlib.sha256("\n".join(REQUIREMENTS).encode()).hexdigest()[:12]
    target = cache_dir() / f"pyenv-{key}"
    if (target / ".complete").exists():
        return target
    with open(cache_dir() / f"pyenv-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix="pyenv-", dir=cache_dir()))
        proc = subprocess.run(
            [
                *_pip(),
                "install",
                "--quiet",
                "--no-deps",
                "--no-compile",
                "--disable-pip-version-check",
                "--target",
                str(work),
                *REQUIREMENTS,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            raise RuntimeError(f"pip install --target failed (is PyPI reachable?):\n{proc.stderr}")
        shutil.rmtree(work / "bin", ignore_errors=True)
        (work / ".complete").touch()
        work.rename(target)
    return target


#: Every PYSEC advisory in the test data whose ranges contain the versions pinned above.
PYTHON_FINDINGS = {
    ("jinja2", "PYSEC-2019-217"),
    ("jinja2", "PYSEC-2021-66"),
    ("certifi", "PYSEC-2022-42986"),
    ("certifi", "PYSEC-2023-135"),
    ("idna", "PYSEC-2024-60"),
    ("requests", "PYSEC-2018-28"),
    ("requests", "PYSEC-2023-74"),
    ("urllib3", "PYSEC-2019-132"),
    ("urllib3", "PYSEC-2019-133"),
    ("urllib3", "PYSEC-2020-148"),
    ("urllib3", "PYSEC-2021-108"),
    ("urllib3", "PYSEC-2023-192"),
    ("urllib3", "PYSEC-2023-207"),
    ("urllib3", "PYSEC-2023-212"),
}
