"""A person in headless Chromium (Debian's, driven by Playwright's async API): signing in through the reference
PDS's own screens, the platform's dashboard and wiki settings, consent for an MCP client, and Otterwiki's editor.

Every helper waits for the page the user would see next and asserts what it shows, so a failure names the
screen that was wrong. The async API lets the browser and the MCP SDK client share one event loop (the SDK's
redirect handler drives the consent page directly).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright

from tests.support.chromium import chromium_args, chromium_path
from tests.support.pds import Account, ReferencePds

# Where the MCP client says it listens for the authorization code. Nothing listens: the browser's request to it
# is intercepted and answered by the test, so no connection leaves the machine's published ports.
REDIRECT = "http://127.0.0.1:53682/callback"


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            # wiki hosts and the PDS's issuer are all on this machine's loopback (Chromium resolves localhost
            # itself; the rule makes that explicit for every wiki host)
            args=chromium_args("MAP *.localhost 127.0.0.1"),
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Person:
    """One person with their own browser profile (cookies) and PDS account."""

    account: Account
    username: str
    context: BrowserContext
    page: Page
    origin: str  # the platform: http://localhost:PORT

    @classmethod
    async def open(cls, browser: Browser, account: Account, username: str, origin: str) -> Person:
        context = await browser.new_context()
        context.set_default_timeout(30_000)
        return cls(account, username, context, await context.new_page(), origin)

    @property
    def did(self) -> str:
        return self.account.did

    async def session_cookie(self) -> str:
        """The platform session (host-only on localhost), as a Bearer for /api or a cookie for httpx."""
        for cookie in await self.context.cookies(self.origin):
            if cookie["name"] == "wikibot_session":
                return str(cookie["value"])
        raise AssertionError(f"{self.username} holds no platform session cookie")

    # -- sign-in -------------------------------------------------------------------------------------------
    async def sign_in(self, pds: ReferencePds) -> None:
        """Type the handle, sign in and authorize at the PDS, come back, choose the username, land on /app."""
        page = self.page
        await page.goto(f"{self.origin}/auth/login")
        await page.get_by_label("Handle, DID or server address").fill(self.account.handle)
        await page.get_by_role("button", name="Continue").click()
        await page.wait_for_url(f"{pds.url}/oauth/authorize?**")
        client_id = parse_qs(urlsplit(page.url).query)["client_id"][0]
        assert client_id.startswith("http://localhost?"), client_id  # the loopback client (docs/auth.md)
        # the PDS's own screens: our login_hint pre-fills the account; password, then consent
        assert await page.locator("input[autocomplete=username]").input_value() == self.account.handle
        await page.locator("input[autocomplete=current-password]").fill(self.account.password)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("button", name="Authorize").click()
        # home through the 127.0.0.1 callback; first sign-in asks for a username, pre-filled from the handle
        await page.wait_for_url(f"{self.origin}/auth/username**")
        field = page.get_by_label("Username")
        assert await field.input_value() == self.account.handle.split(".")[0]
        await field.fill(self.username)
        await page.get_by_role("button", name="Save and continue").click()
        await page.wait_for_url(f"{self.origin}/app")
        assert await page.get_by_role("button", name="Sign out").is_visible()

    # -- the dashboard and a wiki's settings ---------------------------------------------------------------
    async def create_wiki(self, slug: str, display_name: str) -> None:
        page = self.page
        await page.goto(f"{self.origin}/app")
        await page.get_by_label("Name (its address)").fill(slug)
        await page.get_by_label("Display name").fill(display_name)
        await page.get_by_role("button", name="Create wiki").click()
        await page.wait_for_url(f"{self.origin}/app/wikis/{slug}**")
        assert await page.get_by_role("heading", name=display_name, level=1).is_visible()
        assert "you are owner" in await page.locator("main").inner_text()

    async def settings(self, slug: str) -> Page:
        await self.page.goto(f"{self.origin}/app/wikis/{slug}")
        return self.page

    async def notice(self) -> str:
        return await self.page.locator(".flash[role=status]").inner_text()

    async def create_token(self, slug: str, name: str, *, write: bool) -> str:
        page = await self.settings(slug)
        await page.get_by_label("Token name").fill(name)
        await page.get_by_label("Read and write" if write else "Read", exact=True).check()
        await page.get_by_role("button", name="Create token").click()
        await page.wait_for_url(f"{self.origin}/app/wikis/{slug}#tokens")
        token = await page.locator("#new-token").input_value()
        assert token.startswith("wbp_"), token
        return token

    async def add_member(self, slug: str, who: str, role: str) -> str:
        page = await self.settings(slug)
        await page.get_by_label("Add a person by handle or DID").fill(who)
        await page.locator("#new-role").select_option(role)
        await page.get_by_role("button", name="Add collaborator").click()
        await page.wait_for_url(f"{self.origin}/app/wikis/{slug}#members")
        return await self.notice()

    async def remove_member(self, slug: str, handle: str) -> str:
        page = await self.settings(slug)
        await page.get_by_role("button", name=f"Remove {handle}").click()
        await page.wait_for_url(f"{self.origin}/app/wikis/{slug}#members")
        return await self.notice()

    async def connected_apps(self, slug: str) -> str:
        page = await self.settings(slug)
        return await page.locator("#apps").inner_text()

    async def live_apps(self, slug: str, client_name: str) -> int:
        """How many connected-apps rows of that client can still be disconnected (ended ones cannot)."""
        page = await self.settings(slug)
        return await page.get_by_role("button", name=f"Disconnect {client_name}").count()

    async def revoke_app(self, slug: str, client_name: str) -> int:
        """Press Revoke on every connected-apps row of that client; how many there were."""
        page = await self.settings(slug)
        buttons = page.get_by_role("button", name=f"Disconnect {client_name}")
        revoked = 0
        while await buttons.count():
            await buttons.first.click()
            await page.wait_for_url(f"{self.origin}/app/wikis/{slug}#apps")
            assert (await self.notice()).startswith("App disconnected.")
            revoked += 1
        return revoked

    async def set_agents_propose(self, slug: str, on: bool) -> str:
        """Settings → "Agents propose" on or off, saved."""
        page = await self.settings(slug)
        box = page.get_by_label("Agents propose", exact=False)
        await (box.check() if on else box.uncheck())
        await page.get_by_role("button", name="Save settings").click()
        await page.wait_for_url(f"{self.origin}/app/wikis/{slug}#settings")
        return await self.notice()

    async def decide_proposal(self, slug: str, title: str, *, approve: bool, comment: str = "") -> str:
        """From the wiki's Proposals list to the proposal, its diff read, Approve or Reject pressed; the notice
        and what the page showed of the diff."""
        page = await self.settings(slug)
        await page.locator("#proposals").get_by_role("link", name=title).click()
        await page.wait_for_url(f"{self.origin}/app/wikis/{slug}/proposals/*")
        shown = await page.locator("pre.diff").first.inner_text()
        form = page.locator("#approve-form" if approve else "#reject-form")
        if comment:
            await form.get_by_role("textbox").fill(comment)
        await form.get_by_role("button", name="Approve" if approve else "Reject").click()
        await page.wait_for_url(f"{self.origin}/app/wikis/{slug}/proposals/*")
        state = await page.locator("#proposal-state").get_attribute("data-state")
        return f"{await self.notice()}|{state}|{shown}"

    async def undo_agent(self, slug: str, label: str, *, confirm: tuple[str, ...] = ()) -> str:
        """ "What it changed (undo)" beside a token or app (its link's label), tick ``confirm``, revert; the notice
        and the list the page showed first."""
        page = await self.settings(slug)
        await page.get_by_role("link", name=label).click()
        await page.wait_for_url(f"{self.origin}/app/wikis/{slug}/*/*/changes*")
        shown = await page.locator("#undo-form").inner_text()
        for path in confirm:
            await page.locator(f'input[name="confirm:{path}"]').check()
        await page.get_by_role("button", name="Revert everything it did").click()
        await page.wait_for_url(f"{self.origin}/app/wikis/{slug}/*/*/changes*")
        return f"{await self.notice()}|{shown}"

    # -- OAuth consent for an MCP client -------------------------------------------------------------------
    async def consent(self, authorize_url: str, *, expect: tuple[str, ...] = ()) -> dict[str, str]:
        """Open the authorization URL signed in, check what the page says, press Allow; the redirect's query."""
        page = self.page
        caught: list[str] = []

        async def catch(route: Route) -> None:
            caught.append(route.request.url)
            await route.fulfill(status=200, content_type="text/plain", body="You can close this window.")

        await page.route(f"{REDIRECT}**", catch)
        try:
            await page.goto(authorize_url)
            text = await page.locator("main").inner_text()
            for words in expect:
                assert words in text, f"the consent page does not say {words!r}:\n{text}"
            await page.get_by_role("button", name="Allow").click()
            await page.wait_for_url(f"{REDIRECT}**")
        finally:
            await page.unroute(f"{REDIRECT}**", catch)
        assert len(caught) == 1, caught
        return {k: v[0] for k, v in parse_qs(urlsplit(caught[0]).query).items()}

    # -- the wiki's own UI (Otterwiki) ---------------------------------------------------------------------
    async def open_wiki_page(self, wiki_url: str, name: str) -> Any:
        """Visit a page on the wiki host (the platform hands the session over on the first visit)."""
        response = await self.page.goto(f"{wiki_url}/{quote(name)}")
        assert response is not None
        return response

    async def wiki_text(self, wiki_url: str, name: str) -> str:
        response = await self.open_wiki_page(wiki_url, name)
        assert response.status == 200, f"{name}: {response.status} {await self.page.content()}"
        assert self.page.url.startswith(f"{wiki_url}/"), self.page.url
        return await self.page.locator("article.page").inner_text()

    async def edit_in_otterwiki(self, wiki_url: str, name: str, addition: str, message: str) -> None:
        """Open Otterwiki's editor, type at the end of the page, save with a commit message."""
        page = self.page
        response = await page.goto(f"{wiki_url}/{quote(name)}/edit")
        assert response is not None
        assert response.status == 200, f"editor: {response.status}"
        editor = page.locator(".cm-content")
        await editor.click()
        await page.keyboard.press("Control+End")
        await page.keyboard.type(addition)
        await page.locator("#save-page-btn").click()
        modal = page.locator("#modal-commit")
        await modal.locator("#commit-message").fill(message)
        await modal.locator("input[type=submit]").click()
        await page.wait_for_url(f"{wiki_url}/{quote(name)}")
        assert addition.strip() in await page.locator("article.page").inner_text()

    async def close(self) -> None:
        await self.context.close()
