"""Peer-to-peer pulls on libtorrent: blob torrents, the node agent, preheating.

The package's ``__init__`` loads only the pure metainfo code (the registry's torrent route
uses it); the agent (``dockyard.p2p.agent``), its swarm (``dockyard.p2p.swarm``) and
preheating (``dockyard.p2p.preheat``) are public modules their callers import, and only the
swarm imports libtorrent (the ``p2p`` extra: ``pip install 'dockyard[p2p]'``).
"""

from dockyard.p2p.metainfo import BlobTorrent, bdecode, bencode, hash_blob, piece_length_for

__all__ = ["BlobTorrent", "bdecode", "bencode", "hash_blob", "piece_length_for"]
