"""The labels the local store and its users set on digests, and what each one means."""

from __future__ import annotations

__all__ = ["GC_REF_LABEL", "GC_ROOT_LABEL", "PARENT_LABEL"]

#: A label on a digest that makes it a gc root (any value), like ``containerd.io/gc.root``.
GC_ROOT_LABEL = "dockyard.gc.root"
#: Labels ``dockyard.gc.ref.<anything>=<digest>`` on a kept blob keep ``<digest>`` too.
GC_REF_LABEL = "dockyard.gc.ref."
#: A label on an image record naming the image it was built on (``docker inspect``'s Parent).
PARENT_LABEL = "dockyard.parent"
