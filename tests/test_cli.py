"""The admin commands end to end: frame make, import, quotas, release, demo; errors exit 2."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import structlog

from dialer.cli import COMMANDS, main
from dialer.commands.campaign import abandon_line
from dialer.logs import configure


def test_frame_make_import_quotas_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The four sampling commands work in sequence on a synthetic La Spezia frame."""
    out = tmp_path / "demo"
    db = str(tmp_path / "s.sqlite")
    assert 0 == main(["frame", "make", "--out-dir", str(out), "--rows", "3000", "--seed", "2"])
    survey = str(out / "survey.toml")
    args = ["--survey", survey, "--db", db]
    assert 0 == main(
        ["frame", "import", *args, "--dnc", str(out / "dnc.txt"), str(out / "frame.csv")]
    )
    printed = capsys.readouterr().out
    assert "rows read" in printed
    assert "3,012" in printed
    assert (out / "frame.rejects.csv").exists()
    assert 0 == main(["quotas", *args])
    assert "C3/65+/F" in capsys.readouterr().out
    assert 0 == main(["release", *args, "--seed", "7"])
    assert "release 1 (seed 7)" in capsys.readouterr().out
    with sqlite3.connect(db) as conn:
        rejected = conn.execute("SELECT rows_rejected FROM frame_import").fetchone()[0]
        released = conn.execute("SELECT count(*) FROM sample_case WHERE state = 'released'")
        assert rejected >= 12
        assert released.fetchone()[0] > 0


def test_a_report_or_an_import_with_another_survey_file_changes_no_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``dialer quotas`` only reads, and ``frame import`` or ``release`` with a survey file
    of other targets (the demo's, passed by mistake) keep the stored ones: a campaign's next
    start is what applies a changed file. A report of a store with no wave says so."""
    out = tmp_path / "demo"
    db = tmp_path / "s.sqlite"
    assert 0 == main(["frame", "make", "--out-dir", str(out), "--rows", "3000", "--seed", "2"])
    survey = out / "survey.toml"
    args = ["--survey", str(survey), "--db", str(db)]
    assert 2 == main(["quotas", *args])
    assert "import a frame first" in capsys.readouterr().err
    assert not db.exists()
    assert 0 == main(["frame", "import", *args, str(out / "frame.csv")])

    def targets() -> list[tuple[int, str | None]]:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT target, closed_at FROM cell ORDER BY id").fetchall()

    stored = targets()
    other = out / "other.toml"  # the same survey and wave, for 500 interviews
    text = survey.read_text(encoding="utf-8")
    other.write_text(re.sub(r"(?m)^interviews = \d+", "interviews = 500", text), encoding="utf-8")
    assert other.read_text(encoding="utf-8") != text
    mistaken = ["--survey", str(other), "--db", str(db)]
    assert 0 == main(["quotas", *mistaken])
    assert "defined by another version" in capsys.readouterr().err
    assert 0 == main(["frame", "import", *mistaken, str(out / "frame.csv")])
    assert 0 == main(["release", *mistaken, "--seed", "3"])
    assert stored == targets()
    regrouped = out / "regrouped.toml"  # the same survey and wave, other age bands
    regrouped.write_text(re.sub(r"(?m)^age_bands = .*$", 'age_bands = ["18-99"]', text))
    assert 2 == main(["quotas", "--survey", str(regrouped), "--db", str(db)])
    assert "was created with other cells" in capsys.readouterr().err


def test_frame_make_keeps_a_survey_folder_it_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder holding someone's own survey.toml is not overwritten without --force; one
    that frame make wrote is, as the demo's is at each run."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "survey.toml").write_text("# my survey\n", encoding="utf-8")
    args = ["frame", "make", "--out-dir", str(mine), "--rows", "300"]
    assert 2 == main(args)
    assert "holds survey.toml, not written by dialer" in capsys.readouterr().err
    assert "# my survey\n" == (mine / "survey.toml").read_text(encoding="utf-8")
    assert 0 == main([*args, "--force"])
    ours = tmp_path / "ours"
    assert 0 == main(["frame", "make", "--out-dir", str(ours), "--rows", "300"])
    assert 0 == main(["frame", "make", "--out-dir", str(ours), "--rows", "300"])


def test_frame_make_is_reproducible(tmp_path: Path) -> None:
    """The same seed writes the same frame."""
    for name in ("a", "b"):
        main(["frame", "make", "--out-dir", str(tmp_path / name), "--rows", "500", "--seed", "3"])
    assert (tmp_path / "a" / "frame.csv").read_bytes() == (
        tmp_path / "b" / "frame.csv"
    ).read_bytes()


def test_bad_survey_file_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid survey definition is one line on stderr naming the key, and exit code 2."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[survey]\nname = "x"\ninterviews = "ten"\nmargins = "m.csv"\ndistricts = ["A"]\n'
        'age_bands = ["18+"]\nsex = ["M", "F"]\n',
        encoding="utf-8",
    )
    assert 2 == main(["quotas", "--survey", str(bad), "--db", str(tmp_path / "x.sqlite")])
    assert "survey.interviews" in capsys.readouterr().err


def test_latin1_frame_exits_2_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A frame that is not UTF-8 is refused by the CLI with the line of the first bad byte."""
    main(["frame", "make", "--out-dir", str(tmp_path), "--rows", "200"])
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"phone,district,age,sex\n0187200000,C1,30,M\n0187200001,C1,30,M,\xe8\n")
    code = main(
        [
            "frame",
            "import",
            "--survey",
            str(tmp_path / "survey.toml"),
            "--db",
            str(tmp_path / "s.sqlite"),
            str(latin),
        ]
    )
    assert 2 == code
    assert "line 3: not UTF-8 (byte 0xe8)" in capsys.readouterr().err


