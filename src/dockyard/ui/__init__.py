"""``dockyard ui``: the console's pages over the local store (no registry), for one person's
machine, like Docker Desktop's image views: the images with search and sort, each image's
layers with the command that made each and its size, a layer's files and the filesystem the
layers build with the wasted bytes marked, its vulnerabilities from the store's database, and
two images compared; an image deleted by a form with a token. It listens on 127.0.0.1 unless
told otherwise with a token.

This package exports where it may listen (light: checked before anything loads); the server
is the public module :mod:`dockyard.ui.server`."""

from dockyard.ui._listen import DEFAULT_HOST, MIN_TOKEN, Listen, check_listen

__all__ = ["DEFAULT_HOST", "MIN_TOKEN", "Listen", "check_listen"]
