"""The counter app's screens for `python -m tools.screenshots.qt --only counter`, built offline.

No server: the window gets a client that is never started, with a snapshot of the demo
branch (counter 4, which serves account opening, cards, mobile banking, other and cash)
loaded into its model, and reads that answer at once from canned data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from PySide6.QtWidgets import QApplication, QWidget

from tools.screenshots.qt import Screen, demo_config, snapshot_services
from ui import theme
from ui.client import ApiError, BranchClient
from ui.counter.compact import COMPACT_SIZE
from ui.counter.reads import Answer
from ui.counter.session import Action
from ui.counter.window import CounterWindow, open_counter
from ui.i18n import Translator
from wire.knowledge import Page, check_page, search_text

DEMO_URL = "http://192.168.1.10:8470"
COUNTER = 4
AT = datetime.fromisoformat("2026-11-27T10:20:00+08:00")
SMALL = (1366, 768)
FULL = (1920, 1080)
# A made-up customer (the name and number are invented; the check digit is valid).
DEMO_EFORM = {
    "name": "王建华",
    "gender": "男",
    "ethnicity": "汉",
    "birth_date": "1955-03-07",
    "id_number": "11010519550307002X",
    "address": "北京市朝阳区建国路 88 号 3 单元 502 室",
    "issued_by": "北京市公安局朝阳分局",
    "valid_from": "2016-05-10",
    "valid_to": "长期",
}


# The demo's tellers by staff id (invented names), as the staff list would have them.
DEMO_TELLERS = {
    "t101": "李强",
    "t102": "张敏",
    "t103": "刘洋",
    "t104": "王丽",
    "t105": "陈静",
    "t106": "杨帆",
}


def _at(minutes_ago: float) -> str:
    return (AT - timedelta(minutes=minutes_ago)).isoformat()


def _ticket(
    tid: int, number: str, service: str, minutes_ago: float, **fields: Any
) -> dict[str, Any]:
    ticket = {
        "id": tid,
        "number": number,
        "service": service,
        "business_day": "2026-11-27",
        "arrived_at": _at(minutes_ago),
        "issued_at": _at(minutes_ago),
        "priority": "regular",
        "vip_tier": 0,
        "source": "kiosk",
        "state": "waiting",
        "visit_id": tid,
        "leg": 1,
        "previous_id": None,
        "called_at": None,
        "serving_at": None,
        "finished_at": None,
        "counter": None,
        "target_counter": None,
        "recall_count": 0,
        "note": "",
        "appointment_id": None,
        "appointment_slot": None,
        "staff_id": None,
        "rating": None,
        "bundle": None,
        "has_eform": False,
    }
    ticket.update(fields)
    return ticket


WAITING = [
    _ticket(21, "C012", "C", 26),
    _ticket(22, "K007", "K", 14, priority="care"),
    _ticket(23, "C013", "C", 12),
    _ticket(24, "A031", "A", 9),
    _ticket(25, "M004", "M", 6),
    _ticket(26, "B009", "B", 3),
]


def demo_snapshot(counter_state: str = "open", staff: str | None = "t104") -> dict[str, Any]:
    """The demo branch with a few customers waiting, counter 4 as given."""
    config = demo_config()
    services = snapshot_services(config)
    counters = []
    for c in config["counters"]:
        skills = [
            s if isinstance(s, dict) else {"service": s, "weight": 1.0, "overflow": False}
            for s in c["skills"]
        ]
        mine = c["number"] == COUNTER
        staff_id = staff if mine else f"t10{c['number']}"
        counters.append(
            {
                "number": c["number"],
                "name": c["name"],
                "location": c.get("location", ""),
                "state": counter_state if mine else "open",
                "staff_id": staff_id,
                "staff_name": DEMO_TELLERS.get(staff_id or "", ""),
                "skills": skills,
                "pause_reason": "lunch" if mine and counter_state == "paused" else "",
            }
        )
    branch = config["branch"]
    return {
        "epoch": "screenshots",
        "seq": 1,
        "at": AT.isoformat(),
        "business_day": "2026-11-27",
        "branch": {"name": branch["name"], "id": branch["id"], "timezone": branch["timezone"]},
        "services": services,
        "bundles": config.get("bundles", []),
        "counters": counters,
        "tickets": [dict(t) for t in WAITING],
        "recent_calls": [],
        "devices": [],
        "waiting": {},
    }


def demo_queues(counter: int) -> dict[str, dict[str, Any]]:
    """What the server's counter queue answer says of the demo's waiting customers: per
    business the counter serves, in its order, the count and the longest wait at AT."""
    snap = demo_snapshot()
    skills = next(c["skills"] for c in snap["counters"] if c["number"] == counter)
    targets = {svc["code"]: int(svc["target_wait_s"]) for svc in snap["services"]}
    out: dict[str, dict[str, Any]] = {}
    for skill in skills:
        code = skill["service"]
        waits = [
            (AT - datetime.fromisoformat(t["arrived_at"])).total_seconds()
            for t in WAITING
            if t["service"] == code
        ]
        longest = round(max(waits, default=0.0))
        out[code] = {
            "waiting": len(waits),
            "longest_wait_s": longest,
            "target_wait_s": targets[code],
            "overflow": bool(skill.get("overflow")),
            "over_target": longest > targets[code],
        }
    return out


# The demo's knowledge base: procedures a head office might write (invented, not any
# bank's rules), Chinese first with English beside, and the changes of its last version.
KNOWLEDGE: dict[str, Page] = {
    p["service"]: p
    for p in map(
        check_page,
        [
            {
                "service": "C",
                "title": {"zh": "开户", "en": "Account opening"},
                "documents": [
                    "本人居民身份证原件（在有效期内）",
                    "港澳台居民居住证或外国人永久居留身份证（非内地居民）",
                    "代理人办理：代理人身份证件和经公证的授权委托书",
                ],
                "steps": [
                    "联网核查身份证件，人像比对确认是本人",
                    "询问开户用途，按需开立一类户或二类户",
                    "客户在签名板上签署开户协议并设置密码",
                    "开通短信提醒，告知客户账户的转账限额",
                ],
                "limits": [
                    "同一客户在本行只能有一个一类户",
                    "二类户从非绑定账户转入：每日累计不超过 1 万元",
                    "未满 16 周岁须由监护人陪同办理",
                ],
                "mistakes": [
                    "未问清开户用途就开立一类户",
                    "代理开户时漏收授权委托书复印件",
                ],
                "related": ["K", "M"],
                "body": (
                    "开户前先按身份证号查询客户是否已有本行一类户。\n\n"
                    "遇到以下情况应加强核实，必要时请运营主管复核：\n"
                    "- 客户由他人陪同，且说不清开户用途\n"
                    "- 客户近期在多家银行开户"
                ),
                "en": {
                    "documents": [
                        "The customer's own resident ID card (not expired)",
                        "Non-mainland residents: residence permit or permanent residence ID",
                        "By proxy: the proxy's ID and a notarised power of attorney",
                    ],
                    "steps": [
                        "Verify the ID online and match the photo to the customer",
                        "Ask what the account is for; open a Class I or Class II account",
                        "The customer signs the agreement on the pad and sets a PIN",
                        "Turn on SMS alerts; tell the customer the transfer limits",
                    ],
                    "limits": [
                        "One Class I account per customer at this bank",
                        "Class II, from unlinked accounts: at most 10,000 yuan a day",
                        "Under 16: with a guardian",
                    ],
                    "mistakes": [
                        "Opening a Class I account before asking what it is for",
                        "Not keeping a copy of the power of attorney",
                    ],
                    "body": (
                        "Before opening, look the ID number up for an existing Class I "
                        "account.\n\nCheck more carefully, with the operations supervisor if "
                        "needed, when:\n- someone accompanies the customer, who cannot say "
                        "what the account is for\n- the customer opened accounts at several "
                        "banks lately"
                    ),
                },
            },
            {
                "service": "K",
                "title": {"zh": "银行卡办理", "en": "Bank cards"},
                "documents": ["本人居民身份证原件", "本行一类户"],
                "steps": ["核验身份", "选择卡种并领卡", "客户设置交易限额并签收"],
                "limits": ["同一客户最多持有 4 张本行借记卡"],
                "mistakes": ["未提醒客户设置交易限额"],
                "related": ["C"],
                "body": "",
            },
            {
                "service": "M",
                "title": {"zh": "手机银行开通", "en": "Mobile banking sign-up"},
                "documents": ["本人居民身份证原件", "本人手机（接收验证码）"],
                "steps": ["核对预留手机号", "客户在手机上完成注册", "演示转账和限额设置"],
                "limits": [],
                "mistakes": ["代客户操作手机"],
                "related": ["C", "K"],
                "body": "",
            },
        ],
    )
}
KNOWLEDGE_VERSION = 7
KNOWLEDGE_CHANGES = [
    {
        "kb_version": KNOWLEDGE_VERSION,
        "published_at": "2026-11-26T18:00:00+08:00",
        "changes": [
            {
                "service": "C",
                "what": "added",
                "field": "documents",
                "zh": "开户：新增“港澳台居民居住证”为需核验的证件",
                "en": "Account opening: residence permits added to the documents to check",
            },
            {
                "service": "C",
                "what": "changed",
                "field": "limits",
                "zh": "开户：二类户从非绑定账户转入，每日累计不超过 1 万元（原为 5000 元）",
                "en": "Account opening: Class II from unlinked accounts now 10,000 yuan a day "
                "(was 5,000)",
            },
            {
                "service": "K",
                "what": "added",
                "field": "mistakes",
                "zh": "银行卡办理：新增常见差错“未提醒客户设置交易限额”",
                "en": "Bank cards: new common mistake, not reminding the customer to set limits",
            },
        ],
    }
]


class DemoReads:
    """The server's reads, answered at once from canned data (`changed`: the teller has
    not read the knowledge base's last changes)."""

    def __init__(self, *, changed: bool = False) -> None:
        self.changed = changed

    def queue(self, counter: int, limit: int, done: Answer) -> None:
        done(
            {
                "counter": counter,
                "at": AT.isoformat(),
                "next": WAITING[:limit],
                "by_service": demo_queues(counter),
                "targeted": 0,
            },
            None,
        )

    def today(self, counter: int, done: Answer) -> None:
        done(
            {
                "counter": counter,
                "called": 23,
                "served": 19,
                "no_shows": 2,
                "transfers_out": 1,
                "avg_service_s": 412.0,
                "avg_wait_s": 530.0,
                "ratings": {"4": 11, "3": 4, "2": 1, "1": 0},
                "rating_avg": 3.6,
            },
            None,
        )

    def eform(self, ticket_id: int, done: Answer) -> None:
        done({"ticket_id": ticket_id, "fields": DEMO_EFORM}, None)

    def history(self, ticket_id: int, done: Answer) -> None:
        first = _ticket(
            ticket_id - 1, "B008", "B", 31, state="transferred", counter=2, finished_at=_at(9)
        )
        now = _ticket(
            ticket_id, "B008", "C", 31, leg=2, previous_id=ticket_id - 1,
            note="客户要开二类户,身份证已核验",
        )  # fmt: skip
        done({"visit_id": first["id"], "legs": [first, now]}, None)

    def knowledge_page(self, service: str, done: Answer) -> None:
        page = KNOWLEDGE.get(service)
        if page is None:
            done(None, ApiError(404, "unknown_page", f"no knowledge page for {service}"))
        else:
            done(page, None)

    def knowledge_search(self, text: str, done: Answer) -> None:
        words = text.casefold().split()
        found = [p for p in KNOWLEDGE.values() if all(w in search_text(p) for w in words)]
        done({"pages": found}, None)

    def knowledge_changes(self, counter: int, done: Answer) -> None:
        unseen = KNOWLEDGE_CHANGES if self.changed else []
        done({"kb_version": KNOWLEDGE_VERSION, "staff_id": "t104", "unseen": unseen}, None)

    def knowledge_seen(self, counter: int, kb_version: int, done: Answer) -> None:
        self.changed = False
        self.knowledge_changes(counter, done)


