"""Harbor's REST API (``/api/v2.0``) over dockyard's registry: repositories, artifacts, tags,
system info; Harbor's paging, ``q=`` queries, error bodies and JSON shapes.

Mount it on a :class:`~dockyard.registry.http.RegistryApp` with :func:`mount`; who may do what
is the :class:`ApiSecurity` it is given (the registry's own auth by default).
"""

from dockyard.registry.harbor._api import PREFIX, ApiSettings, HarborApi
from dockyard.registry.harbor._models import DEFINITIONS
from dockyard.registry.harbor._openapi import swagger
from dockyard.registry.harbor._routes import ROUTES
from dockyard.registry.harbor._security import ApiSecurity, RegistrySecurity

__all__ = [
    "DEFINITIONS",
    "PREFIX",
    "ROUTES",
    "ApiSecurity",
    "ApiSettings",
    "HarborApi",
    "RegistrySecurity",
    "swagger",
]
