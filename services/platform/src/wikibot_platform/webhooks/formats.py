"""What each kind of target receives for an event.

- ``standard``: the event as JSON, ``{"type", "timestamp", "data"}``, signed by the Standard Webhooks rules
  (standardwebhooks.com): ``webhook-id`` (the event's id, the same on every retry), ``webhook-timestamp`` (unix
  seconds at sending) and ``webhook-signature`` = ``v1,`` + base64(HMAC-SHA256(secret, "id.timestamp.body"))
  with the secret ``whsec_`` + base64 shown once when the webhook is made.
- ``slack``: an incoming-webhook message, ``{"text": …}`` in Slack's mrkdwn (``<url|label>`` links).
- ``discord``: an execute-webhook message, ``{"content": …}`` in Discord's Markdown, mentions disabled.
Slack and Discord URLs carry their own secret, so those requests are not signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

KINDS = ("standard", "slack", "discord")
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not one
_SLACK_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_DISCORD_MARKUP = re.compile(r"([\\*_~`|>\[\]()#@])")


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def kind_for(url: str) -> str:
    """The kind a URL's host says it is (Slack's and Discord's incoming webhooks), else ``standard``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "hooks.slack.com":
        return "slack"
    if host in (
        "discord.com",
        "discordapp.com",
        "ptb.discord.com",
        "canary.discord.com",
    ) and parts.path.startswith("/api/webhooks/"):
        return "discord"
    return "standard"


@dataclass(frozen=True)
class Markup:
    """How a chat writes text: escaping, a link, bold."""

    esc: Callable[[str], str]
    link: Callable[[str, str], str]  # (label, url) → markup
    bold: Callable[[str], str]


SLACK = Markup(
    esc=lambda text: "".join(_SLACK_ESCAPES.get(ch, ch) for ch in text),
    link=lambda label, url: f"<{url}|{label}>",
    bold=lambda text: f"*{text}*",
)
DISCORD = Markup(
    esc=lambda text: _DISCORD_MARKUP.sub(r"\\\1", text),
    link=lambda label, url: f"[{label}](<{url}>)",
    bold=lambda text: f"**{text}**",
)


def chat_text(event: dict[str, Any], m: Markup) -> str:
    """One readable line: who changed which page (linked), where, and the commit (linked to its diff)."""
    data = event["data"]
    kind, _, verb = event["type"].partition(".")
    if kind == "member":
        member = data.get("member") or {}
        name = "@" + member["handle"] if member.get("handle") else member.get("did", "someone")
        role = f" ({member['role']})" if member.get("role") else ""
        return f"{m.esc(name)} {verb}{role} as a collaborator of {m.esc(data['wiki'])}"
    if kind == "proposal":
        p = data.get("proposal") or {}
        author = p.get("author") or {}
        who = author.get("name") or "someone"
        if author.get("app"):
            who = f"{who} (via {author['app']})"
        label = m.link(m.esc(f"#{p.get('id')} {p.get('title', '')}"), p.get("url") or "")
        by = (
            f" by {m.esc(p['decided_by'])}"
            if p.get("decided_by") and verb in ("approved", "rejected")
            else ""
        )
        return f"proposal {label} from {m.esc(who)} {verb}{by} in {m.esc(data['wiki'])}"
    name = data.get(kind) or data.get("path") or "?"
    author = data.get("author") or {}
    who = author.get("name") or author.get("did") or "someone"
    if author.get("app"):
        who = f"{who} (via {author['app']})"
    label = m.link(m.esc(name), data["url"]) if data.get("url") else m.bold(m.esc(name))
    thing = "" if kind == "page" else "attachment "
    commit = m.link(data.get("commit", "")[:7], data.get("diff_url") or "")
    return f"{thing}{label} {verb} by {m.esc(who)} in {m.esc(data['wiki'])} ({commit})"


def slack_text(event: dict[str, Any]) -> str:
    return chat_text(event, SLACK)


def discord_text(event: dict[str, Any]) -> str:
    return chat_text(event, DISCORD)


def request_for(
    kind: str, event_id: str, event: dict[str, Any], secret: str | None, now: int
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt."""
    if kind == "slack":
        body = json.dumps({"text": slack_text(event)}).encode()
        return body, {"Content-Type": "application/json"}
    if kind == "discord":
        body = json.dumps({"content": discord_text(event), "allowed_mentions": {"parse": []}}).encode()
        return body, {"Content-Type": "application/json"}
    body = json.dumps(event, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "webhook-id": event_id, "webhook-timestamp": str(now)}
    if secret:
        headers["webhook-signature"] = sign(secret, event_id, now, body)
    return body, headers
