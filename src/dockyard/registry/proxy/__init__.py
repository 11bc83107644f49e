"""The registry as a pull-through cache (registry:2's ``proxy`` mode, with several upstreams).

This package's ``__init__`` holds only the configuration (``config.py`` reads it at start-up);
the serving side is the public module :mod:`dockyard.registry.proxy.cache`.
"""

from dockyard.registry.proxy.config import (
    DEFAULT_TTL,
    ProxyConfig,
    Upstream,
    proxy_from_section,
)

__all__ = ["DEFAULT_TTL", "ProxyConfig", "Upstream", "proxy_from_section"]
