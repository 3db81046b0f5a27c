"""What the UI's pages share: the things every signed-in page works with, the API's shapes filled from a form,
and showing a refused action on the page it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import redis
from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from wikibot_shared.errors import WikibotError
from wikibot_shared.verify import Principal
from wikibot_shared.web import error_parts

from ..config import PlatformSettings
from ..deps import DbDep, RedisDep, SettingsDep, UserDep

Shape = TypeVar("Shape", bound=BaseModel)


@dataclass(frozen=True)
class Page:
    """A signed-in page's request, database session, settings, Redis and user: one dependency for them all."""

    request: Request
    db: Session
    settings: PlatformSettings
    redis: redis.Redis
    user: Principal


def _page(request: Request, db: DbDep, settings: SettingsDep, client: RedisDep, user: UserDep) -> Page:
    return Page(request, db, settings, client, user)


PageDep = Annotated[Page, Depends(_page)]


def form_shape(shape: type[Shape], **values: Any) -> Shape:
    """A form's values as the ``XCreate`` / ``XUpdate`` shape the service layer takes, not checked here: the
    service layer checks every value, with the message a person should see (the field limits in ``schemas`` are
    the API's first check of a JSON body and would answer a form with a 500)."""
    return shape.model_construct(**values)


def page_with_error(response: Response, error: WikibotError | None) -> Response:
    """The page, with the refused action's status and headers (``Retry-After`` …) when there was one."""
    if error is not None:
        status, headers, _body = error_parts(error)
        response.status_code = status
        response.headers.update(headers)
    return response
