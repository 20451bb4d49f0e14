"""The three static pages share one router shape: page, text.json, their files, nothing else."""

from __future__ import annotations

import httpx
import pytest

PAGES = [
    # (page URL, base, its files, a key prefix its text has, the 404 wording for a stray file)
    ("/display", "/display", ("display.css", "display.js"), "display.", "no such display file"),
    ("/t/abcdefghijklmnop", "/ticket", ("ticket.css", "ticket.js"), "phone.", "no such file"),
    ("/book", "/book", ("book.css", "book.js"), "book.", "no such booking page file"),
]


@pytest.mark.parametrize(("page", "base", "files", "prefix", "missing"), PAGES)
def test_each_page_serves_its_html_text_and_files_only(server, page, base, files, prefix, missing):
    with httpx.Client(base_url=server.base_url, timeout=10) as web:
        html = web.get(page)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert html.headers["cache-control"] == "no-cache"
        for name in files:
            assert web.get(f"{base}/{name}").status_code == 200
        stray = web.get(f"{base}/secret.py")
        assert stray.status_code == 404
        assert stray.json()["error"] == {"code": "not_found", "message": f"{missing}: secret.py"}
        text = web.get(f"{base}/text.json").json()
        assert {"zh", "en"} <= set(text)
        assert text["en"] and all(
            k.startswith(prefix) or not k.startswith(("display.", "phone.", "book."))
            for k in text["en"]
        )


def test_the_display_text_also_has_the_shared_words_it_reuses(server):
    with httpx.Client(base_url=server.base_url, timeout=10) as web:
        text = web.get("/display/text.json").json()["en"]
    assert {"common.counter", "common.minutes"} <= set(text)
    assert not any(k.startswith(("phone.", "book.")) for k in text)


def test_pages_are_not_in_the_api_document(server):
    with httpx.Client(base_url=server.base_url, timeout=10) as web:
        paths = web.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/display", "/t/", "/ticket", "/book"))]
