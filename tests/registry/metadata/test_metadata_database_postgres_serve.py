"""End to end on PostgreSQL: ``dockyard registry serve`` with ``REGISTRY_DATABASE_URL`` and
``auth: projects`` takes a skopeo push and pull and answers Harbor's API, every record in
PostgreSQL; against a database nobody migrated it refuses to start, naming the command."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from _infra import dockyard_executable
from _infra._process import run_command
from _infra.access_matrix import seed_layout
from _infra.postgres import PostgresServer
from _infra.projects_registry import ADMIN_PASSWORD, basic, projects_env
from _infra.registry_server import RegistryProcess, start_registry
from dockyard.registry.metadata import Database

pytestmark = pytest.mark.slow

API = "/api/v2.0"


@pytest.fixture(scope="module")
def served(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryProcess]:
    root = tmp_path_factory.mktemp("pg-served") / "data"
    env = projects_env(
        root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD, REGISTRY_DATABASE_URL=postgres_url
    )
    with start_registry(root, env=env) as server:
        yield server


def test_push_pull_and_the_api_keep_their_records_in_postgresql(
    served: RegistryProcess, postgres_url: str, tmp_path: Path
) -> None:
    admin = basic("admin", ADMIN_PASSWORD)
    with httpx.Client(base_url=served.url, headers=admin, timeout=30) as api:
        r = api.post(f"{API}/projects", json={"project_name": "team", "metadata": {}})
        assert r.status_code == 201, r.text
    layout = seed_layout(tmp_path / "layout", "pg")
    creds = f"admin:{ADMIN_PASSWORD}"
    run_command(
        ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", creds,
         f"oci:{layout}:t", f"docker://{served.host}/team/app:1"]
    )  # fmt: skip
    run_command(
        ["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--src-creds", creds,
         f"docker://{served.host}/team/app:1", f"oci:{tmp_path / 'pulled'}:t"]
    )  # fmt: skip
    pulled = (tmp_path / "pulled" / "index.json").read_text()
    original = (layout / "index.json").read_text()
    assert _manifest_digest(pulled) == _manifest_digest(original)
    with httpx.Client(base_url=served.url, headers=admin, timeout=30) as api:
        r = api.get(f"{API}/projects/team/repositories/app/artifacts")
        assert r.status_code == 200, r.text
        artifacts = r.json()
    assert [a["digest"] for a in artifacts] == [_manifest_digest(original)]
    assert [t["name"] for t in artifacts[0]["tags"]] == ["1"]
    db = Database(postgres_url)
    try:
        with db.read() as conn:
            projects = conn.execute(text("SELECT name FROM access_projects")).scalars().all()
            assert "team" in projects
            tags = conn.execute(
                text("SELECT r.name, t.name FROM tags t JOIN repositories r ON r.id = t.repo_id")
            ).all()
            assert [tuple(row) for row in tags] == [("team/app", "1")]
    finally:
        db.close()
    assert not (served.root / "registry.db").exists()


def _manifest_digest(index_json: str) -> str:
    return str(json.loads(index_json)["manifests"][0]["digest"])


def test_serving_an_unmigrated_database_stops_with_the_command_to_run(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.create_database("t_serve_unmigrated")
    try:
        env = {**os.environ, "REGISTRY_DATABASE_URL": url}  # open mode: no access tables first
        done = subprocess.run(
            [
                dockyard_executable(),
                "registry",
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--root",
                str(tmp_path / "data"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode != 0
        assert "has no schema yet" in done.stderr
        assert "dockyard registry migrate" in done.stderr
        assert "listening" not in done.stderr  # refused before any port was bound
    finally:
        postgres.drop_database("t_serve_unmigrated")
