"""The ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3, with RFC 9728 §5.1's ``resource_metadata``)."""

from __future__ import annotations

from ..config import CommonSettings


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def bearer_challenge(
    settings: CommonSettings,
    slug: str | None,
    *,
    error: str | None = None,
    description: str | None = None,
    scope: str | None = None,
) -> str:
    parts: list[str] = []
    if slug is not None:
        metadata = f"{settings.wiki_url(slug)}/.well-known/oauth-protected-resource/mcp"
        parts.append(f'resource_metadata="{metadata}"')
    if scope:
        parts.append(f'scope="{_quote(scope)}"')
    if error:  # RFC 6750 §3.1: no error code when the request carried no credentials
        parts.append(f'error="{error}"')
        if description:
            parts.append(f'error_description="{_quote(description)}"')
    return "Bearer " + ", ".join(parts) if parts else "Bearer"
