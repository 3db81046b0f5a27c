"""The attachment tools through the official ``mcp`` SDK client: upload, list, download, delete, the refusals
and the tier's size limit."""

from __future__ import annotations

import base64

from services.mcp.tests.support.served import Served


def test_attachments(served: Served) -> None:
    served.ok("write_note", {"path": "Files", "content": "files\n"})
    data = bytes(range(256))
    up = served.ok(
        "upload_attachment",
        {"path": "Files", "filename": "b.bin", "content_base64": base64.b64encode(data).decode()},
    )
    assert up["size"] == 256
    assert up["url"].endswith("/Files/a/b.bin")
    assert served.ok("list_attachments", {"path": "Files"})["attachments"][0]["filename"] == "b.bin"
    down = served.ok("download_attachment", {"path": "Files", "filename": "b.bin"})
    assert base64.b64decode(down["content_base64"]) == data
    assert served.fail(
        "upload_attachment", {"path": "Files", "filename": "b.bin", "content_base64": "AA=="}
    ).startswith("[page_exists]")
    assert served.fail(
        "upload_attachment", {"path": "Files", "filename": "c.bin", "content_base64": "!!"}
    ).startswith("[invalid_base64]")
    assert served.fail(
        "upload_attachment", {"path": "Files", "filename": "../x", "content_base64": "AA=="}
    ).startswith("[invalid_path]")
    served.world.set_wiki("notes", tier="tiny")
    try:
        big = base64.b64encode(b"x" * 1001).decode()
        too_big = served.fail(
            "upload_attachment", {"path": "Files", "filename": "big.bin", "content_base64": big}
        )
        assert too_big.startswith("[attachment_too_large]")
        assert "1000" in too_big
    finally:
        served.world.set_wiki("notes", tier="free")
    served.ok("delete_attachment", {"path": "Files", "filename": "b.bin"})
    assert served.fail("download_attachment", {"path": "Files", "filename": "b.bin"}).startswith(
        "[attachment_not_found]"
    )
