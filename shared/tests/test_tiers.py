import subprocess
from pathlib import Path

import pytest

from wikibot_shared.errors import ConfigError, Forbidden, LimitExceeded
from wikibot_shared.tiers import (
    DEFAULT_TIERS,
    Tier,
    Usage,
    check_push_allowed,
    check_write,
    load_tiers,
    repo_usage,
)


def test_defaults_and_overrides() -> None:
    assert load_tiers(None) == DEFAULT_TIERS
    tiers = load_tiers('{"free": {"pages_per_wiki": 7, "git_push": false}, "team": {"wikis_per_user": 9}}')
    assert tiers["free"].pages_per_wiki == 7
    assert tiers["free"].git_push is False
    assert tiers["free"].bytes_per_wiki == DEFAULT_TIERS["free"].bytes_per_wiki
    assert tiers["team"].wikis_per_user == 9


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("{", "not valid JSON"),
        ("[]", "must be an object"),
        ('{"free": {"nope": 1}}', "may only set"),
        ('{"free": {"pages_per_wiki": -1}}', "number ≥ 0"),
        ('{"free": {"git_push": 1}}', "boolean"),
        ('{"free": {"pages_per_wiki": true}}', "number ≥ 0"),
    ],
)
def test_bad_tier_config_is_one_line(raw: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as err:
        load_tiers(raw)
    assert err.value.message.startswith("TIERS_JSON:")


def test_checks() -> None:
    tier = Tier(
        "t", wikis_per_user=1, pages_per_wiki=2, bytes_per_wiki=100, attachment_bytes=10, git_push=False
    )
    check_write(tier, Usage(2, 100), attachment_bytes=10)
    with pytest.raises(LimitExceeded, match="2 pages") as err:
        check_write(tier, Usage(3, 10))
    assert err.value.status == 413
    with pytest.raises(LimitExceeded, match="MB per wiki"):
        check_write(tier, Usage(1, 101))
    with pytest.raises(LimitExceeded, match="10 per file"):
        check_write(tier, Usage(1, 1), attachment_bytes=11)
    with pytest.raises(Forbidden, match="git push"):
        check_push_allowed(tier)


def test_repo_usage_counts_pages_and_bytes(tmp_path: Path) -> None:
    assert repo_usage(tmp_path) == Usage(0, 0)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "A.md").write_text("12345")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "B c.md").write_text("123")
    (tmp_path / "dir" / "pic.png").write_bytes(b"\0" * 10)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
        check=True,
    )
    assert repo_usage(tmp_path) == Usage(pages=2, bytes=18)
