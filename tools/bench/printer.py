"""Ticket print latency: from "issue" to the simulated printer having the whole job.

Each sample renders a ticket, builds the ESC/POS job and writes it to a PrinterSimulator
over a real loopback TCP connection, and ends when the simulator has parsed the cut (the
job's last byte). The simulator composes no PNG here: that is not the printer's time.
`branchq bench print [--json]` runs this.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from devices.printer import printer_for_url
from devices.printer.commands import image_job
from devices.printer.layout import Paper, render_ticket
from devices.printer.sim import PrinterSimulator
from tools.fixtures.printer_sample import sample_content


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def run(samples: int = 200, *, paper: Paper = "80mm", timeout_s: float = 10.0) -> dict[str, Any]:
    """Measure `samples` tickets; times in milliseconds."""
    if samples < 1:
        raise ValueError("samples must be at least 1")
    totals: list[float] = []
    renders: list[float] = []
    sends: list[float] = []
    job_bytes = 0
    sim = PrinterSimulator(render=False, paper=paper)
    with sim, printer_for_url(f"{sim.url}?paper={paper}") as printer:
        for i in range(samples):
            ahead = i % 40
            content = sample_content(
                number=f"A{i % 1000:03d}",
                ahead_zh=f"前面还有 {ahead} 人",
                ahead_en=f"People ahead of you: {ahead}",
            )
            started = time.perf_counter()
            image = render_ticket(content, paper)
            rendered = time.perf_counter()
            job = image_job(image)
            printer.send(job)
            sent = time.perf_counter()
            if not sim.wait_for_tickets(i + 1, timeout=timeout_s):
                raise RuntimeError(f"ticket {i + 1} did not reach the simulator")
            cut_at = sim.printed[i].cut_at
            totals.append((cut_at - started) * 1000)
            renders.append((rendered - started) * 1000)
            sends.append((sent - rendered) * 1000)
            job_bytes = len(job)
    return {
        "samples": samples,
        "paper": paper,
        "transport": "tcp loopback",
        "p50_ms": round(_percentile(totals, 50), 2),
        "p90_ms": round(_percentile(totals, 90), 2),
        "p99_ms": round(_percentile(totals, 99), 2),
        "max_ms": round(max(totals), 2),
        "mean_ms": round(statistics.fmean(totals), 2),
        "render_p50_ms": round(_percentile(renders, 50), 2),
        "render_p99_ms": round(_percentile(renders, 99), 2),
        "send_p50_ms": round(_percentile(sends, 50), 2),
        "job_bytes": job_bytes,
    }


def format_report(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"ticket print: {result['samples']} tickets, {result['paper']}, "
            f"{result['transport']}, {result['job_bytes'] / 1024:.0f} KiB per job",
            f"  issue → last byte at printer  p50 {result['p50_ms']:.1f} ms  "
            f"p90 {result['p90_ms']:.1f} ms  p99 {result['p99_ms']:.1f} ms  "
            f"max {result['max_ms']:.1f} ms",
            f"  render                        p50 {result['render_p50_ms']:.1f} ms  "
            f"p99 {result['render_p99_ms']:.1f} ms",
            f"  build job + write             p50 {result['send_p50_ms']:.1f} ms",
        ]
    )


if __name__ == "__main__":
    print(format_report(run()))
