"""``/app/account`` (``ui/account.py``): the page, the export, deleting the account."""

from __future__ import annotations

from services.platform.tests.support import Platform, csrf_field, make, post_form


def test_account_page_export_and_delete(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    browser = platform.browser(alice)
    page = browser.get("/app/account")
    assert "alice.test" in page.text
    assert "free" in page.text
    export = browser.get("/app/account/export")
    assert export.status_code == 200
    assert export.headers["content-type"] == "application/x-tar"
    status, text = post_form(browser, "/app/account", "/app/account/delete", {"confirm": "bob"})
    assert status == 400
    assert "type your username" in text
    response = browser.post(
        "/app/account/delete",
        data={"confirm": "alice", "csrf_token": csrf_field(browser.get("/app/account").text)},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "http://localhost:8080/?deleted=1"
    assert browser.get("/app").status_code == 303  # signed out
