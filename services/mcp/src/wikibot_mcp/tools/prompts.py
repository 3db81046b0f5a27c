"""Prompts a person picks in their client to set an agent to work on this wiki: each renders the steps, naming the
tools in the order to use them, with what the wiki says now (its conventions page, its orphans).

Arguments are plain ``str`` (MCP passes strings) described in each docstring's ``Args:``; those naming a page
complete to page paths (``completions``). Rendering is a read of the request's wiki (``tools.prompt``).
"""

# No ``from __future__ import annotations``: FastMCP reads these signatures as objects to build the arguments.
from wikibot_shared.errors import InputError

from ..wiki import WikiCore
from ..wiki.context import iso
from ..wiki.filters import parse_since
from ..wiki.index import Snapshot
from ..wiki.names import get_pagename, page_file
from .completions import page_paths
from .declare import Toolbox, actor

SHOWN_ORPHANS = 20


def register(tools: Toolbox, core: WikiCore) -> None:
    @tools.prompt("Record this conversation as a note", complete={"path": page_paths(core)})
    def record_note(topic: str, path: str = "") -> str:
        """Record what this conversation established as a note in the wiki, following the wiki's conventions:
        read them, find or choose the page, write it, link it.

        Args:
            topic: What the note is about, in a few words.
            path: The page to write, e.g. 'Team/Decisions'; leave empty to let the agent choose by the conventions.
        """
        snap = core.snapshot(actor())
        steps = [
            f"Record what we established in this conversation about {topic} as a note in this wiki, following "
            "its conventions.",
            _conventions(snap),
            "2. Look for a page that already covers it before creating one: search_notes with its key words and "
            "semantic_search with a one-line question about it. If one does, add to that page rather than "
            "starting a second.",
            "3. " + _target(snap, path),
            "4. Write it in Markdown: a '# Title' heading, then what was decided or learned and why, what is still "
            "open, and where things are (names, links, commands), for someone who was not here, not a "
            "transcript. Keep or add front matter (tags, categories) as the conventions ask.",
            "5. Link it: name related pages as [[Page Name]] in the note, and link to it from the page it belongs "
            "under (edit_note on that page) so it is not an orphan (find_orphaned_notes lists pages nothing links "
            "to). get_links(path=…) shows whether every link points to a page that exists.",
            "6. Give every write a commit message saying what the note records. Finish by telling me the page's "
            "path and the commit.",
        ]
        return "\n\n".join(steps)

    @tools.prompt("Summarise changes since a date", complete={"prefix": page_paths(core)})
    def changes_since(since: str, prefix: str = "") -> str:
        """Summarise what changed in the wiki since a date: the commits, then the pages they touched.

        Args:
            since: The date or time to start from, ISO 8601 (2025-01-31 or 2025-01-31T09:00:00Z).
            prefix: Only pages whose path starts with this, e.g. 'Team/'; empty for the whole wiki.
        """
        when = parse_since(since)
        if when is None:
            raise InputError("'since' is required: a date such as 2025-01-31", code="invalid_time")
        where = f" under '{prefix}'" if prefix else ""
        steps = [
            f"Summarise what changed in this wiki{where} since {since} ({iso(when)}).",
            f'1. Call get_recent_changes(since="{iso(when)}", limit=200): each commit comes with its author, '
            "date, message and the pages it created, modified or deleted. If 200 come back there are more: say "
            "that the summary covers the latest 200."
            + (f" Keep only the pages whose path starts with '{prefix}'." if prefix else ""),
            "2. Read each changed page with read_note. To see what changed in one, get_history(path=…) lists its "
            "commits and read_note(path=…, revision=<commit>) shows it as it was then; a deleted page can still "
            "be read at a commit before its deletion.",
            "3. Summarise by page, the most significant first: what was added, changed or removed, by whom and "
            "when, commits that belong together grouped; then the new pages and the deleted ones. Name pages as "
            "[[Page Name]].",
            "4. Only read: change nothing.",
        ]
        return "\n\n".join(steps)

    @tools.prompt("Fix orphaned pages and broken links", complete={"prefix": page_paths(core)})
    def fix_orphans_and_broken_links(prefix: str = "") -> str:
        """Find pages nothing links to and links to pages that do not exist, propose fixes, and make them once
        agreed.

        Args:
            prefix: Only pages whose path starts with this, e.g. 'Team/'; empty for the whole wiki.
        """
        found = core.orphans(actor(), limit=500)
        folded = prefix.casefold()
        orphans = [name for name in found["orphans"] if name.casefold().startswith(folded)]
        total = len(orphans) if prefix else found["total"]
        where = f" under '{prefix}'" if prefix else ""
        if orphans:
            shown = ", ".join(orphans[:SHOWN_ORPHANS])
            rest = f" and {total - SHOWN_ORPHANS} more" if total > SHOWN_ORPHANS else ""
            now = f"find_orphaned_notes finds {total} page(s){where} no other page links to: {shown}{rest}."
        else:
            now = f"find_orphaned_notes finds no page{where} that nothing links to; check the links all the same."
        steps = [
            f"Find and fix orphaned pages and broken links in this wiki{where}. Right now {now}",
            "1. Orphans: for each page find_orphaned_notes lists, read_note it and decide: link to it from the "
            "page it belongs under (edit_note there, with a [[Page Name]] link), merge it into another page, or, "
            "only if it is obsolete, propose deleting it (delete_note).",
            "2. Broken links: call get_links(path=…) on the pages concerned (the orphans' neighbours, and the "
            "pages list_notes lists"
            + (f" with prefix '{prefix}'" if prefix else "")
            + "); its 'missing' names "
            "links to pages that do not exist. Find the page that was meant (list_notes(prefix=…), search_notes, "
            'or get_recent_changes for a rename) and fix the link with edit_note(operation="replace", '
            "old_text=<the link>, content=<the fixed link>); create the missing page with write_note only if it "
            "should exist.",
            "3. First propose the fixes as a list (page, problem, change) and wait for my go-ahead. Then make "
            "them: read_note each page first and pass its revision as base_revision, one commit per page with a "
            "message saying what was fixed.",
            "4. Check with find_orphaned_notes and get_links on the pages you changed, and tell me what was fixed "
            "and what is left.",
        ]
        return "\n\n".join(steps)


def _conventions(snap: Snapshot) -> str:
    for name in ("Conventions", "Home"):
        if page_file(name) in snap.pages:
            return (
                f"1. Read the page '{name}' first (read_note(path=\"{name}\")): it says how pages are named, "
                "organised and tagged here; follow it over anything below."
            )
    return (
        "1. This wiki has no 'Conventions' or 'Home' page: see how its pages are named and organised with "
        "list_notes, and do the same."
    )


def _target(snap: Snapshot, path: str) -> str:
    if not path:
        return (
            "Choose the page's path as the conventions would: list_notes(prefix=…) shows what lives where. Create "
            "it with write_note(path=…, content=…)."
        )
    file = page_file(path)  # an impossible path is refused here, in words
    name = get_pagename(file)
    if file in snap.pages:
        return (
            f"Write it in the page '{name}', which exists: read_note(path=\"{name}\") and add the note with "
            "edit_note (operation 'append', or 'replace_section' for its own section), passing the revision you "
            "read as base_revision."
        )
    return f"Write it as the new page '{name}': write_note(path=\"{name}\", content=…)."
