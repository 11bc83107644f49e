"""The deployment guide's files are real: ``docs/deploy/kubernetes.yml`` holds consistent
Kubernetes objects (each one valid against the Kubernetes OpenAPI schema, strictly: no field
the API server would drop; and every reference between them resolves: the Secret and ConfigMap
the pods use, the probes' and the Service's named ports, the Service's selector), and the registry
config in its ConfigMap — and ``docs/deploy/registry.yml`` — load through dockyard's own strict
config loader with the Secret's variables, naming PostgreSQL, S3 and Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import kubernetes_validate
import pytest
import yaml

from dockyard.cli._main import cli, register_commands
from dockyard.registry.config import RegistryConfig, load

DEPLOY = Path(__file__).resolve().parent.parent / "docs" / "deploy"


def _objects() -> dict[tuple[str, str], dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "kubernetes.yml").read_text()) if d]
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for doc in docs:
        assert {"apiVersion", "kind", "metadata"} <= set(doc), doc
        out[(doc["kind"], doc["metadata"]["name"])] = doc
    return out


def _load(text: str, tmp_path: Path, env: dict[str, str]) -> RegistryConfig:
    path = tmp_path / "registry.yml"
    path.write_text(text)
    return load(path, env)


def _check(config: RegistryConfig) -> None:
    assert config.storage.driver == "s3"
    assert config.database.url is not None and config.database.url.startswith("postgresql")
    assert config.redis is not None and config.redis.address == "redis:6379"
    assert config.access is not None
    assert config.access.key is not None  # one signing key for every replica
    assert config.http.debug_addr is not None


#: the Kubernetes release whose OpenAPI schema the manifests are checked against
KUBERNETES = "1.31"


def test_every_object_is_valid_against_the_kubernetes_schema() -> None:
    objects = _objects()
    assert {kind for kind, _ in objects} >= {"Deployment", "Service", "ConfigMap", "Secret", "Job"}
    for (kind, name), doc in objects.items():
        try:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{kind} {name}: {exc.message} at {list(exc.absolute_path)}")


def test_the_schema_check_catches_a_misspelt_field() -> None:
    """A probe's ``portt`` is dropped silently by a lenient API server: the strict check says."""
    deployment = _objects()[("Deployment", "dockyard-registry")]
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]
    probe["portt"] = probe.pop("port")
    with pytest.raises(kubernetes_validate.ValidationError, match="portt"):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def test_the_objects_refer_to_each_other_correctly() -> None:
    objects = _objects()
    secrets = {name for kind, name in objects if kind == "Secret"}
    maps = {name for kind, name in objects if kind == "ConfigMap"}
    deployment = objects[("Deployment", "dockyard-registry")]
    spec = deployment["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    assert spec["replicas"] >= 2  # replicas are the point of this deployment
    pods = [
        spec["template"]["spec"],
        objects[("Job", "dockyard-registry-migrate")]["spec"]["template"]["spec"],
    ]
    for pod in pods:
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                assert source["secretRef"]["name"] in secrets
            for mount in container.get("volumeMounts", []):
                volume = volumes[mount["name"]]
                if "configMap" in volume:
                    assert volume["configMap"]["name"] in maps
                if "secret" in volume:  # the token key: made by the operator, not listed here
                    assert volume["secret"]["secretName"] == "dockyard-registry-token"
    (registry,) = spec["template"]["spec"]["containers"]
    ports = {p["name"] for p in registry["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        assert registry[probe]["httpGet"]["path"] == "/healthz"
        assert registry[probe]["httpGet"]["port"] in ports
    service = objects[("Service", "dockyard-registry")]
    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports


@pytest.mark.parametrize("what", ["configmap", "registry.yml"])
def test_the_registry_config_loads_with_the_secret(what: str, tmp_path: Path) -> None:
    objects = _objects()
    env = dict(objects[("Secret", "dockyard-registry")]["stringData"])
    if what == "configmap":
        text = objects[("ConfigMap", "dockyard-registry")]["data"]["registry.yml"]
    else:
        text = (DEPLOY / "registry.yml").read_text()
    _check(_load(text, tmp_path, env))


def test_the_pods_run_commands_dockyard_has() -> None:
    """The Deployment's and the Job's args name real subcommands and options."""
    register_commands()
    objects = _objects()
    pods = [
        objects[("Deployment", "dockyard-registry")]["spec"]["template"]["spec"],
        objects[("Job", "dockyard-registry-migrate")]["spec"]["template"]["spec"],
    ]
    for pod in pods:
        for container in pod["containers"]:
            args = list(container["args"])
            command: click.Command = cli
            while isinstance(command, click.Group) and args and args[0] in command.commands:
                command = command.commands[args.pop(0)]
            assert not isinstance(command, click.Group), container["args"]
            ctx = command.make_context(command.name, args, resilient_parsing=False)
            assert ctx.params


def test_the_compose_example_is_consistent(tmp_path: Path) -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yml").read_text())
    services = compose["services"]
    for name, service in services.items():
        for needed in service.get("depends_on", []):
            assert needed in services, (name, needed)
    replicas = [
        s for s in services.values() if s.get("command", [None])[:2] == ["registry", "serve"]
    ]
    assert len(replicas) >= 2
    env = {k: str(v) for k, v in replicas[0]["environment"].items()}
    _check(_load((DEPLOY / "registry.yml").read_text(), tmp_path, env))
    haproxy = (DEPLOY / "haproxy.cfg").read_text()
    for name, service in services.items():
        if service in replicas:
            assert f"server {name} {name}:5000 check" in haproxy
