"""A page's attachments on real repositories (``wiki.attachments``): upload, overwrite, read, delete."""

from __future__ import annotations

import pytest

from services.mcp.tests.support.world import ALICE, World
from wikibot_mcp.wiki.errors import AttachmentNotFound, PageExists, PageNotFound


def test_attachments(world: World) -> None:
    a = world.actor(ALICE)
    world.core.upload(a, "Home", "a.bin", b"\x00\x01")
    data, kind = world.core.read_attachment(a, "Home", "a.bin")
    assert data == b"\x00\x01"
    assert kind == "application/octet-stream"
    with pytest.raises(PageExists):
        world.core.upload(a, "Home", "a.bin", b"new")
    world.core.upload(a, "Home", "a.bin", b"new", overwrite=True)
    assert world.core.read_attachment(a, "Home", "a.bin")[0] == b"new"
    with pytest.raises(PageNotFound):
        world.core.upload(a, "Nope", "a.bin", b"x")
    world.core.delete_attachment(a, "Home", "a.bin")
    with pytest.raises(AttachmentNotFound):
        world.core.read_attachment(a, "Home", "a.bin")
    with pytest.raises(AttachmentNotFound):
        world.core.delete_attachment(a, "Home", "a.bin")
