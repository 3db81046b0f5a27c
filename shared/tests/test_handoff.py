import pytest
import redis

from wikibot_shared.errors import AuthError, InputError
from wikibot_shared.handoff import create_handoff, redeem_handoff, safe_path


def test_code_is_single_use_and_bound_to_its_wiki(redis_client: redis.Redis) -> None:
    code = create_handoff(redis_client, token="jwt", slug="notes", path="/Page?x=1")
    assert redis_client.ttl("wikibot:handoff:" + code) <= 60
    assert redeem_handoff(redis_client, code, "notes") == ("jwt", "/Page?x=1")
    with pytest.raises(AuthError, match="already used"):
        redeem_handoff(redis_client, code, "notes")
    other = create_handoff(redis_client, token="jwt", slug="notes", path="/")
    with pytest.raises(AuthError, match="another wiki"):
        redeem_handoff(redis_client, other, "evil")
    with pytest.raises(AuthError):  # and the attempt burnt it
        redeem_handoff(redis_client, other, "notes")
    with pytest.raises(InputError):
        redeem_handoff(redis_client, None, "notes")


@pytest.mark.parametrize(
    "bad", [None, "", "https://evil.com", "//evil.com/x", "/\\evil.com", "relative", "/a\nb"]
)
def test_only_local_paths_survive(bad: str | None) -> None:
    assert safe_path(bad) == "/"


def test_local_paths_kept() -> None:
    assert safe_path("/Team/Onboarding#setup") == "/Team/Onboarding#setup"
