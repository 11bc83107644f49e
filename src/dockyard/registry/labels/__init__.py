"""Harbor's labels: global labels (system administrators make them) and project labels
(project administrators and maintainers), attached to artifacts by hand through the API.
Retention's label selectors and replication's label filters match them by name, beside the
image-config labels and manifest annotations they match."""

from dockyard.registry.labels._store import (
    GLOBAL,
    PROJECT,
    Label,
    LabelExists,
    LabelNotFound,
    Labels,
    labels_of,
)

__all__ = ["GLOBAL", "PROJECT", "Label", "LabelExists", "LabelNotFound", "Labels", "labels_of"]