def test_demo_runs_a_campaign_on_asterisk_and_reports_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`dialer demo --json` fills its quotas on the real Asterisk and ends with one JSON line."""
    args = ["demo", "--dir", str(tmp_path), "--rows", "4000", "--interviews", "20"]
    assert 0 == main([*args, "--seats", "4", "--ami-port", "15042", "--json"])
    with pytest.raises(ConnectionRefusedError):  # the demo stopped its Asterisk
        socket.create_connection(("127.0.0.1", 15042), timeout=1).close()
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "quotas full" == summary["finished"]
    assert 20 == summary["target"] == summary["completes"]
    assert 0 == summary["overshoot"]
    assert summary["attempts"] >= 20
    assert 0.0 <= summary["abandon_rate"] <= 1.0
    assert 4012 == summary["frame_rows"]
    _assert_no_number_in(tmp_path / "dialer.log", tmp_path / "demo.sqlite")


def _assert_no_number_in(log_path: Path, store: Path) -> None:
    """No dialled number appears whole in the call log (JSON lines), in any form."""
    text = log_path.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines() if '"dial"' in line]
    dials = [line for line in lines if line["event"] == "dial"]
    assert {"la-spezia-demo"} == {d["campaign"] for d in dials}
    assert all(d["attempt_id"] and d["case_id"] and d["call_id"] for d in dials)
    with sqlite3.connect(store) as db:
        dialled = [
            str(r[0])
            for r in db.execute(
                "SELECT DISTINCT c.phone FROM attempt a JOIN sample_case c ON c.id = a.case_id"
            )
        ]
    assert len(dialled) >= 20
    leaked = [p for p in dialled if p.lstrip("+") in text or p[3:] in text]
    assert [] == leaked


def test_import_names_thin_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A frame too small for the quotas prints the thin cells right after the import."""
    main(["frame", "make", "--out-dir", str(tmp_path), "--rows", "300", "--malformed", "0"])
    args = ["--survey", str(tmp_path / "survey.toml"), "--db", str(tmp_path / "s.sqlite")]
    assert 0 == main(["frame", "import", *args, str(tmp_path / "frame.csv")])
    assert "thin cells" in capsys.readouterr().out
    assert 0 == main(["quotas", *args])
    assert "THIN" in capsys.readouterr().out


def test_logs_mask_every_number_whoever_logs_it() -> None:
    """A channel name or a raw AMI message with a number in it is masked to its last 3 digits;
    call ids (UUIDs) and AMI timestamps are left alone."""
    stream = io.StringIO()
    configure(json=True, level=logging.DEBUG, stream=stream)
    try:
        structlog.get_logger("test").debug(
            "panoramisk",
            message="Channel='Local/390187200123@sim-pstn-0000002a;1' Exten='+393471234567'",
            call_id="12345678-1234-4234-9234-123456789012",
            ami_time="1795426501.792341",
            note="note: call back on ０１８７１２３４５６",
        )
    finally:
        configure()
    line = json.loads(stream.getvalue())
    assert (
        "Channel='Local/*********123@sim-pstn-0000002a;1' Exten='**********567'"
        == (line["message"])
    )
    assert "note: call back on *******４５６" == line["note"]  # fullwidth digits too
    assert "12345678-1234-4234-9234-123456789012" == line["call_id"]
    assert "1795426501.792341" == line["ami_time"]


@pytest.mark.parametrize("argv", [["--help"], ["-h", "simulate"], ["--log-json", "--help"]])
def test_help_lists_every_command(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(argv)
    listed = capsys.readouterr().out
    for command in COMMANDS:
        assert f"    {command} " in listed


def test_a_command_after_a_global_option_gets_its_own_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--log-json", "simulate", "--help"])
    assert "--scenario" in capsys.readouterr().out


def test_a_command_imports_only_its_own_module() -> None:
    """``dialer simulate`` loads neither the web app, its HTTP client nor the AMI client."""
    probe = (
        "import sys\n"
        "from dialer.cli import main\n"
        "try:\n"
        "    main(['simulate', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('fastapi', 'httpx', 'panoramisk') if m in sys.modules))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert "--scenario" in ran.stdout
    assert ran.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "command", [["release", "--survey", "s.toml"], ["frame", "make", "--out-dir", "x"]]
)
def test_a_negative_seed_is_refused_naming_the_option(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--seed", "-1"])
    assert 2 == exit_.value.code
    assert "argument --seed: '-1' is not a whole number from 0" in capsys.readouterr().err


def test_the_status_shows_the_window_and_detections_share_of_it() -> None:
    """What the cap judges (the window's rate, not the wave's), the cap, and with machine
    detection the abandons its estimate adds."""
    window = {"window_h": 24.0, "cap": 0.03, "amd_false_positive": 0.05,
              "abandon_rate": 0.0125, "answers": 480.0, "amd_abandons": 2.35}  # fmt: skip
    assert (
        "abandons over the last 24 h: 1.25% of 480 live answers (cap 3.0%), of which machine"
        " verdicts 2.4 (estimate: 5% of them people)"
    ) == abandon_line(window)
    assert abandon_line({**window, "amd_false_positive": 0.0}).endswith("(cap 3.0%)")
    suspended = abandon_line({**window, "amd_suspended": True})
    assert suspended.endswith("people); machine detection suspended")
