import os

import pytest

from wikibot_shared.crypto import Box, DecryptionError


def test_round_trip_and_context_binding() -> None:
    box = Box(os.urandom(32))
    sealed = box.seal("dpop private key", "sessions:abc:dpop")
    assert b"dpop private key" not in sealed
    assert box.open(sealed, "sessions:abc:dpop") == b"dpop private key"
    with pytest.raises(DecryptionError):
        box.open(sealed, "sessions:other:dpop")


def test_tampering_and_wrong_key_detected() -> None:
    key = os.urandom(32)
    sealed = bytearray(Box(key).seal(b"x" * 10, "c"))
    sealed[-1] ^= 1
    with pytest.raises(DecryptionError):
        Box(key).open(bytes(sealed), "c")
    with pytest.raises(DecryptionError):
        Box(os.urandom(32)).open(Box(key).seal(b"y", "c"), "c")
    with pytest.raises(DecryptionError):
        Box(key).open(b"short", "c")
    with pytest.raises(ValueError, match="32-byte"):
        Box(b"too short")
