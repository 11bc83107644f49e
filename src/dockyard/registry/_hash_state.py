"""SHA-256 whose running state can be saved and taken up again in another process.

An upload's bytes are hashed as they arrive. When its next request (a PATCH, the closing PUT)
lands on another process — another worker, another replica behind a load balancer without
stickiness — that process needs the hash of the bytes acknowledged so far. Without the state it
reads them all back from storage (for an S3 store, the whole upload over the network again);
distribution avoids that by keeping Go's marshalled SHA-256 state next to the upload.

Python's ``hashlib`` cannot export a hash's state. OpenSSL's ``SHA256_Init``/``Update``/``Final``
(libcrypto, the library ``hashlib`` itself uses) work on a context the caller owns, and its
bytes are the state: :class:`ResumableSha256` keeps one, :meth:`~ResumableSha256.state` returns a
copy tagged with its format, and :meth:`~ResumableSha256.restore` takes one back. A state is
only restored by a process whose libcrypto has the same context size; when libcrypto cannot be
loaded or a state does not fit, callers hash the stored bytes again, as before — a slower path,
never a wrong digest (the digest of the finished upload is still checked against the client's).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from typing import Any

from dockyard.digest import SHA256, Digest

__all__ = ["ResumableSha256", "available"]

#: ``sizeof(SHA256_CTX)``: eight 32-bit words of state, the bit count (two words), a 64-byte
#: block buffer (sixteen words), the bytes in it and the digest length
_CTX_SIZE = 112
#: what a saved state starts with (its layout, so that no other bytes are ever taken for one)
_TAG = b"dockyard-sha256-openssl-v1\0"

_lock = threading.Lock()
_lib: Any = None
_loaded = False


def _crypto() -> Any:
    """libcrypto with the three functions typed, or None when it cannot be loaded."""
    global _lib, _loaded
    with _lock:
        if not _loaded:
            _loaded = True
            try:
                name = ctypes.util.find_library("crypto")
                lib = ctypes.CDLL(name) if name else None
                if lib is not None:
                    lib.SHA256_Init.argtypes = [ctypes.c_void_p]
                    lib.SHA256_Init.restype = ctypes.c_int
                    lib.SHA256_Update.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
                    lib.SHA256_Update.restype = ctypes.c_int
                    lib.SHA256_Final.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
                    lib.SHA256_Final.restype = ctypes.c_int
                _lib = lib
            except (OSError, AttributeError):
                _lib = None
        return _lib


def available() -> bool:
    """Whether this process can save and restore SHA-256 states."""
    return _crypto() is not None


class ResumableSha256:
    """``update``/``digest`` as :class:`~dockyard.digest.Digester` (SHA-256 only), plus
    :meth:`state` and :meth:`restore`. Use :func:`available` first."""

    __slots__ = ("_ctx", "_lib", "size")
    algorithm = SHA256

    def __init__(self) -> None:
        lib = _crypto()
        if lib is None:
            raise RuntimeError("libcrypto is not available: use dockyard.digest.Digester")
        self._lib = lib
        self._ctx = ctypes.create_string_buffer(_CTX_SIZE)
        if lib.SHA256_Init(self._ctx) != 1:
            raise RuntimeError("SHA256_Init failed")
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        pointer: ctypes.c_char_p | ctypes.Array[ctypes.c_char]
        if isinstance(data, bytes):
            size, pointer = len(data), ctypes.c_char_p(data)  # its buffer, not a copy
        else:
            view = memoryview(data)
            size = view.nbytes
            if view.readonly or not view.c_contiguous:
                pointer = ctypes.c_char_p(view.tobytes())
            else:
                pointer = (ctypes.c_char * size).from_buffer(view.cast("B"))
        if not size:
            return
        if self._lib.SHA256_Update(self._ctx, pointer, size) != 1:
            raise RuntimeError("SHA256_Update failed")
        self.size += size

    def digest(self) -> Digest:
        """The digest of what was hashed so far (the running state is left as it is)."""
        final = ctypes.create_string_buffer(self._ctx.raw, _CTX_SIZE)
        out = ctypes.create_string_buffer(32)
        if self._lib.SHA256_Final(out, final) != 1:
            raise RuntimeError("SHA256_Final failed")
        return Digest(SHA256, out.raw.hex())

    def state(self) -> bytes:
        """The running state, tagged, with the byte count (for :meth:`restore`)."""
        return _TAG + self.size.to_bytes(8, "big") + self._ctx.raw

    @classmethod
    def restore(cls, state: bytes | None, size: int) -> ResumableSha256 | None:
        """The hash ``state`` was taken from, when it is one of this layout and covers
        exactly ``size`` bytes; else None (hash the bytes again)."""
        if (
            state is None
            or not available()
            or len(state) != len(_TAG) + 8 + _CTX_SIZE
            or not state.startswith(_TAG)
            or int.from_bytes(state[len(_TAG) : len(_TAG) + 8], "big") != size
        ):
            return None
        found = cls()
        ctypes.memmove(found._ctx, state[len(_TAG) + 8 :], _CTX_SIZE)
        found.size = size
        return found