def counter_window(
    tr: Translator,
    *,
    state: str = "open",
    staff: str | None = "t104",
    at_counter: dict[str, Any] | None = None,
    rating: tuple[int, str, int | None] | None = (18, "A029", 4),
    online: bool = True,
    reads: DemoReads | None = None,
) -> CounterWindow:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app, variant="staff")
    client = BranchClient(DEMO_URL, "screenshots")  # never started: no network at all
    snap = demo_snapshot(state, staff)
    if at_counter is not None:
        snap["tickets"].append(at_counter)
    client.model.load_snapshot(snap)
    window = open_counter(client, COUNTER, tr=tr, reads=reads or DemoReads(), offline_grace_ms=0)
    window.connection_changed(True)
    window.refresh_now()  # the reads answer at once
    if rating is not None:
        tid, number, stars = rating
        window.session.action_answered(
            {"id": tid, "number": number, "state": "done", "counter": COUNTER}
        )
        if stars is not None:
            window.session.event({"kind": "ticket.rated", "ticket": {"id": tid}, "rating": stars})
    if not online:
        window.connection_changed(False)
        window._show_offline()
    window.update_view()
    return window


CALLED = _ticket(
    30, "C011", "C", 31, state="called", counter=COUNTER, called_at=_at(0.5),
    priority="care", has_eform=True, bundle="NEW", staff_id="t104",
)  # fmt: skip
SERVING = _ticket(
    31, "B008", "C", 31, state="serving", counter=COUNTER, called_at=_at(4),
    serving_at=_at(3), leg=2, previous_id=30, priority="appointment",
    appointment_slot="2026-11-27T10:30:00+08:00", note="客户要开二类户,身份证已核验",
    staff_id="t104",
)  # fmt: skip


