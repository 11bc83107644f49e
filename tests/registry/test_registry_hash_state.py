"""The upload hash whose state is saved (``registry/_hash_state.py``): the same digests as
hashlib for bytes, bytearrays and memoryviews fed in any pieces; a state taken here goes on in
another Python process (a real one) to the same digest; a state that is not one, or does not
cover the bytes it is said to, is refused (the caller reads the bytes back instead)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from dockyard.registry._hash_state import ResumableSha256, available

pytestmark = pytest.mark.skipif(not available(), reason="libcrypto cannot be loaded here")


def test_pieces_of_every_kind_give_hashlibs_digest() -> None:
    data = os.urandom(3_000_001)
    h = ResumableSha256()
    h.update(data[:1])
    h.update(bytearray(data[1:1000]))
    h.update(memoryview(data)[1000:500_000])  # read-only view
    h.update(memoryview(bytearray(data[500_000:2_000_000])))  # writable view
    h.update(b"")
    h.update(data[2_000_000:])
    assert h.size == len(data)
    assert str(h.digest()) == "sha256:" + hashlib.sha256(data).hexdigest()
    assert str(h.digest()) == "sha256:" + hashlib.sha256(data).hexdigest()  # unchanged
    h.update(b"more")
    assert str(h.digest()) == "sha256:" + hashlib.sha256(data + b"more").hexdigest()


def test_a_state_goes_on_in_another_process() -> None:
    first, rest = os.urandom(5 << 20), os.urandom(123_457)
    h = ResumableSha256()
    h.update(first)
    state = h.state()
    script = (
        "import sys; from dockyard.registry._hash_state import ResumableSha256 as R\n"
        "state, size = bytes.fromhex(sys.argv[1]), int(sys.argv[2])\n"
        "h = R.restore(state, size); h.update(sys.stdin.buffer.read()); print(h.digest())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, state.hex(), str(len(first))],
        input=rest, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    assert out.stdout.decode().strip() == "sha256:" + hashlib.sha256(first + rest).hexdigest()


def test_states_that_do_not_fit_are_refused() -> None:
    h = ResumableSha256()
    h.update(b"abc")
    state = h.state()
    assert ResumableSha256.restore(state, 3) is not None
    assert ResumableSha256.restore(state, 4) is None  # not the bytes acknowledged
    assert ResumableSha256.restore(None, 3) is None
    assert ResumableSha256.restore(state[:-1], 3) is None
    assert ResumableSha256.restore(b"x" * len(state), 3) is None
    assert ResumableSha256.restore(hashlib.sha256(b"abc").digest(), 3) is None
