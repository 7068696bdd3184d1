"""Applicant spreadsheets in, match spreadsheets out."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from bot.applicants_csv import (
    CsvProblems,
    match_rows,
    parse_applicants,
    parse_match_history,
    read_applicants,
    read_match_history,
    write_matches,
)
from bot.matching import MatchRequest, propose_matches
from bot.validation import FieldOptions

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "applicants_example.csv"
HEADER = "discord_id,name,country,timezone,languages,sector,career_stage,interests,goals,match_preference"


def parse(text: str, options: FieldOptions | None = None):
    return parse_applicants(io.StringIO(text), options)


def test_the_example_file_is_valid_and_varied() -> None:
    applicants = read_applicants(EXAMPLE)
    assert 30 <= len(applicants) <= 40
    assert len({a.country for a in applicants}) >= 25
    assert len({lang for a in applicants for lang in a.languages}) >= 10
    assert {a.match_preference for a in applicants} == {"interests", "career_stage", "open"}
    assert any(a.do_not_match for a in applicants)
    sofia = next(a for a in applicants if a.name == "Sofía Herrera")
    assert (sofia.country, sofia.languages, sofia.timezone) == ("CL", {"es"}, "America/Santiago")


def test_one_row_is_read_into_a_canonical_applicant() -> None:
    [applicant] = parse(
        f"{HEADER},do_not_match\n"
        "301000000000000001, Ana Silva ,chile,america/santiago,Spanish; en,Academic,Early career,"
        "Open Access;zines,Grow our repository,,301000000000000002\n"
    )
    assert applicant.member_id == 301000000000000001
    assert applicant.name == "Ana Silva"
    assert (applicant.country, applicant.timezone) == ("CL", "America/Santiago")
    assert applicant.languages == {"es", "en"}
    assert (applicant.sector, applicant.career_stage) == ("academic", "early")
    assert applicant.interests == {"open access", "zines"}
    assert applicant.match_preference == "interests"
    assert applicant.do_not_match == {301000000000000002}


def test_every_bad_row_and_field_is_reported_and_nothing_is_returned() -> None:
    text = (
        f"{HEADER}\n"
        "301000000000000001,Ana,Chile,America/Santiago,es,academic,early,,,\n"
        "301000000000000002,Bo,Chle,Europe/Londn,en,academic,early,,,\n"
        "\n"
        "3.01E+17,Cy,Ghana,Africa/Accra,Englsh,library,mid,,,sometimes\n"
        "301000000000000001,Dee,Ghana,Africa/Accra,en,public,mid,,,\n"
    )
    with pytest.raises(CsvProblems) as excinfo:
        parse(text)
    assert excinfo.value.problems == (
        'row 3: country "Chle": did you mean Chile?',
        'row 3: timezone "Europe/Londn": did you mean Europe/London?',
        'row 5: discord_id "3.01E+17": the spreadsheet turned this id into a rounded number; '
        "format the column as text and paste the ids again",
        'row 5: languages "Englsh": did you mean English?',
        'row 5: sector "library": must be one of academic, public, school, special, government, other',
        'row 5: match_preference "sometimes": must be one of interests, career_stage, open',
        'row 6: discord_id "301000000000000001": also on row 2',
    )


def test_header_problems_are_reported_before_any_row() -> None:
    with pytest.raises(CsvProblems) as excinfo:
        parse("discord_id,name,country,timezone,languages,sector,career_stage,interests,goals,do_not_macth\n")
    assert excinfo.value.problems == (
        "row 1: unknown column 'do_not_macth'; did you mean do_not_match?",
        "row 1: missing column: match_preference",
    )
    with pytest.raises(CsvProblems, match="the file is empty"):
        parse("")
    with pytest.raises(CsvProblems, match="no applicants"):
        parse(HEADER + "\n")


def test_columns_may_come_in_any_order_with_any_case_and_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "Name,Discord_ID,Country,Timezone,Languages,Sector,Career Stage,Interests,Goals,Match_Preference\n"
        "Ana,301000000000000001,CL,America/Santiago,es,academic,early,,,open\n",
        encoding="utf-8-sig",
    )
    [ana] = read_applicants(path)
    assert (ana.name, ana.match_preference) == ("Ana", "open")


def test_programme_options_change_what_is_accepted() -> None:
    options = FieldOptions(
        sectors=("library", "museum"), career_stages=("new", "experienced"), interests=("Open access",)
    )
    row = "301000000000000001,Ana,CL,America/Santiago,es,museum,new,open access,,\n"
    [ana] = parse(f"{HEADER}\n{row}", options)
    assert (ana.sector, ana.career_stage, ana.interests) == ("museum", "new", {"Open access"})


def test_a_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(CsvProblems, match=r"nope.csv: cannot be read"):
        read_applicants(tmp_path / "nope.csv")


def test_match_history_pairs_every_two_members_of_matched_rows() -> None:
    text = (
        "match,status,member_ids,names,score,reasons\n"
        "1,matched,301000000000000001;301000000000000002,A; B,80.0,x\n"
        "2,matched,301000000000000003;301000000000000004;301000000000000005,C; D; E,70.0,y\n"
        ",unmatched,301000000000000006,F,,no one\n"
    )
    assert parse_match_history(io.StringIO(text)) == {
        (301000000000000001, 301000000000000002),
        (301000000000000003, 301000000000000004),
        (301000000000000003, 301000000000000005),
        (301000000000000004, 301000000000000005),
    }
    with pytest.raises(CsvProblems, match=r'row 2: member_ids "12": not a Discord user id'):
        parse_match_history(io.StringIO("member_ids\n12;301000000000000001\n"))
    with pytest.raises(CsvProblems, match=r"is this a MATCHES\.csv"):
        parse_match_history(io.StringIO(HEADER + "\n"))


def test_matches_csv_round_trips_and_escapes_formulas(tmp_path: Path) -> None:
    applicants = read_applicants(EXAMPLE)
    result = propose_matches(MatchRequest(applicants=tuple(applicants)))
    names = {a.member_id: a.name for a in applicants}
    names[result.matches[0].member_ids[0]] = '=HYPERLINK("http://evil")'
    path = tmp_path / "MATCHES.csv"
    written = write_matches(path, result, names)
    assert written == len(result.matches) + len(result.unmatched)
    with path.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["match", "status", "member_ids", "names", "score", "reasons"]
    assert rows[1][0] == "1"
    assert rows[1][1] == "matched"
    assert rows[1][3].startswith("'=HYPERLINK")
    assert rows[1][4] == f"{result.matches[0].score:.1f}"
    assert rows[1][5] == "; ".join(result.matches[0].reasons)
    assert [row[1] for row in rows[1:]] == ["matched"] * len(result.matches) + ["unmatched"] * len(
        result.unmatched
    )
    unmatched = rows[-1]
    assert unmatched[0] == ""
    assert unmatched[4] == ""
    assert unmatched[5] == result.unmatched[-1].reason
    # read back as history: every match's members are past partners
    history = read_match_history(path)
    assert len(history) == sum(len(m.member_ids) * (len(m.member_ids) - 1) // 2 for m in result.matches)


def test_match_rows_escape_every_cell() -> None:
    from bot.matching import MatchResult, RoundQuality, Unmatched

    quality = RoundQuality(1, 0, 1, 0, 0, None, None, 0, {}, 0.0)
    result = MatchResult(matches=(), unmatched=(Unmatched(1, "-not a formula"),), quality=quality)
    assert match_rows(result, {1: "@Ana"})[1] == ["", "unmatched", "1", "'@Ana", "", "'-not a formula"]
