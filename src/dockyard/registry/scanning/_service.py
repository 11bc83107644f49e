"""Scanning in a registry server: the ``scanning:`` config section turned into a scanner, a
pull policy, the report endpoint, and a response observer that queues a scan on each push.
With projects (``auth: projects``), a project's ``auto_scan`` scans its pushes too and its
``prevent_vul`` adds its own pull policy (:meth:`ScanningService.use_projects`)."""

from __future__ import annotations

import logging
from typing import Any

from dockyard.registry._registry import PullPolicy, Registry
from dockyard.registry.http import Request, ResponseObserver
from dockyard.registry.http._routes import Route, match
from dockyard.registry.limits import Limits
from dockyard.registry.metadata import ManifestRecord
from dockyard.registry.policy._projects import ProjectSettingsCache
from dockyard.registry.scanning._config import ScanningConfig
from dockyard.registry.scanning._http import ScanReports
from dockyard.registry.scanning._policy import ProjectVulnerabilityPolicy, ScanEnforcement
from dockyard.registry.scanning._scanall import ScanAll
from dockyard.registry.scanning._scanner import Scanner
from dockyard.scan import VulnDB

__all__ = ["PolicyChain", "ScanningService", "start_scanning"]

log = logging.getLogger("dockyard.registry.scanning")


class PolicyChain:
    """Several pull policies, checked in order (the first refusal wins)."""

    def __init__(self, *policies: PullPolicy) -> None:
        self.policies = policies

    def applies(self, repository: str) -> bool:
        return any(p.applies(repository) for p in self.policies)

    def check(
        self, registry: Registry, repository: str, reference: str, record: ManifestRecord
    ) -> None:
        for policy in self.policies:
            if policy.applies(repository):
                policy.check(registry, repository, reference, record)


class ScanningService:
    def __init__(
        self, registry: Registry, config: ScanningConfig, limits: Limits | None = None
    ) -> None:
        self.config = config
        self.scanner = Scanner(registry, config.db_path(), config.workers, limits)
        self.scan_all = ScanAll(self.scanner).serve()
        self.policy = ScanEnforcement(config, self.scanner) if config.blocking else None
        self.reports = ScanReports(config, self.scanner, self.policy)
        #: the projects' settings (``auto_scan``); None without projects
        self.projects: ProjectSettingsCache | None = None

    def use_projects(self, settings: ProjectSettingsCache) -> ProjectVulnerabilityPolicy:
        """Follow each project's ``auto_scan`` (pushes scanned even without ``on-push``); the
        pull policy of its ``prevent_vul``/``severity``, for the caller to install."""
        self.projects = settings
        return ProjectVulnerabilityPolicy(self.config, self.scanner, settings)

    def observer(self) -> ResponseObserver:
        """Queues a scan after each successful manifest PUT (with ``on-push``, or in a project
        with ``auto_scan``: the project is looked up in a scan thread, not on the loop)."""
        scanner = self.scanner
        on_push = self.config.on_push
        service = self

        def observe(request: Request, route: str, status: int, seconds: float, sent: int) -> None:
            if route != "manifest" or request.method != "PUT" or status != 201:
                return
            projects = service.projects
            if not on_push and projects is None:
                return
            target = match(request.path)
            if target is None or target.route is not Route.MANIFEST:
                return
            if on_push or projects is None:
                scanner.pushed(target.name, target.arg)
                return
            name = target.name

            def auto_scan() -> bool:
                assert projects is not None
                found = projects.of_repository(name)
                return found is not None and found.auto_scan

            scanner.pushed(name, target.arg, auto_scan)

        return observe

    def install(self, registry: Registry) -> None:
        """Add the pull policy (after any the registry already has)."""
        if self.policy is None:
            return
        existing = registry.pull_policy
        registry.pull_policy = (
            self.policy if existing is None else PolicyChain(existing, self.policy)
        )

    def close(self) -> None:
        self.scan_all.close()
        self.scanner.close()


def _check_db(config: ScanningConfig) -> None:
    path = config.db_path()
    if not path.is_file():
        log.warning(
            "scanning: no vulnerability database at %s; scans fail until advisories are "
            "imported (`dockyard db import`) or scanning.db names one",
            path,
        )
        return
    db = VulnDB(path)
    try:
        status = db.status()
    finally:
        db.close()
    if not status["sources"]:
        log.warning("scanning: the vulnerability database %s is empty", path)
    else:
        log.info("scanning: %d advisories in %s", status["advisories"], path)


def start_scanning(
    registry: Registry, section: Any, *, limits: Limits | None = None
) -> ScanningService:
    """From the config's ``scanning`` section: the service, installed into ``registry``, its
    threads started. They claim due scans from the registry's job queue — queued here or by
    another process, given back by one that stopped, or left by one that died (taken over at
    once) — and each scan runs in one process of all that share the database. Starting
    queues nothing again and claims nothing another process is running. ``limits``: the
    registry's (``limits.scan*`` bound each scan); the defaults without."""
    config = ScanningConfig.from_section(section)
    _check_db(config)
    service = ScanningService(registry, config, limits)
    service.install(registry)
    waiting = service.scanner.start()
    service.scan_all.cron().start()  # each firing claimed once across the processes
    if waiting:
        log.info("scanning: %d scan(s) waiting in the queue", waiting)
    log.info(
        "scanning: on-push %s, block-severity %s%s",
        "on" if config.on_push else "off",
        config.block_severity or "none",
        " (unscanned images blocked too)" if config.blocking and config.block_unscanned else "",
    )
    return service
