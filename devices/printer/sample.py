"""A sample ticket for docs, demos and benchmarks, printed through the simulator.

python -m devices.printer.sample docs/sample_ticket.png [--paper 58mm] [--mode text]
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from . import printer_for_url
from .layout import Paper, TicketContent, format_wait
from .sim import PrinterSimulator

SAMPLE = TicketContent(
    branch_name="演示银行 示范路支行",
    service_zh="个人现金业务",
    service_en="Personal Cash Services",
    number="A023",
    people_ahead=5,
    wait_text=format_wait(12),
    issued_at=datetime(2026, 11, 27, 10, 5),
    url="http://192.168.1.10:8000/t/k3J9xQ2mPa7LwZ",
    footer="请留意叫号，过号请重新取号\nPlease listen for your number",
)


def sample_content(**changes: object) -> TicketContent:
    """SAMPLE with some fields changed, e.g. sample_content(number="B101")."""
    return dataclasses.replace(SAMPLE, **changes)  # type: ignore[arg-type]


def write_sample(
    path: Path, content: TicketContent = SAMPLE, *, paper: Paper = "80mm", mode: str = "image"
) -> Path:
    """Print `content` to a simulator over TCP and copy the PNG it wrote to `path`."""
    with (
        tempfile.TemporaryDirectory(prefix="branchq-ticket-") as tmp,
        PrinterSimulator(tmp, paper=paper) as sim,
    ):
        with printer_for_url(f"{sim.url}?paper={paper}&mode={mode}") as printer:
            printer.print_ticket(content)
        if not sim.wait_for_tickets(1, timeout=10):
            raise RuntimeError("the simulator did not receive the ticket")
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sim.tickets[0], path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the sample ticket to a PNG file.")
    parser.add_argument("path", type=Path)
    parser.add_argument("--paper", choices=["80mm", "58mm"], default="80mm")
    parser.add_argument("--mode", choices=["image", "text"], default="image")
    args = parser.parse_args(argv)
    print(write_sample(args.path, paper=args.paper, mode=args.mode))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
