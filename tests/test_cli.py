"""The `branchq` command: every subcommand is documented and the provisioning ones work."""

from __future__ import annotations

import argparse
import sqlite3

import pytest

from queue_server.cli import build_parser, main


def all_parsers(parser: argparse.ArgumentParser, prefix: str = "branchq"):
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                assert helps.get(name), f"{prefix} {name} has no help text"
                yield from all_parsers(sub, f"{prefix} {name}")


def test_every_command_and_option_is_documented():
    seen = []
    for name, parser in all_parsers(build_parser()):
        seen.append(name)
        for action in parser._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings} has no help"
    for expected in ("server", "init", "token create", "staff add", "demo", "bench server"):
        assert f"branchq {expected}" in seen


def test_init_token_and_staff_commands(tmp_path, capsys):
    db = tmp_path / "b.db"
    assert main(["init", "--db", str(db)]) == 0
    assert "演示支行" in capsys.readouterr().out
    assert main(["init", "--db", str(db)]) == 2  # never overwrites a branch
    assert "already holds a branch" in capsys.readouterr().err
    assert main(["token", "create", "--db", str(db), "--role", "counter:2", "--name", "c2"]) == 0
    out = capsys.readouterr().out
    token = out.strip().split()[-1]
    assert token.startswith("bq_")
    assert main(["token", "create", "--db", str(db), "--role", "janitor"]) == 2
    assert main(["staff", "add", "--db", str(db), "--staff-id", "wang", "--pin", "9876"]) == 0
    assert main(["staff", "add", "--db", str(db), "--staff-id", "li", "--pin", "12"]) == 2
    assert main(["token", "list", "--db", str(db)]) == 0
    assert "counter:2" in capsys.readouterr().out
    conn = sqlite3.connect(db)
    stored = [r[0] for r in conn.execute("SELECT token_hash FROM tokens")]
    pin_hash = conn.execute("SELECT pin_hash FROM staff WHERE staff_id='wang'").fetchone()[0]
    assert token not in stored and "9876" not in pin_hash and pin_hash.startswith("$argon2")
    assert main(["token", "revoke", "--db", str(db), "1"]) == 0
    assert main(["token", "revoke", "--db", str(db), "1"]) == 1


def test_commands_on_a_missing_database_fail_clearly(tmp_path):
    with pytest.raises(SystemExit, match="branchq init"):
        main(["token", "list", "--db", str(tmp_path / "none.db")])


def test_init_rejects_a_bad_config(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[services]]\ncode = "A"\n[[counters]]\nskills = ["Q"]\n')
    assert main(["init", "--db", str(tmp_path / "x.db"), "--config", str(bad)]) == 2
    assert "skill" in capsys.readouterr().err


def test_devices_sim_and_probe(tmp_path, capsys):
    from devices.simset import start_simulators

    assert (
        main(["devices", "sim", "--duration", "0.2", "--counters", "2", "--out", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out
    for scheme in ("escpos+tcp://", "sdt+serial://", "scanner+serial://", "rs485+serial://"):
        assert scheme in out
    sims = start_simulators(tmp_path, [1])
    try:
        assert main(["devices", "probe", sims.printer.url]) == 0
        report = capsys.readouterr().out
        assert "online" in report.lower() or "ok" in report.lower(), report
        assert main(["devices", "probe", sims.idcard.url]) == 0
        assert "SAM" in capsys.readouterr().out
    finally:
        sims.stop()
    assert main(["devices", "probe", "teleport://x"]) == 2


def test_bench_print_prints_json(capsys):
    import json

    assert main(["bench", "print", "--samples", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["p50_ms"] > 0 and result["p99_ms"] >= result["p50_ms"]


def test_a_refusal_is_one_line_and_a_fault_keeps_its_traceback(tmp_path, capsys):
    import subprocess
    import sys

    from tools.harness import child_env

    db = tmp_path / "b.db"
    assert main(["init", "--db", str(db)]) == 0
    book = ["appointment", "book", "--db", str(db), "--service", "A"]
    assert main([*book, "--at", "tomorrow at ten"]) == 2
    assert "give a slot start such as 2026-11-28T14:30" in capsys.readouterr().err
    # A fault, not a refusal: the stored settings damaged by hand, as a bad restore would.
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE meta SET value = json_set(value, '$.day_starts_at', '25:99') "
            "WHERE key = 'settings'"
        )
    conn.close()
    done = subprocess.run(
        [sys.executable, "-m", "queue_server.cli", *book, "--at", "2030-01-02T10:00"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("ValueError: ")
    assert "error:" not in done.stderr
