"""Encryption at rest for small secrets kept in the database (DPoP private keys, ATProto tokens)."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import WikibotError

_VERSION = b"\x01"


class DecryptionError(WikibotError):
    code = "decryption_failed"


class Box:
    """AES-256-GCM with a random 96-bit nonce; ``context`` binds a ciphertext to its row and column."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("Box needs a 32-byte key")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes | str, context: str) -> bytes:
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, data, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        if len(sealed) < 29 or sealed[:1] != _VERSION:
            raise DecryptionError("not a sealed value")
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], context.encode())
        except InvalidTag:
            raise DecryptionError("sealed value does not open with this key and context") from None
