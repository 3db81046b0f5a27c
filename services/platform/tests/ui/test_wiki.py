"""A wiki's settings page (``ui/wiki.py``) over HTTP: collaborators, tokens, settings and deletion through its
forms; what viewers and strangers see."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from services.platform.tests.support import Platform, csrf_field, make, post_form, share
from wikibot_shared import storage
from wikibot_shared.db import transaction
from wikibot_shared.models import OAuthClient, OAuthGrant, WebhookDelivery


def test_members_tokens_and_delete_through_forms(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    browser = platform.browser(alice)
    page = "/app/wikis/notes"
    status, text = post_form(browser, page, f"{page}/members", {"who": "@bob.test", "role": "viewer"})
    assert status == 303
    assert "Added @bob.test as viewer" in text
    status, text = post_form(browser, page, f"{page}/members", {"who": "nobody.example", "role": "viewer"})
    assert status == 404
    assert "ask them to sign in once" in text
    status, text = post_form(browser, page, f"{page}/members/{bob}/role", {"role": "editor"})
    assert status == 303
    assert "is now editor" in text
    status, text = post_form(
        browser, page, f"{page}/tokens", {"name": "laptop", "access": "write", "expires_in_days": ""}
    )
    assert status == 303
    secret = re.search(r'value="(wbp_[^"]+)"', text)
    assert secret, "the new token is shown"
    assert f'--header "Authorization: Bearer {secret.group(1)}"' in text
    again = html.unescape(browser.get(page).text)
    assert secret.group(1) not in again  # shown once
    assert "laptop" in again
    assert "never" in again
    token_id = re.search(r"/tokens/([0-9a-f]+)/revoke", again)
    assert token_id
    status, text = post_form(browser, page, f"{page}/tokens/{token_id.group(1)}/revoke", {})
    assert status == 303
    assert "Token revoked" in text
    assert "No tokens." in text
    status, text = post_form(browser, page, f"{page}/members/{bob}/remove", {})
    assert status == 303
    assert "Collaborator removed" in text
    status, text = post_form(
        browser, page, f"{page}/settings", {"display_name": "Renamed", "visibility": "private"}
    )
    assert status == 303
    assert "<h1>Renamed</h1>" in text
    status, text = post_form(browser, page, f"{page}/delete", {"confirm": "wrong"})
    assert status == 400
    assert "type the wiki's name (notes)" in text
    assert storage.wiki_paths(platform.settings.wikis_dir, "notes").repo.exists()
    status, text = post_form(browser, page, f"{page}/delete", {"confirm": "notes"})
    assert status == 303
    assert "Deleted notes." in text
    assert not storage.wiki_paths(platform.settings.wikis_dir, "notes").root.exists()


def test_viewer_sees_the_wiki_but_no_owner_controls(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    share(platform, "notes", bob, "viewer")
    text = platform.browser(bob).get("/app/wikis/notes").text
    assert "you are viewer" in text
    assert "Add collaborator" not in text
    assert "Delete wiki" not in text
    assert 'value="write"' not in text  # a viewer cannot ask for a write token
    assert "Leave" in text


def test_strangers_get_a_403_page_and_unknown_wikis_a_404_page(platform: Platform) -> None:
    alice, eve = platform.user("alice"), platform.user("eve")
    make(platform, alice)
    browser = platform.browser(eve)
    refused = browser.get("/app/wikis/notes")
    assert refused.status_code == 403
    assert "Not allowed" in refused.text
    missing = browser.get("/app/wikis/nothing")
    assert missing.status_code == 404
    assert "Not found" in missing.text
    forged = browser.post(
        "/app/wikis/notes/delete",
        data={"confirm": "notes", "csrf_token": csrf_field(browser.get("/app").text)},
    )
    assert forged.status_code == 403
    assert storage.wiki_paths(platform.settings.wikis_dir, "notes").repo.exists()


def test_folders_set_on_collaborators_and_tokens_through_forms(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    browser = platform.browser(alice)
    page = "/app/wikis/notes"
    status, text = post_form(
        browser, page, f"{page}/members", {"who": "@bob.test", "role": "editor", "paths": "Agents, Team/"}
    )
    assert status == 303, text
    assert "writes only under Agents/, Team/; reads everything" in text
    assert "everyone on the wiki reads all of it" in text  # said where folders are set
    status, text = post_form(
        browser, page, f"{page}/members/{bob}/role", {"role": "editor", "paths": "Agents/"}
    )
    assert "is now editor, writing only under Agents/" in text
    status, text = post_form(browser, page, f"{page}/members/{bob}/role", {"role": "editor", "paths": "../x"})
    assert status == 400
    assert "'.' or '..' segments" in text
    status, text = post_form(browser, page, f"{page}/members/{bob}/role", {"role": "editor", "paths": ""})
    assert "is now editor." in text
    status, text = post_form(
        browser, page, f"{page}/tokens", {"name": "agent", "access": "write", "paths": "Agents/"}
    )
    assert status == 303
    assert "writes only under Agents/" in text
    token_id = re.search(r"/tokens/([0-9a-f]+)/paths", text)
    assert token_id
    status, text = post_form(browser, page, f"{page}/tokens/{token_id.group(1)}/paths", {"paths": "Journal/"})
    assert "now writes only under Journal/" in text
    status, text = post_form(browser, page, f"{page}/tokens/{token_id.group(1)}/paths", {"paths": ""})
    assert "now writes anywhere in the wiki" in text


def test_owners_add_and_remove_webhooks_through_forms(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    share(platform, "notes", bob, "editor")
    browser = platform.browser(alice)
    page = "/app/wikis/notes"
    status, text = post_form(browser, page, f"{page}/webhooks", {"url": "http://127.0.0.1:9/hook"})
    assert status == 303, text
    assert "Webhook to 127.0.0.1 added (standard)" in text
    secret = re.search(r'id="new-webhook-secret" class="copy" value="(whsec_[^"]+)"', text)
    assert secret, "the signing secret is shown once"
    again = html.unescape(browser.get(page).text)
    assert secret.group(1) not in again
    assert "standard: 127.0.0.1" in again
    status, text = post_form(browser, page, f"{page}/webhooks", {"url": "ftp://example.org/"})
    assert status == 400
    assert "this URL cannot receive webhooks" in text
    assert "Webhooks" not in html.unescape(platform.browser(bob).get(page).text)  # owners only
    webhook_id = re.search(r"/webhooks/([0-9a-f]+)/delete", again)
    assert webhook_id
    # its delivery log, and sending one again
    with transaction(platform.app.state.db) as db:
        db.add(
            WebhookDelivery(
                webhook_id=webhook_id.group(1),
                event_id="evt_x",
                event_type="page.created",
                payload="{}",
                status="delivered",
                attempts=2,
                last_status_code=204,
                last_duration_ms=12,
                last_attempt_at=datetime.now(UTC),
            )
        )
    shown = html.unescape(browser.get(page).text)
    assert "Last deliveries" in shown
    assert "delivered, 2 attempts, answered 204" in shown
    delivery = re.search(r'data-delivery="(\d+)"', shown)
    assert delivery
    status, text = post_form(
        browser, page, f"{page}/webhooks/{webhook_id.group(1)}/deliveries/{delivery.group(1)}/redeliver", {}
    )
    assert "page.created will be sent again" in text
    with platform.app.state.db() as db:
        assert db.get(WebhookDelivery, int(delivery.group(1))).status == "pending"
    status, text = post_form(browser, page, f"{page}/webhooks/{webhook_id.group(1)}/delete", {})
    assert "Webhook removed." in text
    assert "No webhooks." in text


def test_an_apps_folders_changed_through_the_form(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    with transaction(platform.app.state.db) as db:
        db.add(OAuthClient(client_id="app-1", client_name="Agent app"))
        db.flush()
        db.add(
            OAuthGrant(
                id="g-1",
                client_id="app-1",
                user_did=alice,
                wiki_slug="notes",
                scopes="wiki:read wiki:write",
                token_issued_at=datetime.now(UTC),
            )
        )
    browser = platform.browser(alice)
    page = "/app/wikis/notes"
    status, text = post_form(browser, page, f"{page}/apps/g-1/paths", {"paths": "Agents/"})
    assert status == 303
    assert "Agent app now writes only under Agents/" in text
    assert "writes only under Agents/" in text
    status, text = post_form(browser, page, f"{page}/apps/g-1/paths", {"paths": "/etc"})
    assert status == 400
    assert "relative to the wiki" in text
    status, text = post_form(browser, page, f"{page}/apps/g-1/paths", {"paths": ""})
    assert "Agent app now writes anywhere in the wiki" in text
