"""The review and undo pages, as a browser without JavaScript uses them (forms, CSRF, redirects): switch the wiki
to "agents propose", see an agent's proposal with its diff, approve a conflicting one only after choosing, reject
one with a comment; list what a token changed and revert it in one commit."""

from __future__ import annotations

import html

from services.platform.tests.api.test_proposals import agent_of, core, git
from services.platform.tests.api.test_undo import person, read
from services.platform.tests.support import Platform, make, post_form, share
from wikibot_mcp.wiki import WikiCore

_ = core  # the fixture

PAGE = "/app/wikis/notes"


def test_switch_review_approve_with_a_choice_and_reject(platform: Platform, core: WikiCore) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    share(platform, "notes", bob, "editor")
    browser = platform.browser(alice)
    status, text = post_form(
        browser,
        PAGE,
        f"{PAGE}/settings",
        {"display_name": "Notes", "visibility": "private", "agents_propose": "on"},
    )
    assert status == 303
    assert "Settings saved." in text
    assert "Agents' writes here wait for a person" in text
    me, bot = person(platform, alice), agent_of(platform, bob)
    core.write(me, "Doc", "# Doc\n\nline\n")
    doc = core.read(bot, "Doc")
    core.write(bot, "Doc", "# Doc\n\nline (agent)\n", base_revision=doc["revision"], message="Agent's line")
    doc = core.read(me, "Doc")
    core.write(me, "Doc", "# Doc\n\nline (alice)\n", base_revision=doc["revision"])

    listing = html.unescape(browser.get(PAGE).text)
    assert "Proposals (1)" in listing
    assert f'href="http://localhost:8080{PAGE}/proposals/1"' in listing
    shown = html.unescape(browser.get(f"{PAGE}/proposals/1").text)
    assert "Proposal #1: Agent's line" in shown
    assert '<span class="add">+line (agent)</span>' in shown  # the diff against the wiki as it is now,
    assert '<span class="same"> line (alice)</span>' in shown  # with git's conflict markers around both sides
    assert '<span class="add">+=======</span>' in shown
    assert "conflict" in shown
    assert 'name="resolve:Doc.md"' in shown
    status, text = post_form(browser, f"{PAGE}/proposals/1", f"{PAGE}/proposals/1/approve", {"comment": ""})
    assert status == 409
    assert "choose for each" in text
    assert read(platform, "Doc") == "# Doc\n\nline (alice)\n"
    status, text = post_form(
        browser, f"{PAGE}/proposals/1", f"{PAGE}/proposals/1/approve", {"resolve:Doc.md": "proposal"}
    )
    assert status == 303
    assert "Proposal #1 approved" in text
    assert 'data-state="approved"' in text
    assert read(platform, "Doc") == "# Doc\n\nline (agent)\n"

    core.write(bot, "Junk", "# Junk\n")
    status, text = post_form(
        browser, f"{PAGE}/proposals/2", f"{PAGE}/proposals/2/reject", {"comment": "No junk"}
    )
    assert status == 303
    assert "Proposal #2 rejected" in text
    assert "Comment: No junk" in text
    assert read(platform, "Junk") is None
    viewer = platform.user("carol")
    share(platform, "notes", viewer, "viewer")
    assert platform.browser(viewer).get(f"{PAGE}/proposals/2").status_code == 403


def test_what_a_token_changed_and_reverting_it(platform: Platform, core: WikiCore) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    share(platform, "notes", bob, "editor")
    me, bot = person(platform, alice), agent_of(platform, bob, proposes=False)
    core.write(me, "Doc", "# Doc\n\nok\n")
    doc = core.read(bot, "Doc")
    core.write(bot, "Doc", "# Doc\n\nbroken\n", base_revision=doc["revision"])
    core.write(bot, "Made", "# Made\n")
    browser = platform.browser(alice)
    assert f'href="http://localhost:8080{PAGE}/tokens/tok1/changes"' in browser.get(PAGE).text
    changes = f"{PAGE}/tokens/tok1/changes"
    shown = html.unescape(browser.get(changes).text)
    assert "What agent changed" in shown
    assert "deletes it (it created it)" in shown
    assert "Update Doc" in shown
    assert "Create Made" in shown
    bad = browser.get(f"{changes}?since=yesterday")
    assert bad.status_code == 400
    assert "YYYY-MM-DD" in bad.text
    status, text = post_form(browser, changes, f"{PAGE}/tokens/tok1/undo", {})
    assert status == 303
    assert "Undone in one commit: Doc.md, Made.md" in text
    assert read(platform, "Doc") == "# Doc\n\nok\n"
    assert read(platform, "Made") is None
    assert git(platform, "log", "-1", "--format=%an").strip() == "alice.test"
