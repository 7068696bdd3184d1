"""`python -m bot match`: a coordinator tries Tandem on a spreadsheet, with no Discord token."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from bot.offline_match import main

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "applicants_example.csv"


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.reader(stream))


def test_the_example_is_matched_summarised_and_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "MATCHES.csv"
    assert main([str(EXAMPLE), "--out", str(out), "--seed", "3", "--date", "2025-03-03"]) == 0
    printed = capsys.readouterr().out
    assert "37 applicants" in printed
    assert "Matched: 35 in 17 matches (16 pairs, 1 trio)" in printed
    assert (
        "Aiko Tanaka (301000000000000012): no one outside Japan shares a language with you (Japanese)"
        in printed
    )
    assert "Match score: mean" in printed
    assert "Matches sharing no interest:" in printed
    rows = read_rows(out)
    assert rows[0] == ["match", "status", "member_ids", "names", "score", "reasons"]
    assert sum(row[1] == "matched" for row in rows) == 17
    assert sum(row[1] == "unmatched" for row in rows) == 2


def test_the_same_seed_writes_the_same_file(tmp_path: Path) -> None:
    first, second = tmp_path / "1.csv", tmp_path / "2.csv"
    assert main([str(EXAMPLE), "--out", str(first), "--seed", "7"]) == 0
    assert main([str(EXAMPLE), "--out", str(second), "--seed", "7"]) == 0
    assert first.read_bytes() == second.read_bytes()


def test_history_keeps_past_partners_apart(tmp_path: Path) -> None:
    first, second = tmp_path / "round1.csv", tmp_path / "round2.csv"
    assert main([str(EXAMPLE), "--out", str(first)]) == 0
    assert main([str(EXAMPLE), "--history", str(first), "--out", str(second)]) == 0
    before = {frozenset(row[2].split(";")) for row in read_rows(first)[1:] if row[1] == "matched"}
    after = [set(row[2].split(";")) for row in read_rows(second)[1:] if row[1] == "matched"]
    for group in after:
        assert not any(len(group & past) >= 2 for past in before)
    # Thiago speaks only Portuguese, and Ana (Portugal) was his partner: now he is told why he is left out.
    reasons = {row[3]: row[5] for row in read_rows(second)[1:] if row[1] == "unmatched"}
    assert reasons["Thiago Almeida"] == (
        "the only person outside Brazil who shares a language with you (Portuguese) was your partner in an "
        "earlier round"
    )


def test_bad_rows_are_reported_by_row_and_field_and_nothing_is_matched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "APPLICANTS.csv"
    text = (
        EXAMPLE.read_text(encoding="utf-8")
        .replace("Europe/London", "Europe/Londn")
        .replace(",Chile,", ",Chle,")
    )
    bad.write_text(
        text.replace("301000000000000005,Sofía Herrera,CL", "301000000000000005,Sofía Herrera,Chle"),
        encoding="utf-8",
    )
    out = tmp_path / "MATCHES.csv"
    assert main([str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert 'APPLICANTS.csv: row 4: timezone "Europe/Londn": did you mean Europe/London?' in err
    assert 'APPLICANTS.csv: row 6: country "Chle": did you mean Chile?' in err
    assert "Nothing was matched" in err
    assert not out.exists()


def test_pins_forbids_and_weights_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = tmp_path / "weights.json"
    weights.write_text(json.dumps({"shared_interests": 60, "sector_mode": "varied"}), encoding="utf-8")
    out = tmp_path / "MATCHES.csv"
    code = main(
        [
            str(EXAMPLE),
            "--out",
            str(out),
            "--weights",
            str(weights),
            "--pin",
            "301000000000000003,301000000000000004",
            "--forbid",
            "301000000000000005;301000000000000008",
        ]
    )
    assert code == 0, capsys.readouterr().err
    rows = read_rows(out)
    pinned = next(row for row in rows if row[2] == "301000000000000003;301000000000000004")
    assert pinned[5].startswith("chosen for you by a coordinator")
    assert not any(row[2] == "301000000000000005;301000000000000008" for row in rows)


def test_unusable_options_exit_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "APPLICANTS.csv"
    shutil.copy(EXAMPLE, copy)
    assert main([str(copy), "--out", str(copy)]) == 2
    assert "refusing to overwrite an input file" in capsys.readouterr().err
    assert (
        main([str(copy), "--out", str(tmp_path / "m.csv"), "--pin", "301000000000000012,301000000000000030"])
        == 2
    )
    assert "pinned pair cannot be matched" in capsys.readouterr().err
    assert main([str(copy), "--pin", "12345"]) == 2
    assert "give two Discord ids" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv: cannot be read" in capsys.readouterr().err
    assert main(["--seed", "x", str(copy)]) == 2
    assert main(["--help"]) == 0
