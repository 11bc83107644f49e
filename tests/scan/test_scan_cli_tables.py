"""The scan CLI keeps copies of the report's severities and formats (so that `sbom` does not
import the report module at start-up); they must stay equal."""

from __future__ import annotations

from dockyard.cli import _cmd_scan
from dockyard.scan import _report


def test_cli_tables_match_the_report_module() -> None:
    assert _cmd_scan.SEVERITIES == _report.SEVERITIES
    assert _cmd_scan.REPORT_FORMATS == _report.REPORT_FORMATS
