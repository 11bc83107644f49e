"""A Go toolchain base image made offline: Debian bookworm with Debian's ``golang-go``.

The root filesystem is the cached ``debootstrap --variant=minbase bookworm`` tree
(:mod:`_infra._debian`) with the files of this machine's Debian packages ``golang-go``,
``golang-1.19-go``, ``golang-src`` and ``golang-1.19-src`` added at the paths the packages
install them (``/usr/bin/go`` → ``/usr/lib/go-1.19/bin/go``), which is what ``apt-get install
golang-go`` in that root gives, less what building a program never reads (tests, docs, man
pages, the compiler's own sources, the precompiled ``pkg/linux_amd64``).

So that a test does not spend ~15 s compiling Go's runtime for arm64 on every build, the image
carries a warm build cache (Go's default cache directory for the image's root user) holding the
standard-library packages :data:`WARM_IMPORTS` need, for linux/amd64 and linux/arm64, compiled
with ``CGO_ENABLED=0`` by the same toolchain at the same ``GOROOT`` (so the cache keys match).
The tarball is made once per machine and cached beside the Debian one (``~/.cache/dockyard-tests``
or ``$DOCKYARD_TEST_CACHE``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from _infra._debian import cache_dir, debian_rootfs_tarball

__all__ = ["GOROOT", "GO_PACKAGES", "WARM_IMPORTS", "go_toolchain_tar"]

GO_PACKAGES = ("golang-go", "golang-src", "golang-1.19-go", "golang-1.19-src")
GOROOT = Path("/usr/lib/go-1.19")
#: the standard-library packages whose compiled form the image's build cache holds
WARM_IMPORTS = ("fmt", "os", "runtime")
_TOOLS = ("asm", "buildid", "cgo", "compile", "link", "pack", "vet")
_RECIPE = 2  # bump when what goes into the tarball changes


def _run(*argv: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        argv, capture_output=True, text=True, check=False, env=env, cwd=cwd, timeout=900
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-1500:]}")
    return done.stdout


def _keep(path: str) -> bool:
    """Whether a file of the Go packages goes into the image."""
    parts = path.split("/")
    if path.startswith(("/usr/share/doc/", "/usr/share/man/", "/usr/share/lintian/")):
        return False
    if "testdata" in parts or path.endswith("_test.go"):
        return False
    share = "/usr/share/go-1.19/"
    if path.startswith(tuple(share + d for d in ("test/", "misc/", "api/", "src/cmd/"))):
        return False
    if path.startswith(f"{GOROOT}/pkg/linux_amd64/"):
        return False
    tools = f"{GOROOT}/pkg/tool/linux_amd64/"
    return not path.startswith(tools) or path.removeprefix(tools) in _TOOLS


def _go_files() -> list[str]:
    """The kept files and symlinks of :data:`GO_PACKAGES`, as installed on this machine."""
    listed = _run("dpkg", "-L", *GO_PACKAGES).splitlines()
    return sorted({p for p in listed if (os.path.islink(p) or not os.path.isdir(p)) and _keep(p)})


def _warm_cache(cache: Path) -> None:
    """Compile :data:`WARM_IMPORTS` for linux/amd64 and linux/arm64 into ``cache``."""
    work = Path(tempfile.mkdtemp(prefix="go-warm-", dir=cache_dir()))
    try:
        (work / "go.mod").write_text("module example.com/warm\n\ngo 1.19\n")
        imports = "".join(f'\t_ "{name}"\n' for name in WARM_IMPORTS)
        (work / "main.go").write_text(f"package main\n\nimport (\n{imports})\n\nfunc main() {{}}\n")
        for arch in ("amd64", "arm64"):
            env = {
                "PATH": f"{GOROOT}/bin:/usr/bin:/bin",
                "HOME": str(work),
                "GOCACHE": str(cache),
                "GOROOT": str(GOROOT),
                "CGO_ENABLED": "0",
                "GOOS": "linux",
                "GOARCH": arch,
            }
            # -a: this machine's GOROOT has the precompiled pkg/linux_amd64 the image lacks;
            # compile everything so the cache holds it all (the cache keys are the same)
            go = str(GOROOT / "bin" / "go")
            _run(go, "build", "-a", "-o", os.devnull, ".", env=env, cwd=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _make(target: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="go-toolchain-", dir=cache_dir()))
    try:
        rootfs = work / "rootfs"
        rootfs.mkdir()
        _run("tar", "--numeric-owner", "-xf", str(debian_rootfs_tarball()), "-C", str(rootfs))
        listing = work / "files"
        listing.write_text("".join(p.lstrip("/") + "\n" for p in _go_files()))
        packed = work / "go.tar"
        _run("tar", "--numeric-owner", "--no-recursion", "-C", "/", "-cf", str(packed),
             "-T", str(listing))  # fmt: skip
        _run("tar", "--numeric-owner", "-xf", str(packed), "-C", str(rootfs))
        cache = rootfs / "root" / ".cache" / "go-build"
        cache.mkdir(parents=True)
        _warm_cache(cache)
        partial = work / "rootfs.tar"
        _run("tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), ".")
        partial.replace(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def go_toolchain_tar() -> Path:
    """The cached tarball of the Go toolchain root filesystem (for ``dockyard import``)."""
    if not GOROOT.joinpath("bin", "go").exists():
        raise RuntimeError(
            "the Go example needs Debian's Go toolchain on this machine: apt-get install golang-go"
        )
    target = cache_dir() / f"debian-bookworm-golang-rootfs-{_RECIPE}.tar"
    if target.exists():
        return target
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            _make(target)
    return target