# What the lobby did before the call (issue 21): care with its reason, a note, two of the
# business's documents checked, and the form pre-reviewed while the customer waited.
FROM_LOBBY = _ticket(
    32, "C014", "C", 22, state="called", counter=COUNTER, called_at=_at(0.5),
    priority="care", has_eform=True, staff_id="t104", care_reason="拄拐杖的老人，行动不便",
    note="已核对身份证和户口本，客户要开一类户并办手机银行", documents_checked=[0, 1],
    prereviewed=True,
)  # fmt: skip


def from_lobby(tr: Translator) -> QWidget:
    return counter_window(tr, at_counter=dict(FROM_LOBBY))


def sign_in(tr: Translator) -> QWidget:
    window = counter_window(tr, state="closed", staff=None, rating=None)
    window.sign_in.staff.setText("t104")
    window.sign_in.show_error("counter.sign_in.failed")
    return window


def idle(tr: Translator) -> QWidget:
    return counter_window(tr)


def called(tr: Translator) -> QWidget:
    return counter_window(tr, at_counter=dict(CALLED))


def serving(tr: Translator) -> QWidget:
    return counter_window(tr, at_counter=dict(SERVING), rating=(18, "A029", None))


def paused(tr: Translator) -> QWidget:
    return counter_window(tr, state="paused")


