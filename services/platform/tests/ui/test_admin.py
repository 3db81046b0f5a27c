"""``/app/admin`` (``ui/admin.py``): platform statistics, for ``ADMIN_DIDS`` only."""

from __future__ import annotations

import re

from services.platform.tests.support import Platform


def test_admin_page(platform: Platform) -> None:
    alice = platform.user("alice")
    browser = platform.browser(alice)
    assert browser.get("/app/admin").status_code == 403
    assert "/app/admin" not in browser.get("/app").text
    platform.settings.admin_dids_raw = alice
    page = browser.get("/app/admin")
    assert page.status_code == 200
    assert re.search(r'id="stat-users">1<', page.text)
    assert "embedder" in page.text
    assert "redis" in page.text
    assert "/app/admin" in browser.get("/app").text
