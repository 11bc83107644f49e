"""Artifact calls of Harbor's API that the registry protocol has no verb for: removing a tag
while its artifact stays."""

from __future__ import annotations

from urllib.parse import quote

from dockyard.client.harbor._client import HarborClient

__all__ = ["untag"]


def _repository(name: str) -> str:
    """A repository below its project as Harbor wants it in a path: encoded twice."""
    return quote(quote(name, safe=""), safe="")


def untag(client: HarborClient, project: str, repository: str, tag: str) -> None:
    """Remove ``tag`` from ``project/repository``; the manifest it named stays (Harbor's
    ``deleteTag``: project administrators and maintainers)."""
    path = (
        f"/projects/{quote(project, safe='')}/repositories/{_repository(repository)}"
        f"/artifacts/{quote(tag, safe='')}/tags/{quote(tag, safe='')}"
    )
    client.api.request("DELETE", path, what=f"remove tag {project}/{repository}:{tag}")
