"""``dockyard ui``: usage errors (125), the listen checks that refuse to start (1, one error
line, nothing served), and a real ``dockyard ui`` process serving the store's images (with and
without a token). The UI has no ``--format``: it prints where it serves and serves pages.

The pages themselves are tested in tests/ui/."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from _infra.cli_contract import assert_help, assert_usage_error, import_image, run_in_process
from _infra.ui import running_ui

TOKEN = "a-token-of-24-characters"


def test_help(dockyard_root: Path) -> None:
    out = assert_help(dockyard_root, "ui")
    assert "--allow-remote" in out and "DOCKYARD_UI_TOKEN" in out


def test_usage_errors_exit_125(dockyard_root: Path) -> None:
    for args, message in (
        (["ui", "--bogus"], "No such option '--bogus'"),
        (["ui", "--port", "x"], "Invalid value for '--port': 'x' is not a valid integer"),
        (["ui", "extra"], "Got unexpected extra argument (extra)"),
    ):
        assert_usage_error(run_in_process(*args, root=dockyard_root, check=False), message)
    # click reports an option without its value before it knows the command: no usage line
    no_value = run_in_process("ui", "--token-file", root=dockyard_root, check=False)
    assert no_value.returncode == 125, no_value.stderr
    assert no_value.stderr == "Error: Option '--token-file' requires an argument.\n"


def test_refused_listen_settings_exit_1(dockyard_root: Path, tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("short\n")
    for args, env, message in (
        (["--listen", "0.0.0.0"], {}, "0.0.0.0 is reachable from other machines"),
        (["--listen", "0.0.0.0", "--allow-remote"], {}, "0.0.0.0 is reachable"),
        (["--token-file", str(tmp_path / "nosuch")], {}, "cannot read --token-file"),
        (["--token-file", str(short)], {}, "the token must have at least 16 characters"),
        ([], {"DOCKYARD_UI_TOKEN": "short"}, "the token must have at least 16 characters"),
        (["--port", "70000"], {}, "--port must be between 0 and 65535, not 70000"),
    ):
        out = run_in_process("ui", *args, root=dockyard_root, env=env, check=False)
        assert out.returncode == 1, (args, out.stderr)
        assert out.stderr.startswith("Error: ") and message in out.stderr, (args, out.stderr)
        assert len(out.stderr.splitlines()) == 1, out.stderr
        assert out.stdout == ""  # nothing served, no URL printed


@pytest.mark.slow
def test_ui_serves_the_store_it_is_given(dockyard_root: Path, tmp_path: Path) -> None:
    import_image(dockyard_root, tmp_path, "cli/shown:1")
    with running_ui(dockyard_root) as ui:
        assert ui.url.startswith("http://127.0.0.1:")
        page = httpx.get(ui.url, timeout=60)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "cli/shown" in page.text


@pytest.mark.slow
def test_ui_with_a_token_asks_every_request_for_it(dockyard_root: Path, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    with running_ui(dockyard_root, "--token-file", str(token_file)) as ui:
        assert httpx.get(ui.url, timeout=60).status_code == 401
        assert httpx.get(ui.url, auth=("any", "wrong-token-wrong"), timeout=60).status_code == 401
        assert httpx.get(ui.url, auth=("any", TOKEN), timeout=60).status_code == 200
