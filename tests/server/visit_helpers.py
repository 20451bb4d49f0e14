"""Shared by the identification and e-form tests: a branch with forms and a bundle, people."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from conftest import TEST_CONFIG, FakeClock, LiveServer, make_db

from queue_server.domain.customer import id_check_char

VISIT_CONFIG = copy.deepcopy(TEST_CONFIG)
VISIT_CONFIG["branch"]["care_age"] = 60
VISIT_CONFIG["services"][2]["needs_form"] = True  # C: account opening
VISIT_CONFIG["services"] += [
    {"code": "K", "names": {"zh": "银行卡", "en": "Cards"}, "needs_form": True},
    {"code": "M", "names": {"zh": "手机银行", "en": "Mobile banking"}, "visible": False},
]
VISIT_CONFIG["counters"][2]["skills"] = ["C", "K", "M", "B", "A"]
VISIT_CONFIG["bundles"] = [
    {
        "code": "NEW",
        "names": {"zh": "一站式开户", "en": "One-stop new customer"},
        "service": "C",
        "includes": ["C", "K", "M"],
        "guidance": {
            "zh": {"documents": ["本人有效身份证件"], "where": "3 号窗口"},
            "en": {"documents": ["Your valid ID"], "where": "Counter 3"},
        },
    }
]


def make_id(birth: date, region: str = "110101", seq: str = "123") -> str:
    """A well-formed resident ID number (made up) for someone born on `birth`."""
    first17 = f"{region}{birth:%Y%m%d}{seq}"
    return first17 + id_check_char(first17)


def bad_check_digit(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


# Made-up people; the tests plant their data and then search every output for it.
def made_up(name: str, birth: date, region: str, seq: str) -> dict[str, str]:
    return {"id": make_id(birth, region, seq), "name": name, "birth": birth.isoformat()}


ELDER = made_up("欧阳娜娜", date(1950, 1, 1), "310104", "271")
YOUNG = made_up("李小龙", date(2000, 6, 30), "440305", "518")
VIP2 = made_up("王大锤", date(1980, 5, 17), "510107", "339")
VIP_ELDER = made_up("张三丰", date(1940, 3, 2), "330106", "804")
ADDRESS = "北京市东城区景山前街4号"


def identity(person: dict[str, str]) -> dict[str, str]:
    return {"id_number": person["id"], "birth_date": person["birth"]}


def eform_of(person: dict[str, str]) -> dict[str, str]:
    return {
        "name": person["name"],
        "id_number": person["id"],
        "birth_date": person["birth"],
        "address": ADDRESS,
        "gender": "女",
    }


def write_vip_list(path: Path) -> Path:
    path.write_text(
        "id_number,vip_tier,name\n"
        f"{VIP2['id']},2,{VIP2['name']}\n"
        f"{VIP_ELDER['id']},1,{VIP_ELDER['name']}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def visit_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    db = tmp_path_factory.mktemp("visit-template") / "branch.db"
    return db, make_db(db, VISIT_CONFIG)


@pytest.fixture
def visit_db(visit_template: tuple[Path, dict[str, str]], tmp_path: Path) -> Path:
    src, _ = visit_template
    db = tmp_path / "branch.db"
    shutil.copyfile(src, db)
    return db


@pytest.fixture
def visit_server(
    visit_template: tuple[Path, dict[str, str]], visit_db: Path, clock: FakeClock
) -> Iterator[LiveServer]:
    """A live branch with forms and the NEW bundle, and the VIP list imported."""
    from queue_server.cli import main

    assert main(["customers", "import", str(write_vip_list(visit_db.parent / "vip.csv")),
                 "--db", str(visit_db)]) == 0  # fmt: skip
    live = LiveServer(visit_db, visit_template[1], clock).start()
    try:
        yield live
    finally:
        live.stop()
