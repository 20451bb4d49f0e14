"""The simulator's ESC/POS parser: any split, any garbage, never an exception."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.printer import TicketContent
from devices.printer.commands import feed_and_cut, raster, text_job
from devices.printer.layout import render_ticket
from devices.printer.parser import EscposParser, Job, Picture, TextLine, compose

CONTENT = TicketContent(
    branch_name="测试支行",
    service_zh="个人理财",
    service_en="Wealth",
    number="B015",
    ahead_zh="前面没有人等候，请留意叫号",
    ahead_en="Nobody is ahead of you – please listen for your number",
    wait_text="",
    issued_at=datetime(2026, 11, 27, 10, 5),
    url="http://h/t/q",
    priority_label="VIP",
)
TEXT_JOB = text_job(CONTENT, "58mm")
IMAGE_JOB = (
    b"\x1b@" + raster(render_ticket(CONTENT, "58mm").crop((0, 0, 384, 120))) + feed_and_cut()
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(chunks: list[bytes]) -> tuple[list[Job], bytes]:
    jobs: list[Job] = []
    parser = EscposParser(on_cut=jobs.append, status=lambda n: 0x1E if n == 4 else 0x12)
    replies = b"".join(parser.feed(chunk) for chunk in chunks)
    return jobs, replies


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def test_commands_are_recognised():
    jobs, replies = run(
        [
            b"\x1b@\x1ba\x01\x1bE\x01Bold\n\x1bE\x00\x1d!\x11Big\n\x1d!\x00",
            b"\x1c&" + "中文".encode("gb18030") + b"\x1c.\n",
            b"\x10\x04\x01\x10\x04\x04",
            b"\x1dV\x00",
            b"second\n\x1dVB\x03",  # feed-and-cut form
            b"third\n\x1bi",  # legacy cut
        ]
    )
    assert replies == b"\x12\x1e"  # status answered in stream order
    assert [j.text for j in jobs] == ["Bold\nBig\n中文", "second", "third"]
    first = [e for e in jobs[0].elements if isinstance(e, TextLine)]
    assert first[0].style.bold and first[0].style.align == 1
    assert (first[1].style.width, first[1].style.height) == (2, 2)
    assert [j.cut for j in jobs] == ["full", "partial", "full"]


def test_unknown_bytes_are_skipped_and_printing_goes_on():
    jobs, _ = run([b"\x1b\xee\x1d\xfe\x1c\xfd\x07\x00ok\n\x1dV\x01"])
    assert [j.text for j in jobs] == ["ok"]


@FAST
@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_a_job_split_anywhere_parses_the_same(cuts):
    whole, _ = run([TEXT_JOB + IMAGE_JOB])
    pieces, _ = run(split(TEXT_JOB + IMAGE_JOB, cuts))
    assert [j.text for j in pieces] == [j.text for j in whole]
    assert [j.qr_data for j in pieces] == [j.qr_data for j in whole] == [[CONTENT.url], []]
    assert "个人理财" in pieces[0].text


# Command openings mixed with random bytes reach far more parser paths than noise alone.
PIECES = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(
        [
            b"\x1dv0\x00\x01\x00\x02\x00", b"\x1dv0\x03", b"\x1d(k", b"\x1d(k\x03\x001Q0",
            b"\x1d(k\x04\x001P0", b"\x1d(k\x03\x001C", b"\x1dV", b"\x1dVA", b"\x1dV\x00",
            b"\x10\x04", b"\x10\x14", b"\x1c&", b"\x1c.", b"\x1c!", b"\x1c2", b"\x1b!",
            b"\x1d!", b"\x1b*\x21", b"\x1dk\x04", b"\x1dkA", b"\x1bD", b"\x1d*", b"\x1bd",
            b"\x1ba", b"\x1b@", b"\n", "中文".encode("gb18030"),
        ]
    ),
)  # fmt: skip


@FAST
@given(st.lists(st.lists(PIECES, max_size=12).map(b"".join), max_size=6))
def test_random_bytes_never_raise(chunks):
    jobs, _ = run(chunks)
    for job in jobs:
        compose(job)


@FAST
@given(
    st.sampled_from([TEXT_JOB, IMAGE_JOB]),
    st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=20
    ),
    st.lists(st.integers(min_value=0), max_size=6),
)
def test_corrupted_jobs_never_raise(job, flips, cuts):
    data = bytearray(job)
    for where, value in flips:
        data[where % len(data)] = value
    jobs, _ = run(split(bytes(data), cuts))
    for printed in jobs:
        compose(printed, "58mm")


def test_garbage_that_looks_like_a_huge_raster_is_skipped():
    jobs, _ = run([b"\x1dv0\x00\xff\xff\xff\xffafter\n\x1dV\x00"])
    assert len(jobs) == 1 and jobs[0].text.endswith("after")
    assert not any(isinstance(e, Picture) for e in jobs[0].elements)
