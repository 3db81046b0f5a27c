"""Path rules (``pathrules``): prefixes validated and normalised, areas matched and combined, refusals worded;
and the decision's side (``acl.write_area``, the verifier's principals) reading them from the database."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared import acl
from wikibot_shared.db import transaction
from wikibot_shared.errors import Forbidden, InputError
from wikibot_shared.models import Acl, User, Wiki
from wikibot_shared.pathrules import WriteArea, loaded, normalize_prefix, parse_prefixes, parse_text, shown


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Agents/", "Agents/"),
        ("Agents", "Agents/"),
        (" agents//2026 ", "agents/2026/"),
        ("Journal/2026/", "Journal/2026/"),
        ("Team Notes/Q1", "Team Notes/Q1/"),
    ],
)
def test_prefixes_are_folders(raw: str, expected: str) -> None:
    assert normalize_prefix(raw) == expected


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "a folder of the wiki"),
        ("/", "a folder of the wiki"),
        ("/etc", "relative to the wiki"),
        ("../up", "'.' or '..'"),
        ("a/./b", "'.' or '..'"),
        (".git/", "dot"),
        ("a?b", "'?'"),
        ("a#b", "'#'"),
        ("a\\b", "'\\\\'"),
        ("a\x00b", "control"),
        (" a /b", "leading or trailing spaces"),
        ("x" * 201, "at most 200"),
        (7, "a folder of the wiki"),
    ],
)
def test_bad_prefixes_are_refused_in_words(raw: object, says: str) -> None:
    with pytest.raises(InputError) as refused:
        normalize_prefix(raw)
    assert refused.value.code == "invalid_path"
    assert says in refused.value.message


def test_lists_of_prefixes() -> None:
    assert parse_prefixes(None) is None
    assert parse_prefixes(["Journal/2026", "agents/", "Agents/Bots/", "Agents"]) == (
        "Agents/",
        "Journal/2026/",
    )
    with pytest.raises(InputError, match="at least one"):
        parse_prefixes([])
    with pytest.raises(InputError, match="a list"):
        parse_prefixes("Agents/")
    with pytest.raises(InputError, match="at most 20"):
        parse_prefixes([f"F{i}/" for i in range(21)])
    assert parse_text("  ") is None
    assert parse_text("Agents/, Journal/2026\nTeam") == ("Agents/", "Journal/2026/", "Team/")
    assert parse_text(shown(("Agents/", "Team/"))) == ("Agents/", "Team/")


def test_an_area_holds_files_below_its_folders_whatever_their_case() -> None:
    area = WriteArea(("Agents/",), "this token")
    assert area.contains("Agents/Plan.md")
    assert area.contains("agents/plan/diagram.png")
    assert area.contains("AGENTS/Deep/Down.md")
    assert not area.contains("Agents.md")  # the folder's own page is beside it, not in it
    assert not area.contains("AgentsX/Plan.md")
    assert not area.contains("Team/Agents/Plan.md")
    assert area.outside(["Home.md", "Agents/A.md", "Team/B.md"]) == ["Home.md", "Team/B.md"]
    assert WriteArea().contains("anything.md")
    assert not WriteArea(()).contains("Agents/Plan.md")


def test_areas_combine_to_what_both_allow() -> None:
    member = WriteArea(("Agents/", "Team/"), "you")
    assert member.narrowed(None, "this token") == member
    assert WriteArea().narrowed(("Agents/",), "this app") == WriteArea(("Agents/",), "this app")
    token = member.narrowed(("Agents/Bots/", "Journal/"), "this token")
    assert token == WriteArea(("Agents/Bots/",), "this token")
    wider = member.narrowed(("agents/", "Team/", "Journal/"), "this token")
    assert wider.prefixes == ("Agents/", "Team/")
    assert wider.holder == "you"  # the member's rule is the narrower one: the refusal sends them to it
    nowhere = WriteArea(("Agents/",), "you").narrowed(("Journal/",), "this app")
    assert nowhere.prefixes == ()
    assert nowhere.describe() == "nowhere in this wiki"


def test_refusals_name_the_rule_the_files_and_what_to_do() -> None:
    area = WriteArea(("Agents/", "Journal/2026/"), "this token")
    area.check(["Agents/Plan.md", "journal/2026/Jan.md"])
    with pytest.raises(Forbidden) as refused:
        area.check(["Agents/Plan.md", "Home.md", "Team/Doc/pic.png"])
    assert refused.value.code == "outside_write_paths"
    assert refused.value.status == 403
    assert refused.value.message == (
        "this token may write only under 'Agents/', 'Journal/2026/'; outside that: 'Home', 'Team/Doc/pic.png'. "
        "Write there, or ask the wiki's owner for more."
    )
    with pytest.raises(Forbidden) as many:
        area.check([f"P{i}.md" for i in range(13)])
    assert "and 3 more" in many.value.message
    with pytest.raises(Forbidden) as hinted:
        area.check(["Home.md"], hint="Do this instead.")
    assert hinted.value.message.endswith("outside that: 'Home'. Do this instead.")


def test_a_damaged_rule_allows_nothing() -> None:
    assert loaded(None) is None
    assert loaded(["Agents/"]) == ("Agents/",)
    assert loaded({"Agents/": True}) == ()
    assert loaded("Agents/") == ()


def test_the_decision_reads_a_members_rule(db_factory: sessionmaker[Session]) -> None:
    with transaction(db_factory) as db:
        db.add_all([User(did="did:plc:o"), User(did="did:plc:e")])
        db.flush()
        db.add(Wiki(slug="w", owner_did="did:plc:o", display_name="W"))
        db.flush()
        db.add(Acl(wiki_slug="w", grantee_did="did:plc:e", role="editor", write_paths=["Agents/"]))
    with db_factory() as db:
        editor = acl.wiki_access(db, "w", "did:plc:e")
        owner = acl.wiki_access(db, "w", "did:plc:o")
    assert editor.write_paths == ("Agents/",)
    assert editor.writable  # the role writes; where is the area's question
    assert acl.write_area(editor) == WriteArea(("Agents/",), "you")
    assert acl.write_area(editor, ("Agents/Bots/",), "pat") == WriteArea(("Agents/Bots/",), "this token")
    assert acl.write_area(owner).everywhere
    assert acl.write_area(owner, ("Journal/",), "oauth") == WriteArea(("Journal/",), "this app")