def offline(tr: Translator) -> QWidget:
    window = counter_window(tr, at_counter=dict(CALLED), online=False)
    window.press(window.buttons[next(iter(window.buttons))].action)  # refused: offline
    return window


def transfer(tr: Translator) -> QWidget:
    window = counter_window(tr, at_counter=dict(SERVING))
    dialog = window.open_transfer()
    dialog.choose_service("K")
    dialog.note.setText("客户还需办一张借记卡")
    dialog._owner = window  # type: ignore[attr-defined]  # keeps the window alive with it
    return dialog


def compact(tr: Translator) -> QWidget:
    """The always-on-top bar with a customer called (the full window hidden behind it)."""
    window = counter_window(tr, at_counter=dict(CALLED))
    bar = window.enter_compact()
    bar._owner = window  # type: ignore[attr-defined]  # keeps the window alive with it
    return bar


def compact_offline(tr: Translator) -> QWidget:
    """The bar offline, after a key was refused: the reason shows in the bar itself."""
    window = counter_window(tr, online=False)
    bar = window.enter_compact()
    window.press(Action.CALL_NEXT)
    bar._owner = window  # type: ignore[attr-defined]
    return bar


def knowledge(tr: Translator) -> QWidget:
    """A customer for account opening called: the business's page opens beside them."""
    return counter_window(tr, at_counter=dict(CALLED))


def knowledge_search(tr: Translator) -> QWidget:
    """The teller searched while serving: the results, and the way back to the customer's."""
    window = counter_window(tr, at_counter=dict(SERVING), rating=None)
    window.knowledge.search.setText("身份证" if tr.language == "zh" else "ID")
    window.search_knowledge(window.knowledge.search.text())
    return window


def knowledge_changed(tr: Translator) -> QWidget:
    """The knowledge base was updated: what changed, above the page, until dismissed."""
    return counter_window(tr, at_counter=dict(CALLED), reads=DemoReads(changed=True))


def screens() -> list[Screen]:
    """Every counter screen, for `python -m tools.screenshots.qt --only counter`."""
    # A teller's PC: a 1366×768 laptop or a 1920×1080 monitor; the dialog and the
    # compact bar at their own sizes.
    return [
        *(
            Screen(name, build, sizes=(SMALL, FULL), large_variants=(False,))
            for name, build in (
                ("counter-sign-in", sign_in),
                ("counter-idle", idle),
                ("counter-called", called),
                ("counter-serving", serving),
                ("counter-from-lobby", from_lobby),
                ("counter-paused", paused),
                ("counter-offline", offline),
                ("counter-knowledge", knowledge),
                ("counter-knowledge-search", knowledge_search),
                ("counter-knowledge-changed", knowledge_changed),
            )
        ),
        Screen("counter-transfer", transfer, sizes=((720, 480),), large_variants=(False,)),
        Screen("counter-compact", compact, sizes=(COMPACT_SIZE,), large_variants=(False,)),
        Screen(
            "counter-compact-offline",
            compact_offline,
            sizes=(COMPACT_SIZE,),
            large_variants=(False,),
        ),
    ]
