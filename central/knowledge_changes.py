"""What a knowledge-base version changed, in sentences a teller reads at the counter.

Compares the pages of two versions field by field: a page added or removed, its title,
each list's items added, removed or reworded (one out and one in at the same place), the
order of the steps, the businesses it links to, and its free text.
"""

from __future__ import annotations

from wire.knowledge import LIST_FIELDS, Change, Page

# Per list: (added, removed, reworded) sentences in Chinese and English; {t} is the page's
# title, {x} the item, {a} → {b} a reworded item.
_LIST_WORDS: dict[str, tuple[tuple[str, str], tuple[str, str], tuple[str, str]]] = {
    "documents": (
        ("{t}：新增『{x}』为需核验的证件", "{t}: “{x}” is now a document to check"),
        ("{t}：『{x}』不再需要核验", "{t}: “{x}” is no longer checked"),
        ("{t}：需核验的证件『{a}』改为『{b}』", "{t}: document “{a}” is now “{b}”"),
    ),
    "steps": (
        ("{t}：新增步骤『{x}』", "{t}: new step “{x}”"),
        ("{t}：删去步骤『{x}』", "{t}: step “{x}” removed"),
        ("{t}：步骤『{a}』改为『{b}』", "{t}: step “{a}” is now “{b}”"),
    ),
    "limits": (
        ("{t}：新增限额与条件『{x}』", "{t}: new limit “{x}”"),
        ("{t}：取消限额与条件『{x}』", "{t}: limit “{x}” lifted"),
        ("{t}：限额与条件『{a}』改为『{b}』", "{t}: limit “{a}” is now “{b}”"),
    ),
    "mistakes": (
        ("{t}：新增常见错误『{x}』", "{t}: new common mistake “{x}”"),
        ("{t}：删去常见错误『{x}』", "{t}: common mistake “{x}” removed"),
        ("{t}：常见错误『{a}』改为『{b}』", "{t}: common mistake “{a}” is now “{b}”"),
    ),
}

# A list's order changed with nothing added or removed (the steps' order matters most).
_ORDER_WORDS = {
    "documents": ("需核验的证件顺序有调整", "documents to check reordered"),
    "steps": ("步骤顺序有调整", "steps reordered"),
    "limits": ("限额与条件顺序有调整", "limits reordered"),
    "mistakes": ("常见错误顺序有调整", "common mistakes reordered"),
}


def _change(service: str, what: str, field: str, zh: str, en: str) -> Change:
    return {"service": service, "what": what, "field": field, "zh": zh, "en": en}  # type: ignore[typeddict-item]


def _titles(page: Page) -> tuple[str, str]:
    return page["title"]["zh"], page["title"]["en"] or page["title"]["zh"]


def _list_changes(
    service: str, field: str, old: list[str], new: list[str], t: tuple[str, str]
) -> list[Change]:
    added_words, removed_words, reworded_words = _LIST_WORDS[field]
    out: list[Change] = []
    gone = [x for x in old if x not in new]
    came = [x for x in new if x not in old]
    if len(gone) == 1 and len(came) == 1 and old.index(gone[0]) == new.index(came[0]):
        a, b = gone[0], came[0]
        return [
            _change(
                service, "changed", field,
                reworded_words[0].format(t=t[0], a=a, b=b),
                reworded_words[1].format(t=t[1], a=a, b=b),
            )
        ]  # fmt: skip
    for what, words, items in (("added", added_words, came), ("removed", removed_words, gone)):
        for x in items:
            zh, en = (w.format(t=title, x=x) for w, title in zip(words, t, strict=True))
            out.append(_change(service, what, field, zh, en))
    kept_old = [x for x in old if x in new]
    kept_new = [x for x in new if x in old]
    if kept_old != kept_new:
        zh, en = _ORDER_WORDS[field]
        out.append(_change(service, "changed", field, f"{t[0]}：{zh}", f"{t[1]}: {en}"))
    return out


def page_changes(
    old: Page | None, new: Page | None, names: dict[str, tuple[str, str]]
) -> list[Change]:
    """What changed on one business's page; `names` gives other businesses' titles for
    the links between them."""
    if old is None and new is None:
        return []
    if old is None:
        assert new is not None
        t = _titles(new)
        return [
            _change(new["service"], "added", "page", f"{t[0]}：新增业务页", f"{t[1]}: new page")
        ]
    if new is None:
        t = _titles(old)
        return [
            _change(
                old["service"], "removed", "page", f"{t[0]}：业务页已删除", f"{t[1]}: page removed"
            )
        ]
    service, t = new["service"], _titles(new)
    out: list[Change] = []
    if old["title"]["zh"] != new["title"]["zh"] or old["title"]["en"] != new["title"]["en"]:
        before = _titles(old)
        out.append(
            _change(
                service, "changed", "title",
                f"{before[0]}：名称改为『{t[0]}』", f"{before[1]}: now called “{t[1]}”",
            )
        )  # fmt: skip
    for field in LIST_FIELDS:
        out.extend(_list_changes(service, field, old[field], new[field], t))  # type: ignore[literal-required]
    for code in sorted(set(new["related"]) - set(old["related"])):
        zh, en = names.get(code, (code, code))
        out.append(
            _change(
                service,
                "added",
                "related",
                f"{t[0]}：新增关联业务『{zh}』",
                f"{t[1]}: now linked to “{en}”",
            )
        )
    for code in sorted(set(old["related"]) - set(new["related"])):
        zh, en = names.get(code, (code, code))
        out.append(
            _change(
                service,
                "removed",
                "related",
                f"{t[0]}：不再关联业务『{zh}』",
                f"{t[1]}: no longer linked to “{en}”",
            )
        )
    if old["body"] != new["body"]:
        out.append(
            _change(service, "changed", "body", f"{t[0]}：说明有修改", f"{t[1]}: notes revised")
        )
    if old.get("en") != new.get("en"):
        out.append(
            _change(
                service,
                "changed",
                "en",
                f"{t[0]}：英文内容有修改",
                f"{t[1]}: English texts revised",
            )
        )
    return out


def changes(old: list[Page], new: list[Page]) -> list[Change]:
    """Every change from the pages `old` to the pages `new`, page by page in code order."""
    before = {p["service"]: p for p in old}
    after = {p["service"]: p for p in new}
    names = {code: _titles(p) for code, p in {**before, **after}.items()}
    out: list[Change] = []
    for code in sorted(before.keys() | after.keys()):
        out.extend(page_changes(before.get(code), after.get(code), names))
    return out
