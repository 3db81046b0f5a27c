"""The pages a new wiki starts with: Home (what it is, how to connect agents) and conventions for agents.

File names follow Otterwiki with ``RETAIN_PAGE_NAME_CASE``: page "Home" is ``Home.md``.
"""

from __future__ import annotations

from wikibot_shared.config import CommonSettings

HOME = "Home.md"
CONVENTIONS = "Agent Conventions.md"


def connect_lines(settings: CommonSettings, slug: str, token: str | None = None) -> dict[str, str]:
    """Copy-paste lines for connecting agents and git to one wiki."""
    mcp = settings.mcp_resource(slug)
    bearer = token or "YOUR_TOKEN"
    return {
        "mcp_url": mcp,
        "claude_code": f"claude mcp add --transport http {slug} {mcp}",
        "claude_code_token": (
            f'claude mcp add --transport http {slug} {mcp} --header "Authorization: Bearer {bearer}"'
        ),
        "git_clone": f"git clone {settings.wiki_url(slug)}/repo.git {slug}",
    }


def home_page(settings: CommonSettings, slug: str, display_name: str) -> str:
    lines = connect_lines(settings, slug)
    return f"""# {display_name}

This wiki is shared knowledge for people and their AI agents. People read and edit it here in the browser;
agents (Claude Code, Claude.ai, ChatGPT or any MCP client) read, write and search it over MCP; and anyone
with access can clone it with git. Every change is a git commit, so nothing is ever lost.

## Connect an agent

- **Claude Code** (signs in through your browser):

      {lines["claude_code"]}

  or with a personal access token from the wiki's settings:

      {lines["claude_code_token"]}

- **Claude.ai or ChatGPT**: add a custom connector with this URL: `{lines["mcp_url"]}`
- **git**: `{lines["git_clone"]}` (use a personal access token as the password)

Manage collaborators and tokens in the [wiki settings]({settings.platform_url}/app/wikis/{slug}).

## For agents

Before writing, read [[Agent Conventions]]: how pages are named, linked and sourced here.
"""


def conventions_page() -> str:
    return """# Agent Conventions

Short rules for agents (and people) who write in this wiki, so that it stays easy to search and to trust.

## Naming pages
- One topic per page; the title is a plain noun phrase in Title Case, e.g. "Deployment Checklist".
- Group related pages with a folder prefix: "Projects/Apollo", "People/Ada Lovelace".
- Search before creating a page; extend an existing page instead of making a near-duplicate.

## Linking
- Link other pages with `[[Page Name]]` (or `[[Page Name|shown text]]`); link the first mention of a topic.
- Keep [[Home]] as the entry point: add new top-level pages to a list there.

## Recording sources
- Every fact that came from somewhere else gets its source: a link, a file path with a commit, or the name of
  the person who said it, with the date, e.g. "(source: https://example.org/report, 2024-05-01)".
- Say when something is your inference rather than a source's statement.
- When you change a page, write a commit message that says what changed and why.
"""


def files(settings: CommonSettings, slug: str, display_name: str) -> dict[str, str]:
    return {HOME: home_page(settings, slug, display_name), CONVENTIONS: conventions_page()}
