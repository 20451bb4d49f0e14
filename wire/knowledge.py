"""The tellers' knowledge base as it travels: a page per business, its checks, and the
"what changed" a teller reads after an update (the body of a `knowledge` downlink document).

A page is a structured record, not a web page: the head office fills in fields, the
counter app lays them out. Its free text (`body`) is a small markup — paragraphs separated
by a blank line, list items on lines starting with "- " or "1. " — that is parsed into
blocks and shown as plain text everywhere; no field is ever HTML.

The `knowledge` document's body (`KnowledgeBody`):

- `kb_version`: the network's knowledge-base version (one number for every branch; the
  document's own `version` counts what this branch was sent);
- `published_at`: ISO 8601;
- `pages`: every page, whole (a branch replaces what it holds);
- `changes`: what this version changed since the previous one, per page, in words;
- `earlier`: the changes of the versions before it (newest first, a bounded number), so
  a branch offline through several versions, or a teller back from leave, still reads
  what changed since they last looked.
"""

from __future__ import annotations

import re
from typing import Any, Literal, NotRequired, TypedDict

LIST_FIELDS = ("documents", "steps", "limits", "mistakes")
MAX_ITEMS = 40
MAX_ITEM_CHARS = 300
MAX_TITLE_CHARS = 60
MAX_BODY_CHARS = 8_000
MAX_PAGES = 200
MAX_EARLIER = 20
SERVICE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
# Control characters other than the newline and tab in text: never legitimate in a
# procedure, and a way to smuggle terminal escapes into logs.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class PageTexts(TypedDict):
    documents: list[str]  # documents and proofs the teller checks
    steps: list[str]  # the procedure, in order
    limits: list[str]  # amounts, counts, ages, who may
    mistakes: list[str]  # common mistakes to avoid
    body: str  # free text in the small markup


class Page(TypedDict):
    service: str  # the business code (as the branch's catalogue has it)
    title: dict[str, str]  # {"zh": …, "en": …}
    documents: list[str]
    steps: list[str]
    limits: list[str]
    mistakes: list[str]
    related: list[str]  # business codes often done with or instead of this one
    body: str
    # The same texts in English where the head office wrote them (the Chinese ones lead).
    en: NotRequired[PageTexts]


class Change(TypedDict):
    service: str
    what: Literal["added", "changed", "removed"]
    field: str  # "page", "title", "body", "related" or one of LIST_FIELDS
    zh: str  # one sentence a teller reads: "开户：新增『港澳台居民居住证』为需核验的证件"
    en: str


class VersionChanges(TypedDict):
    kb_version: int
    published_at: str
    changes: list[Change]


class KnowledgeBody(TypedDict):
    kb_version: int
    published_at: str
    pages: list[Page]
    changes: list[Change]
    earlier: list[VersionChanges]


class BadPage(ValueError):
    """A page that does not have the shape above; `code` is stable, the message says where."""

    code = "bad_page"


