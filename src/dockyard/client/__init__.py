"""The registry client: auth, transfers, and registry images as copy sources and sinks."""

from dockyard.client._auth import Challenge, parse_challenge, pull_scope, push_scope
from dockyard.client._blob_reader import BlobReader
from dockyard.client._credentials import Credentials, CredentialStore, config_key
from dockyard.client._login import login, logout, registry_host
from dockyard.client._options import ClientOptions, is_localhost, load_registries_config
from dockyard.client._remote import RegistryClient, RegistryDestination, RemoteImageSource
from dockyard.client._repository import RemoteRepository
from dockyard.client._transport import Transport

__all__ = [
    "BlobReader",
    "Challenge",
    "ClientOptions",
    "CredentialStore",
    "Credentials",
    "RegistryClient",
    "RegistryDestination",
    "RemoteImageSource",
    "RemoteRepository",
    "Transport",
    "config_key",
    "is_localhost",
    "load_registries_config",
    "login",
    "logout",
    "parse_challenge",
    "pull_scope",
    "push_scope",
    "registry_host",
]
