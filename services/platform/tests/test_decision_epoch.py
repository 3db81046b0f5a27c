"""What the platform and its admin CLI change moves the authorization epoch on
(``wikibot_shared.verify.decisions``), so every service's kept access decisions end on their next request:
a token revoked, a member removed, a wiki's visibility changed, a wiki lapsed. Reading, recording use and new
credentials (a sign-in, a token made) do not."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import CliRunner

from services.platform.tests.support import Platform, make, share
from wikibot_platform.cli import app as cli
from wikibot_shared.verify.decisions import read_epoch


def _moves_the_epoch(platform: Platform, change: Callable[[], object]) -> None:
    before = read_epoch(platform.redis)
    assert before is not None
    change()
    after = read_epoch(platform.redis)
    assert after is not None
    assert int(after) > int(before), change


def test_revocations_through_the_api_and_the_cli_move_the_epoch(platform: Platform, admin: CliRunner) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice, "notes")
    share(platform, "notes", bob, "editor")
    owner = platform.bearer(alice)
    token = platform.client.post("/api/wikis/notes/tokens", json={"name": "t"}, headers=owner).json()

    def revoke() -> None:
        response = platform.client.delete(f"/api/wikis/notes/tokens/{token['id']}", headers=owner)
        assert response.status_code == 204, response.text

    def remove_bob() -> None:
        response = platform.client.delete(f"/api/wikis/notes/members/{bob}", headers=owner)
        assert response.status_code == 204, response.text

    def make_public() -> None:
        response = platform.client.patch("/api/wikis/notes", json={"is_public": True}, headers=owner)
        assert response.status_code == 200, response.text

    def lapse() -> None:
        result = admin.invoke(cli, ["lapse", "notes"])
        assert result.exit_code == 0, result.output

    for change in (revoke, remove_bob, make_public, lapse):
        _moves_the_epoch(platform, change)

    # reading does not, nor does a new credential (no kept decision is about it): sign-ins leave kept ones be
    before = read_epoch(platform.redis)
    assert platform.client.get("/api/wikis", headers=owner).status_code == 200
    made = platform.client.post(
        "/api/wikis/notes/tokens", json={"name": "new"}, headers=platform.bearer(alice)
    )
    assert made.status_code == 201, made.text
    assert read_epoch(platform.redis) == before
