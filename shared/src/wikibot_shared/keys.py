"""Keys on the data volume: created on first start, rotatable, old public keys kept for verification.

Layout under ``$DATA_DIR/keys`` (directory 0700, files 0600, written atomically):

    signing/{kid}.json   ES256 private JWK + created_at/retired_at: signs session and access JWTs
    client/{kid}.json    ES256 private JWK: the platform's ATProto client key (private_key_jwt)
    secret.key           32 random bytes (base64url): encrypts DPoP keys and ATProto tokens at rest

``kid`` is the RFC 7638 thumbprint. The newest unretired key signs; every key younger than
``retain_for`` after its retirement stays in the JWKS, so tokens it signed keep verifying until they expire.
Only the platform (and the one-shot migrate step) reads this directory; other services fetch the JWKS.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey

from .errors import ConfigError

ALG = "ES256"


def _now() -> datetime:
    return datetime.now(UTC)


def generate_es256(use: str = "sig") -> ECKey:
    key = ECKey.generate_key("P-256", parameters={"alg": ALG, "use": use}, private=True)
    return ECKey.import_key(key.as_dict(private=True), parameters={"kid": key.thumbprint()})


def _write_temp(path: Path, data: bytes) -> Path:
    """``data`` in a new file beside ``path`` (owner-only, synced), to be moved into place."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def _write_atomic(path: Path, data: bytes) -> None:
    os.replace(_write_temp(path, data), path)


def create_once(path: Path, data: bytes) -> bytes:
    """``path``'s content: ``data`` if this call created it, else what the first creator wrote. The file appears
    whole (written aside, then hard-linked into place, which fails if it exists), so workers starting together
    never read it half-written, and exactly one of them wins. An existing file is read without writing aside."""
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes()
    tmp = _write_temp(path, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return path.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)
    return data


@dataclass(frozen=True)
class StoredKey:
    key: ECKey
    created_at: datetime
    retired_at: datetime | None

    @property
    def kid(self) -> str:
        assert self.key.kid
        return self.key.kid

    def public_jwk(self) -> dict[str, Any]:
        jwk = self.key.as_dict(private=False)
        jwk.setdefault("alg", ALG)
        jwk.setdefault("use", "sig")
        return dict(jwk)


class KeyStore:
    def __init__(self, directory: Path, *, retain_for: timedelta = timedelta(days=2)) -> None:
        self.directory = Path(directory)
        self.retain_for = retain_for

    # -- layout ----------------------------------------------------------------------------------------
    def _dir(self, kind: str) -> Path:
        return self.directory / kind

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.directory / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _save(self, kind: str, key: ECKey, created_at: datetime, retired_at: datetime | None = None) -> None:
        folder = self._dir(kind)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        record = {
            "jwk": key.as_dict(private=True),
            "created_at": created_at.isoformat(),
            "retired_at": retired_at.isoformat() if retired_at else None,
        }
        _write_atomic(folder / f"{key.kid}.json", json.dumps(record).encode())

    def _load(self, kind: str) -> list[StoredKey]:
        folder = self._dir(kind)
        if not folder.is_dir():
            return []
        keys = []
        for path in folder.glob("*.json"):
            try:
                record = json.loads(path.read_text())
                key = ECKey.import_key(record["jwk"])
                created = datetime.fromisoformat(record["created_at"])
                retired = datetime.fromisoformat(record["retired_at"]) if record.get("retired_at") else None
            except (OSError, ValueError, KeyError) as exc:
                raise ConfigError(f"unreadable key file {path.name} in {folder}: {exc}") from None
            keys.append(StoredKey(key, created, retired))
        keys.sort(key=lambda k: k.created_at, reverse=True)
        return keys

    # -- lifecycle -------------------------------------------------------------------------------------
    def ensure(self) -> list[str]:
        """Create whatever is missing; return the names of what was created (for the log)."""
        created: list[str] = []
        with self._locked():
            for kind in ("signing", "client"):
                if not any(k.retired_at is None for k in self._load(kind)):
                    self._save(kind, generate_es256(), _now())
                    created.append(kind)
            secret = self.directory / "secret.key"
            if not secret.exists():
                _write_atomic(secret, base64.urlsafe_b64encode(secrets.token_bytes(32)))
                created.append("secret")
        return created

    def rotate(self, kind: str = "signing") -> StoredKey:
        """Make a new key current; the previous ones are retired but stay published for ``retain_for``."""
        with self._locked():
            now = _now()
            for old in self._load(kind):
                if old.retired_at is None:
                    self._save(kind, old.key, old.created_at, retired_at=now)
            key = generate_es256()
            self._save(kind, key, now)
            self._prune(kind, now)
        return self.current(kind)

    def _prune(self, kind: str, now: datetime) -> None:
        for old in self._load(kind):
            if old.retired_at is not None and now - old.retired_at > self.retain_for:
                (self._dir(kind) / f"{old.kid}.json").unlink(missing_ok=True)

    # -- reading ---------------------------------------------------------------------------------------
    def current(self, kind: str = "signing") -> StoredKey:
        for stored in self._load(kind):
            if stored.retired_at is None:
                return stored
        raise ConfigError(f"no {kind} key in {self.directory}: run the migrate step (wikibot-migrate) first")

    def public_keys(self, kind: str = "signing") -> list[StoredKey]:
        now = _now()
        return [k for k in self._load(kind) if k.retired_at is None or now - k.retired_at <= self.retain_for]

    def jwks(self, kind: str = "signing") -> dict[str, list[dict[str, Any]]]:
        return {"keys": [k.public_jwk() for k in self.public_keys(kind)]}

    def secret(self) -> bytes:
        path = self.directory / "secret.key"
        try:
            return base64.urlsafe_b64decode(path.read_bytes().strip())
        except OSError:
            raise ConfigError(
                f"no secret key at {path}: run the migrate step (wikibot-migrate) first"
            ) from None
