"""APPLICANTS.csv out (`write_applicants`, for /participants export) reads back in unchanged."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from bot.applicants_csv import (
    APPLICANT_COLUMNS,
    parse_applicants,
    read_applicants,
    write_applicants,
)
from bot.matching.model import Applicant
from bot.roster import read_applicant_upload
from bot.validation import FieldOptions

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "applicants_example.csv"
SOFIA = Applicant(
    member_id=301000000000000001,
    name='Sofía O\'Neil, "Sof"',
    country="CL",
    timezone="America/Santiago",
    languages=frozenset({"es", "en", "yue"}),
    sector="public",
    career_stage="early",
    interests=frozenset({"open access", "zines", "oral history"}),
    goals='Two lines:\nfirst; second, with "quotes"',
    match_preference="career_stage",
    do_not_match=frozenset({301000000000000003, 301000000000000002}),
)
PLAIN = Applicant(
    member_id=301000000000000002,
    name="Tom",
    country="GB",
    timezone="Europe/London",
    languages=frozenset({"en"}),
    sector="academic",
    career_stage="senior",
)
RISKY = Applicant(
    member_id=301000000000000003,
    name="-Dash",
    country="US",
    timezone="America/New_York",
    languages=frozenset({"en"}),
    sector="school",
    career_stage="mid",
    interests=frozenset({"@home reading"}),
    goals='=HYPERLINK("https://example.com","click")',
)


def written(applicants: list[Applicant]) -> str:
    out = io.StringIO()
    assert write_applicants(out, applicants) == len(applicants)
    return out.getvalue()


def test_the_header_is_the_import_columns() -> None:
    header = next(csv.reader(io.StringIO(written([]))))
    assert header == [*APPLICANT_COLUMNS, "do_not_match"]


def test_written_applicants_read_back_the_same() -> None:
    text = written([SOFIA, PLAIN])
    assert parse_applicants(io.StringIO(text), FieldOptions()) == [SOFIA, PLAIN]


def test_cells_are_canonical() -> None:
    [row] = csv.DictReader(io.StringIO(written([SOFIA])))
    assert row["country"] == "CL"
    assert row["languages"] == "en;es;yue"
    assert row["interests"] == "open access;oral history;zines"
    assert row["do_not_match"] == "301000000000000002;301000000000000003"


def test_the_example_file_round_trips(tmp_path: Path) -> None:
    applicants = read_applicants(EXAMPLE)
    target = tmp_path / "again.csv"
    assert write_applicants(target, applicants) == len(applicants)
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # spreadsheets then read accents right
    assert read_applicants(target) == applicants


def test_formulas_are_escaped_and_the_import_restores_them() -> None:
    text = written([RISKY])
    [row] = csv.DictReader(io.StringIO(text))
    assert row["name"] == "'-Dash"
    assert row["interests"] == "'@home reading"
    assert row["goals"] == "'" + RISKY.goals
    assert not any(cell[:1] in "=+-@" for cell in row.values() if cell)
    assert read_applicant_upload(text, FieldOptions()) == [RISKY]
