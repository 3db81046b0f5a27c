"""What the UI's pages share: showing a refused action on the page it came from."""

from __future__ import annotations

from fastapi.responses import Response

from wikibot_shared.errors import WikibotError
from wikibot_shared.web import error_parts


def page_with_error(response: Response, error: WikibotError | None) -> Response:
    """The page, with the refused action's status and headers (``Retry-After`` …) when there was one."""
    if error is not None:
        status, headers, _body = error_parts(error)
        response.status_code = status
        response.headers.update(headers)
    return response
