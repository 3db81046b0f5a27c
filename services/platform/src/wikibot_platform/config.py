"""Platform settings: the shared ones plus ``PLATFORM_*``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from wikibot_shared.config import CommonSettings
from wikibot_shared.safehttp import Policy, parse_networks


class PlatformSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="PLATFORM_", extra="ignore", populate_by_name=True)

    host: str = "0.0.0.0"  # noqa: S104 - inside its container, behind Caddy
    port: int = 8002
    workers: int = Field(2, ge=1, le=64)
    session_ttl: int = Field(7 * 24 * 3600, ge=300)

    # -- ATProto sign-in (docs/auth.md) ------------------------------------------------------------------------
    client_name: str = Field("Wikibot", min_length=1, max_length=100)
    plc_url: str = "https://plc.directory"
    handle_resolution: Literal["dns-https", "xrpc"] = "dns-https"
    handle_resolver_url: str | None = (
        None  # for "xrpc": a service answering com.atproto.identity.resolveHandle
    )
    default_handle_suffix: str = "bsky.social"  # "alice" means alice.bsky.social
    dns_nameservers: str = ""  # comma-separated addresses for handle TXT lookups; empty: the system's
    dns_port: int = Field(53, ge=1, le=65535)
    login_ttl: int = Field(600, ge=60, le=3600)  # seconds a started sign-in stays valid
    # The hardened outbound client (wikibot_shared.safehttp). The three "allow" settings widen what it may reach
    # and exist for tests against local servers only: refused in production.
    outbound_ca_bundle: Path | None = None  # extra CAs (PEM) trusted besides the system's
    outbound_timeout: float = Field(10.0, gt=0, le=60)
    outbound_max_bytes: int = Field(1024 * 1024, ge=1024)
    outbound_allow_http: bool = False
    outbound_allow_networks: str = ""  # e.g. "127.0.0.1/32"
    outbound_hosts: str = ""  # e.g. "pds.e2e.internal=127.0.0.1,alice.test=127.0.0.1"

    @model_validator(mode="after")
    def _check_signin(self) -> PlatformSettings:
        try:
            parse_networks(self.outbound_allow_networks)
            hosts = self.hosts_map
        except ValueError as exc:
            raise ValueError(f"PLATFORM_OUTBOUND_ALLOW_NETWORKS / PLATFORM_OUTBOUND_HOSTS: {exc}") from None
        if self.environment == "production":
            for name, value in (
                ("PLATFORM_OUTBOUND_ALLOW_HTTP", self.outbound_allow_http),
                ("PLATFORM_OUTBOUND_ALLOW_NETWORKS", self.outbound_allow_networks.strip()),
                ("PLATFORM_OUTBOUND_HOSTS", hosts),
            ):
                if value:
                    raise ValueError(f"{name}: widens outbound fetches for tests only; refused in production")
        if self.handle_resolution == "xrpc" and not self.handle_resolver_url:
            raise ValueError("PLATFORM_HANDLE_RESOLVER_URL: required when PLATFORM_HANDLE_RESOLUTION is xrpc")
        if self.outbound_ca_bundle is not None and not self.outbound_ca_bundle.is_file():
            raise ValueError(f"PLATFORM_OUTBOUND_CA_BUNDLE: no file at {self.outbound_ca_bundle}")
        return self

    @property
    def hosts_map(self) -> dict[str, str]:
        pairs = [item.strip() for item in self.outbound_hosts.split(",") if item.strip()]
        result = {}
        for pair in pairs:
            name, sep, address = pair.partition("=")
            if not sep or not name.strip() or not address.strip():
                raise ValueError(f"expected name=address, got {pair!r}")
            parse_networks(address)
            result[name.strip().lower()] = address.strip()
        return result

    def outbound_policy(self) -> Policy:
        return Policy(
            allow_http=self.outbound_allow_http,
            allow_networks=parse_networks(self.outbound_allow_networks),
            hosts=self.hosts_map,
            connect_timeout=min(5.0, self.outbound_timeout),
            read_timeout=self.outbound_timeout,
            deadline=self.outbound_timeout * 2,
            max_bytes=self.outbound_max_bytes,
            ca_bundle=self.outbound_ca_bundle,
        )
