"""Shared test infrastructure: a real dockerd, offline base images, the dockyard CLI.

The helpers of one test area are submodules, imported by name (``from _infra.registry_server
import start_registry``), e.g. ``registry_server`` (dockyard's registry in process and as a
process), ``projects_registry`` and ``harbor_api`` (the teams model and Harbor's definitions),
``team_cli``, ``oci_layout``, ``build_helpers``, ``scan_env``/``scan_pyenv``/``scan_hostile``/
``scan_feeds`` (the scanner's test data, old Python packages, hostile layers, feed mirrors),
``actions_runner``/``gitlab_runner`` (CI runners). ``tests`` is on ``sys.path`` (pytest's
``pythonpath``): test modules import these without patching ``sys.path``.
"""

from _infra._cli import ROOT_ENV, dockyard_executable, run_dockyard
from _infra._dockerd import (
    DOCKER,
    REUSE_ENV,
    DaemonUnavailable,
    DockerDaemon,
    find_dockerd,
    reused_daemon,
    started_daemon,
)
from _infra._images import (
    BUSYBOX_REF,
    MULTI,
    MULTILAYER_REF,
    BuiltImage,
    MultiLayerSpec,
    build_busybox_image,
    build_multilayer_image,
    image_id,
    make_busybox_rootfs,
    pattern_bytes,
    save_image,
    tar_rootfs,
)
from _infra._podman import Podman
from _infra._process import CommandFailed, run_command, terminate
from _infra._registry import (
    RunningRegistry,
    docker_registry,
    dockyard_registry,
    free_port,
    skopeo_push,
)

__all__ = [
    "BUSYBOX_REF",
    "DOCKER",
    "MULTI",
    "MULTILAYER_REF",
    "REUSE_ENV",
    "ROOT_ENV",
    "BuiltImage",
    "CommandFailed",
    "DaemonUnavailable",
    "DockerDaemon",
    "MultiLayerSpec",
    "Podman",
    "RunningRegistry",
    "build_busybox_image",
    "build_multilayer_image",
    "docker_registry",
    "dockyard_executable",
    "dockyard_registry",
    "find_dockerd",
    "free_port",
    "image_id",
    "make_busybox_rootfs",
    "pattern_bytes",
    "reused_daemon",
    "run_command",
    "run_dockyard",
    "save_image",
    "skopeo_push",
    "started_daemon",
    "tar_rootfs",
    "terminate",
]
