"""The management UI in headless Chromium (Debian's, driven by Playwright) against a real uvicorn on 127.0.0.1:
sign in with a login link, create a wiki, add a viewer, create and revoke a token, export, delete the wiki;
plus the page on a phone-sized screen and labels for every control."""

from __future__ import annotations

import io
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright import sync_api as playwright_api

from services.platform.tests.support import make_settings
from tests.support.chromium import chromium_args, chromium_path
from tests.support.servers import free_port
from wikibot_platform.auth import loginlink
from wikibot_platform.main import create_app
from wikibot_shared.acl import Action
from wikibot_shared.db import transaction
from wikibot_shared.models import User

ALICE, BOB = "did:plc:aliceaaaaaaaaaaaaaaaaaaa", "did:plc:bobbbbbbbbbbbbbbbbbbbbbb"


class Served:
    def __init__(self, app: Any, port: int) -> None:
        self.app = app
        self.port = port
        self.base = f"http://localhost:{port}"


@pytest.fixture
def served(tmp_path: Path, redis_url: str, redis_client: Any) -> Iterator[Served]:
    port = free_port()
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'wikibot.db'}", redis_url, public_port=port)
    app = create_app(settings)
    with transaction(app.state.db) as db:
        db.add(User(did=ALICE, handle="alice.test", username="alice"))
        db.add(User(did=BOB, handle="bob.test", username="bob"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Served(app, port)
    server.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), headless=True, args=chromium_args())
        yield chromium
        chromium.close()


def sign_in(served: Served, page: Any, did: str = ALICE) -> None:
    token = loginlink.mint(served.app.state.redis, did=did, ttl=60)
    page.goto(f"{served.base}/auth/link?token={token}")
    assert page.url == f"{served.base}/app"


def unlabeled_controls(page: Any) -> list[str]:
    script = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label')).map(el => el.outerHTML)"""
    return list(page.evaluate(script))


def test_the_whole_management_flow(served: Served, browser: Any, tmp_path: Path) -> None:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    sign_in(served, page)
    assert page.get_by_role("heading", name="Your wikis").is_visible()

    # create a wiki
    page.get_by_label("Name (its address)").fill("notes")
    page.get_by_label("Display name").fill("Team Notes")
    page.get_by_label("Private: only people you add").check()
    page.get_by_role("button", name="Create wiki").click()
    assert page.url == f"{served.base}/app/wikis/notes"
    assert page.get_by_role("status").first.inner_text().startswith("Created Team Notes")
    mcp = f"http://notes.localhost:{served.port}/mcp"
    assert page.locator("#line-claude").input_value() == f"claude mcp add --transport http notes {mcp}"
    assert page.locator("#line-mcp").input_value() == mcp
    assert unlabeled_controls(page) == []

    # add a viewer by handle
    page.get_by_label("Add a person by handle or DID").fill("@bob.test")
    page.locator("#new-role").select_option("viewer")
    page.get_by_role("button", name="Add collaborator").click()
    assert "Added @bob.test as viewer" in page.get_by_role("status").first.inner_text()
    assert page.locator("#members tbody tr", has_text="@bob.test").inner_text().count("viewer") >= 1

    # create a token: shown once, works on this wiki through the shared verifier
    page.get_by_label("Token name").fill("laptop")
    page.get_by_label("Read and write").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token").input_value()
    assert secret.startswith("wbp_")
    host = f"notes.localhost:{served.port}"
    access = served.app.state.verifier.authorize(
        host, {"Authorization": f"Bearer {secret}"}, {}, Action.WRITE
    )
    assert access.principal.did == ALICE
    page.reload()
    assert page.locator("#new-token").count() == 0
    assert page.locator("#tokens tbody tr", has_text="laptop").count() == 1

    # revoke it
    page.get_by_role("button", name="Revoke token laptop").click()
    assert "Token revoked" in page.get_by_role("status").first.inner_text()
    assert page.locator("#tokens").get_by_text("No tokens.").is_visible()

    # export from the account page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export all my wikis").click()
    archive = Path(download_info.value.path())
    with tarfile.open(fileobj=io.BytesIO(archive.read_bytes())) as tar:
        assert "wikibot-export/notes.bundle" in tar.getnames()

    # delete the wiki: a wrong confirmation is refused, the right one deletes
    page.goto(f"{served.base}/app/wikis/notes#delete")
    page.get_by_label("Type notes to confirm").fill("note")
    page.get_by_role("button", name="Delete wiki").click()
    assert "type the wiki's name" in page.get_by_role("alert").inner_text()
    page.get_by_label("Type notes to confirm").fill("notes")
    page.get_by_role("button", name="Delete wiki").click()
    assert page.url == f"{served.base}/app"
    assert "Deleted notes." in page.get_by_role("status").first.inner_text()
    assert page.get_by_text("You have no wikis yet").is_visible()
    context.close()


def test_viewer_sees_it_shared_and_pages_fit_a_phone(served: Served, browser: Any) -> None:
    owner = browser.new_context()
    page = owner.new_page()
    sign_in(served, page)
    page.get_by_label("Name (its address)").fill("shared-notes")
    page.get_by_role("button", name="Create wiki").click()
    page.get_by_label("Add a person by handle or DID").fill(BOB)
    page.get_by_role("button", name="Add collaborator").click()
    owner.close()

    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    sign_in(served, page, BOB)
    assert page.locator("tbody tr", has_text="shared-notes").count() == 1
    for path in ("/app", "/app/wikis/shared-notes", "/app/account"):
        page.goto(served.base + path)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
        assert unlabeled_controls(page) == []
    page.goto(f"{served.base}/app/wikis/shared-notes")
    assert page.get_by_text("you are viewer").is_visible()
    assert page.get_by_role("button", name="Add collaborator").count() == 0
    phone.close()
