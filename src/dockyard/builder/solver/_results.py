"""What a built stage leaves behind: its layers, history, key, and the failure type."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from dockyard.builder.frontend import StagePlan
from dockyard.digest import Digest
from dockyard.errors import RunFailed
from dockyard.image import BlobSource
from dockyard.image.blob import BlobLayer
from dockyard.oci import Descriptor, Platform
from dockyard.oci.config import HistoryEntry

__all__ = ["LayerRef", "StageResult", "StepFailed", "timestamp"]


def timestamp(epoch: float | None = None) -> str:
    """An RFC 3339 UTC time as BuildKit writes it (``SOURCE_DATE_EPOCH`` without fraction)."""
    if epoch is not None:
        return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LayerRef:
    """One layer of a stage's image, by its blob and its diff ID."""

    digest: Digest
    diff_id: Digest
    size: int
    media_type: str

    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size)

    def layer(self, source: BlobSource) -> BlobLayer:
        return BlobLayer(source, self.descriptor(), self.diff_id)


@dataclass
class StageResult:
    """A built stage: the image so far (layers + history + config in ``plan.state``)."""

    plan: StagePlan
    key: str
    layers: list[LayerRef]
    history: list[HistoryEntry]
    platform: Platform
    created: str
    #: the image the stage (or its base stage, transitively) started from
    base_image_id: Digest | None = None
    steps_cached: int = 0
    steps_run: int = 0
    extra: dict[str, object] = field(default_factory=dict)


class StepFailed(RunFailed):
    """A build step failed: BuildKit's report (step, Dockerfile lines, exit code, output)."""
