"""The registry's HTTP layer: a raw ASGI app over :class:`dockyard.registry.Registry`."""

from dockyard.registry.http._app import RegistryApp, ResponseObserver
from dockyard.registry.http._io import Request

__all__ = ["RegistryApp", "Request", "ResponseObserver"]
