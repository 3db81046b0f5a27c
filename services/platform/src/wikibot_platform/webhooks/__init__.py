"""Webhooks: every change to a wiki, sent out (docs/webhooks.md).

    change stream ──(consumer group "webhooks")──> intake: commits → events → one delivery row per webhook
    (the outbox, ``webhook_deliveries``) ──> delivery: per webhook in order, signed (Standard Webhooks) or in
    Slack's or Discord's format, through the hardened outbound client, retried with back-off for about a day

``events`` turns commits into events, ``formats`` makes each kind's request, ``worker`` runs intake and delivery
(one leader at a time across the platform's processes, by a Redis lease).
"""

from __future__ import annotations

from typing import Any

from wikibot_shared.crypto import Box
from wikibot_shared.safehttp import SafeHttp


def outbound_for(app: Any) -> tuple[Box, SafeHttp]:
    """The app's sealing box (from the key store ``migrate`` made) and its webhook client, built on first use."""
    state = app.state
    if getattr(state, "webhook_outbound", None) is None:
        state.webhook_outbound = (Box(state.keystore.secret()), SafeHttp(state.settings.webhook_policy()))
    result: tuple[Box, SafeHttp] = state.webhook_outbound
    return result