# ------------------------------------------------------------------- checking
def _text(value: Any, where: str, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise BadPage(f"{where}: text expected")
    text = value.strip()
    if required and not text:
        raise BadPage(f"{where}: must not be empty")
    if len(text) > limit:
        raise BadPage(f"{where}: at most {limit} characters")
    if _CONTROL.search(text):
        raise BadPage(f"{where}: control characters are not allowed")
    return text


def _items(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadPage(f"{where}: a list of texts expected")
    if len(value) > MAX_ITEMS:
        raise BadPage(f"{where}: at most {MAX_ITEMS} items")
    items = [_text(v, f"{where}[{i}]", MAX_ITEM_CHARS) for i, v in enumerate(value)]
    out = [i for i in items if i]
    if len(set(out)) != len(out):
        raise BadPage(f"{where}: an item is listed twice")
    return out


def _texts(raw: dict[str, Any], where: str) -> PageTexts:
    return {
        "documents": _items(raw.get("documents"), f"{where}documents"),
        "steps": _items(raw.get("steps"), f"{where}steps"),
        "limits": _items(raw.get("limits"), f"{where}limits"),
        "mistakes": _items(raw.get("mistakes"), f"{where}mistakes"),
        "body": _text(raw.get("body", ""), f"{where}body", MAX_BODY_CHARS),
    }


def check_page(raw: Any) -> Page:
    """The page in its normal form (texts trimmed, empty items dropped); BadPage otherwise."""
    if not isinstance(raw, dict):
        raise BadPage("a page is an object")
    service = raw.get("service")
    if not isinstance(service, str) or not SERVICE_CODE.match(service):
        raise BadPage("service: a business code of 1 to 16 letters, digits, '_' or '-'")
    title = raw.get("title")
    if not isinstance(title, dict):
        raise BadPage("title: {zh, en} expected")
    page: Page = {
        "service": service,
        "title": {
            "zh": _text(title.get("zh"), "title.zh", MAX_TITLE_CHARS, required=True),
            "en": _text(title.get("en", ""), "title.en", MAX_TITLE_CHARS),
        },
        **_texts(raw, ""),  # type: ignore[typeddict-item]
        "related": [],
    }
    related = raw.get("related") or []
    if not isinstance(related, list) or len(related) > MAX_ITEMS:
        raise BadPage(f"related: a list of at most {MAX_ITEMS} business codes")
    for code in related:
        if not isinstance(code, str) or not SERVICE_CODE.match(code) or code == service:
            raise BadPage(f"related: {code!r} is not another business's code")
    page["related"] = sorted(set(related))
    en = raw.get("en")
    if en is not None:
        if not isinstance(en, dict):
            raise BadPage("en: an object with the English texts expected")
        texts = _texts(en, "en.")
        if any(texts.values()):
            page["en"] = texts
    return page


def check_body(raw: Any) -> KnowledgeBody:
    """A `knowledge` document's body, checked whole (a branch stores nothing of a bad one)."""
    if not isinstance(raw, dict):
        raise BadPage("the body is an object")
    version, published = raw.get("kb_version"), raw.get("published_at")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BadPage("kb_version: a positive whole number")
    if not isinstance(published, str) or not published:
        raise BadPage("published_at: a time expected")
    pages_raw = raw.get("pages")
    if not isinstance(pages_raw, list) or len(pages_raw) > MAX_PAGES:
        raise BadPage(f"pages: a list of at most {MAX_PAGES} pages")
    pages = [check_page(p) for p in pages_raw]
    if len({p["service"] for p in pages}) != len(pages):
        raise BadPage("pages: a business has two pages")
    earlier = raw.get("earlier") or []
    if not isinstance(earlier, list) or len(earlier) > MAX_EARLIER:
        raise BadPage(f"earlier: at most {MAX_EARLIER} versions")
    return {
        "kb_version": version,
        "published_at": published,
        "pages": pages,
        "changes": _changes(raw.get("changes"), "changes"),
        "earlier": [
            {
                "kb_version": _version(v, f"earlier[{i}]"),
                "published_at": str(v.get("published_at", "")),
                "changes": _changes(v.get("changes"), f"earlier[{i}].changes"),
            }
            for i, v in enumerate(earlier)
        ],
    }


def _version(v: Any, where: str) -> int:
    n = v.get("kb_version") if isinstance(v, dict) else None
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise BadPage(f"{where}.kb_version: a positive whole number")
    return n


def _changes(raw: Any, where: str) -> list[Change]:
    if not isinstance(raw, list):
        raise BadPage(f"{where}: a list expected")
    out: list[Change] = []
    for i, c in enumerate(raw):
        if not isinstance(c, dict) or c.get("what") not in ("added", "changed", "removed"):
            raise BadPage(f"{where}[{i}]: a change is added, changed or removed")
        out.append(
            {
                "service": _text(c.get("service"), f"{where}[{i}].service", 16, required=True),
                "what": c["what"],
                "field": _text(c.get("field"), f"{where}[{i}].field", 16, required=True),
                "zh": _text(c.get("zh"), f"{where}[{i}].zh", 2 * MAX_ITEM_CHARS, required=True),
                "en": _text(c.get("en", ""), f"{where}[{i}].en", 2 * MAX_ITEM_CHARS),
            }
        )
    return out


# -------------------------------------------------------------------- markup
Block = tuple[Literal["p", "ul", "ol"], list[str]]
_BULLET = re.compile(r"^\s*[-*•·]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,3}[.)、]\s*(.*)$")


def blocks(body: str) -> list[Block]:
    """The body's paragraphs and lists: ("p", [text]), ("ul", items) or ("ol", items).

    Lines of a paragraph are joined (Chinese without a space, so a wrapped sentence reads
    whole); a line that starts a list item ends the paragraph before it."""
    out: list[Block] = []
    para: list[str] = []

    def end_paragraph() -> None:
        if para:
            joined = "".join(para) if _mostly_cjk(para) else " ".join(para)
            out.append(("p", [joined]))
            para.clear()

    for line in body.splitlines():
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        if not line.strip():
            end_paragraph()
        elif bullet or numbered:
            end_paragraph()
            kind: Literal["ul", "ol"] = "ul" if bullet else "ol"
            text = (bullet or numbered).group(1).strip()  # type: ignore[union-attr]
            if out and out[-1][0] == kind and not para:
                out[-1][1].append(text)
            else:
                out.append((kind, [text]))
        else:
            para.append(line.strip())
    end_paragraph()
    return out


def _mostly_cjk(lines: list[str]) -> bool:
    text = "".join(lines)
    cjk = sum(1 for ch in text if "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
    return cjk * 2 >= len(text.replace(" ", ""))


def search_text(page: Page) -> str:
    """Everything a search may match on a page, lower-cased, in one string."""
    parts = [page["service"], page["title"]["zh"], page["title"]["en"], page["body"]]
    for name in LIST_FIELDS:
        parts.extend(page[name])  # type: ignore[literal-required]
    en = page.get("en")
    if en:
        parts.append(en["body"])
        for name in LIST_FIELDS:
            parts.extend(en[name])  # type: ignore[literal-required]
    return "\n".join(parts).casefold()
