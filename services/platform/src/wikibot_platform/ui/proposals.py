"""Reviewing proposals in the UI: ``/app/wikis/{slug}/proposals/{n}`` shows what approving would do to each file
(a line diff against the wiki as it is now, the proposed text, conflicts marked) with the approve and reject
forms; the wiki's page lists them (``wiki.settings_page``). The same service as the API does the work."""

from __future__ import annotations

import difflib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from wikibot_shared.errors import AuthError, WikibotError

from ..schemas import ProposalDecision, ProposalFile
from ..services import proposals
from ..templating import render
from . import flash
from .common import Page, PageDep, form_shape, page_with_error

router = APIRouter(prefix="/app/wikis/{slug}/proposals")
MAX_DIFF_LINES = 2000


def diff_lines(f: ProposalFile) -> list[tuple[str, str]]:
    """(kind, line) pairs of a unified diff: kind is add, del, hunk or same."""
    before = (f.before or "").splitlines()
    after = (f.after or "").splitlines()
    out: list[tuple[str, str]] = []
    for line in list(difflib.unified_diff(before, after, lineterm="", n=3))[2:MAX_DIFF_LINES]:
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
        out.append((kind, line))
    return out


def proposal_page(page: Page, slug: str, number: int, *, error: WikibotError | None = None) -> Response:
    detail = proposals.get_proposal(page.db, page.settings, slug, page.user, number)
    context: dict[str, Any] = {
        "slug": slug,
        "p": detail,
        "diffs": {f.path: diff_lines(f) for f in detail.files},
        "error": error,
        "notice": flash.pop(page.redis, page.user).get("message"),
    }
    return page_with_error(render(page.request, "proposal.html", context), error)


@router.get("/{number}")
def show(slug: str, number: int, page: PageDep) -> Response:
    return proposal_page(page, slug, number)


async def _decision(request: Request) -> ProposalDecision:
    form = await request.form()
    resolve = {
        str(key)[len("resolve:") :]: str(value)
        for key, value in form.items()
        if str(key).startswith("resolve:")
    }
    return form_shape(ProposalDecision, comment=str(form.get("comment") or ""), resolve=resolve or None)


@router.post("/{number}/approve")
async def approve(slug: str, number: int, request: Request, page: PageDep) -> Response:
    return _decide(page, slug, number, await _decision(request), approving=True)


@router.post("/{number}/reject")
async def reject(slug: str, number: int, request: Request, page: PageDep) -> Response:
    return _decide(page, slug, number, await _decision(request), approving=False)


def _decide(page: Page, slug: str, number: int, decision: ProposalDecision, *, approving: bool) -> Response:
    action = proposals.approve if approving else proposals.reject
    try:
        view = action(page.db, page.settings, page.redis, slug, page.user, number, decision)
    except AuthError:
        raise
    except WikibotError as exc:
        page.db.rollback()
        return proposal_page(page, slug, number, error=exc)
    done = "approved: it is in the wiki now" if view.state == "approved" else "rejected"
    flash.push(page.redis, page.user, message=f"Proposal #{number} {done}.")
    return RedirectResponse(
        f"{page.settings.platform_url}/app/wikis/{slug}/proposals/{number}", status_code=303
    )
