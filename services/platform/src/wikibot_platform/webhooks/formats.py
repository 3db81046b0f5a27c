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


def _line(event: dict[str, Any]) -> tuple[str, str, str, str | None, str, str]:
    data = event["data"]
    kind, _, verb = event["type"].partition(".")
    name = data.get(kind) or data.get("path") or "?"
    author = data.get("author") or {}
    who = author.get("name") or author.get("did") or "someone"
    if author.get("app"):
        who = f"{who} (via {author['app']})"
    return kind, verb, name, data.get("url"), who, data.get("diff_url") or ""


def _member_text(event: dict[str, Any], esc: Any) -> str:
    data = event["data"]
    member = data.get("member") or {}
    name = "@" + member["handle"] if member.get("handle") else member.get("did", "someone")
    verb = event["type"].partition(".")[2]
    role = f" ({member['role']})" if member.get("role") else ""
    return f"{esc(name)} {verb}{role} as a collaborator of {esc(data['wiki'])}"


def slack_text(event: dict[str, Any]) -> str:
    def esc(text: str) -> str:
        return "".join(_SLACK_ESCAPES.get(ch, ch) for ch in text)

    if event["type"].startswith("member."):
        return _member_text(event, esc)
    kind, verb, name, url, who, diff = _line(event)

    label = f"<{url}|{esc(name)}>" if url else f"*{esc(name)}*"
    commit = event["data"].get("commit", "")[:7]
    thing = "" if kind == "page" else "attachment "
    return f"{thing}{label} {verb} by {esc(who)} in {esc(event['data']['wiki'])} (<{diff}|{commit}>)"


def discord_text(event: dict[str, Any]) -> str:
    def esc(text: str) -> str:
        return _DISCORD_MARKUP.sub(r"\\\1", text)

    if event["type"].startswith("member."):
        return _member_text(event, esc)
    kind, verb, name, url, who, diff = _line(event)

    label = f"[{esc(name)}](<{url}>)" if url else f"**{esc(name)}**"
    commit = event["data"].get("commit", "")[:7]
    thing = "" if kind == "page" else "attachment "
    return f"{thing}{label} {verb} by {esc(who)} in {esc(event['data']['wiki'])} ([{commit}](<{diff}>))"


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
