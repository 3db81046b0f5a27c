"""Settings: one object per service, validated at start-up.

Settings every service shares are read without a prefix (``DOMAIN``, ``DATABASE_URL``, ``REDIS_URL`` …);
a service's own settings carry its prefix (``PLATFORM_``, ``MCP_``, …). ``load_settings`` turns a validation
failure into a ``ConfigError`` whose message is one line naming the setting, and ``settings_or_exit`` prints
that line and exits non-zero, so a misconfigured container fails fast and says why.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, ClassVar, Literal, NoReturn, TypeVar
from urllib.parse import urlencode

from pydantic import AliasChoices, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)

# Values that mean "someone copied the example": refused for secrets outside development.
WEAK_SECRETS = frozenset({"", "changeme", "change-me", "secret", "password", "admin", "dev", "test", "xxx"})
MIN_SECRET_LENGTH = 32


def _env(name: str) -> Any:
    """A shared setting: read from ``name`` whatever the class's prefix."""
    return AliasChoices(name)


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="ignore", case_sensitive=False, populate_by_name=True, env_ignore_empty=True
    )

    # Names of fields that hold secrets: never logged, refused when weak outside development.
    secret_fields: ClassVar[tuple[str, ...]] = ()

    domain: str = Field("localhost", validation_alias=_env("DOMAIN"))
    public_scheme: Literal["http", "https"] = Field("http", validation_alias=_env("PUBLIC_SCHEME"))
    public_port: int | None = Field(8080, validation_alias=_env("PUBLIC_PORT"), ge=1, le=65535)
    environment: Literal["development", "production"] | None = Field(
        None, validation_alias=_env("WIKIBOT_ENV")
    )
    data_dir: Path = Field(Path("/data"), validation_alias=_env("DATA_DIR"))
    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL"))
    redis_url: str = Field("redis://localhost:6379/0", validation_alias=_env("REDIS_URL"))
    platform_internal_url: str = Field("http://platform:8002", validation_alias=_env("PLATFORM_INTERNAL_URL"))
    embedder_internal_url: str = Field("http://embedder:8003", validation_alias=_env("EMBEDDER_INTERNAL_URL"))
    log_format: Literal["auto", "json", "text"] = Field("auto", validation_alias=_env("LOG_FORMAT"))
    log_level: str = Field("INFO", validation_alias=_env("LOG_LEVEL"))

    @model_validator(mode="after")
    def _check(self) -> CommonSettings:
        self.domain = self.domain.strip().lower().rstrip(".")
        if not _HOSTNAME.match(self.domain):
            raise ValueError(f"DOMAIN: must be a host name such as wiki.example.org (got {self.domain!r})")
        if self.environment is None:
            self.environment = "development" if self.is_local_domain else "production"
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.data_dir / 'wikibot.db'}"
        if not self.database_url.startswith(("sqlite:", "postgresql")):
            raise ValueError("DATABASE_URL: must be sqlite:///PATH or postgresql+psycopg://USER:PASS@HOST/DB")
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL: must be redis://HOST:PORT/DB")
        if self.environment == "production":
            for name in self.secret_fields:
                value = getattr(self, name)
                if value is None:
                    continue
                secret = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
                if secret.lower() in WEAK_SECRETS or len(secret) < MIN_SECRET_LENGTH:
                    raise ValueError(
                        f"{self._env_name(name)}: refusing a default or short secret outside development "
                        f"(use at least {MIN_SECRET_LENGTH} random characters, e.g. `openssl rand -hex 32`)"
                    )
        return self

    @classmethod
    def _env_name(cls, field: str) -> str:
        info = cls.model_fields[field]
        alias = info.validation_alias
        if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
            return alias.choices[0]
        return (str(cls.model_config.get("env_prefix") or "") + field).upper()

    # -- public URLs: built from DOMAIN, PUBLIC_SCHEME and PUBLIC_PORT only -----------------------------

    @property
    def is_local_domain(self) -> bool:
        return self.domain == "localhost" or self.domain.endswith(".localhost")

    @property
    def _port_suffix(self) -> str:
        default = 443 if self.public_scheme == "https" else 80
        return "" if self.public_port in (None, default) else f":{self.public_port}"

    @property
    def platform_url(self) -> str:
        """Origin of the platform: the OAuth issuer and the home of /app, /api and /auth."""
        return f"{self.public_scheme}://{self.domain}{self._port_suffix}"

    @property
    def issuer(self) -> str:
        return self.platform_url

    def wiki_url(self, slug: str) -> str:
        return f"{self.public_scheme}://{slug}.{self.domain}{self._port_suffix}"

    @property
    def wiki_url_parts(self) -> tuple[str, str]:
        """What comes before and after the slug in a wiki's URL, for pages that show the address of a wiki
        still to be named: ``("http://", ".localhost:8080")``."""
        return f"{self.public_scheme}://", f".{self.domain}{self._port_suffix}"

    def sign_in_url(self, return_to: str) -> str:
        """The platform's sign-in page, coming back to ``return_to`` once signed in."""
        return f"{self.platform_url}/auth/login?{urlencode({'return_to': return_to})}"

    def mcp_resource(self, slug: str) -> str:
        """RFC 8707 resource indicator and access-token audience of one wiki."""
        return f"{self.wiki_url(slug)}/mcp"

    @property
    def session_audience(self) -> str:
        return f"{self.platform_url}/session"

    @property
    def cookie_secure(self) -> bool:
        return self.public_scheme == "https"

    @property
    def is_sqlite(self) -> bool:
        return str(self.database_url).startswith("sqlite")

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def wikis_dir(self) -> Path:
        return self.data_dir / "wikis"


S = TypeVar("S", bound=CommonSettings)


def _describe(cls: type[CommonSettings], exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = [str(p) for p in err.get("loc", ()) if p != "__root__"]
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    if loc and loc[0] in cls.model_fields:
        name = cls._env_name(loc[0])
        return f"{name}: {msg}"
    if loc:
        return f"{loc[0].upper()}: {msg}"
    return msg


def json_object(raw: str, setting: str) -> dict[str, Any]:
    """The JSON object an environment variable holds; a ``ValueError`` naming ``setting`` for anything else."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValueError(f"{setting}: not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError(f"{setting}: must be a JSON object")
    return data


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build ``cls`` from the environment; a problem becomes a one-line ``ConfigError``."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(cls, exc)) from None


def settings_or_exit(cls: type[S]) -> S:
    try:
        return load_settings(cls)
    except ConfigError as exc:
        print(f"configuration error: {exc.message}", file=sys.stderr)
        _exit(2)


def _exit(code: int) -> NoReturn:
    raise SystemExit(code)
