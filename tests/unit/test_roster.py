"""The pure side of /participants: uploads checked and read, problems reported, the list paged."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.applicants_csv import APPLICANT_COLUMNS, CsvProblems
from bot.errors import UserFacingError
from bot.participants import ImportResult, RosterEntry
from bot.roster import (
    MAX_PROBLEMS_ATTACHED,
    MAX_UPLOAD_BYTES,
    check_upload,
    decode_upload,
    escape_markdown,
    filter_roster,
    import_summary,
    page_of,
    problem_report,
    read_applicant_upload,
    roster_heading,
    roster_line,
    unescape_formula_cell,
    unescape_formula_cells,
)
from bot.validation import FieldOptions, escape_csv_cell

HEADER = ",".join(APPLICANT_COLUMNS)
ROW = "301000000000000001,Ana Silva,Chile,America/Santiago,es,public,mid,zines,{goals},interests"


# -- uploads ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "size", "expected"),
    [
        ("roster.XLSX", 10, "is a spreadsheet workbook"),
        ("roster.numbers", 10, "is a spreadsheet workbook"),
        ("roster.txt", 10, "Attach a .csv file"),
        ("roster", 10, "Attach a .csv file"),
        ("roster.csv", 0, "is empty"),
        ("roster.csv", MAX_UPLOAD_BYTES + 1, "over the 5.0 MB limit"),
        ("my_roster.csv", MAX_UPLOAD_BYTES + 1, "“my\\_roster.csv”"),
    ],
)
def test_uploads_that_cannot_be_an_applicants_csv_are_refused(
    filename: str, size: int, expected: str
) -> None:
    with pytest.raises(UserFacingError) as refused:
        check_upload(filename, size)
    assert expected in refused.value.message


def test_a_csv_within_the_limit_passes() -> None:
    check_upload("Roster 2026.CSV", MAX_UPLOAD_BYTES)


def test_utf8_text_is_read_with_or_without_a_byte_order_mark() -> None:
    assert decode_upload("discord_id,name\n1,Sofía\n".encode()) == "discord_id,name\n1,Sofía\n"
    assert decode_upload("discord_id\n".encode("utf-8-sig")) == "discord_id\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("a\nb\nSofía\n".encode("cp1252"), "the first unreadable character is on line 3"),
        ("discord_id".encode("utf-16"), "it looks like UTF-16 or binary"),
        (b"PK\x03\x04rest", "spreadsheet workbook"),
    ],
)
def test_text_that_is_not_utf8_is_refused_with_what_to_do(data: bytes, expected: str) -> None:
    with pytest.raises(UserFacingError) as refused:
        decode_upload(data)
    assert expected in refused.value.message
    assert "CSV UTF-8" in refused.value.message


@pytest.mark.parametrize("text", ["=1+2", "+44 20", "-dash", "@home", "\tindent", "\rreturn"])
def test_export_escaping_is_undone_on_import(text: str) -> None:
    assert unescape_formula_cell(escape_csv_cell(text)) == text


@pytest.mark.parametrize("text", ["'quoted'", "'", "it's", "plain", ""])
def test_other_apostrophes_are_kept(text: str) -> None:
    assert unescape_formula_cell(text) == text


def test_unescaping_keeps_every_record_in_place() -> None:
    text = 'a,b\n\n"\'=x","line\none"\n\'-y,z\n'
    rows = list(csv.reader(io.StringIO(unescape_formula_cells(text))))
    assert rows == [["a", "b"], [], ["=x", "line\none"], ["-y", "z"]]


def test_malformed_csv_is_left_for_the_parser_to_report() -> None:
    text = "a,b\n\"'=open,quote\n"
    assert unescape_formula_cells(text) == text


def test_an_exported_formula_reads_back_as_typed() -> None:
    goals = '=HYPERLINK("https://e.com","x")'
    cell = escape_csv_cell(goals)
    out = io.StringIO()
    csv.writer(out).writerow(ROW.format(goals="GOALS").split(","))
    text = HEADER + "\n" + out.getvalue().replace("GOALS", '"' + cell.replace('"', '""') + '"')
    [applicant] = read_applicant_upload(text, FieldOptions())
    assert applicant.goals == goals


def test_an_import_is_limited_to_what_can_be_saved_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.roster.MAX_IMPORT_ROWS", 1)
    second = ROW.format(goals="y").replace("0001,", "0002,")
    with pytest.raises(UserFacingError) as refused:
        read_applicant_upload(f"{HEADER}\n{ROW.format(goals='x')}\n{second}\n", FieldOptions())
    assert refused.value.message.startswith("This file has 2 participants; import at most 1 at a time")


def test_a_file_with_semicolons_between_columns_is_explained() -> None:
    with pytest.raises(CsvProblems) as problems:
        read_applicant_upload(HEADER.replace(",", ";") + "\n", FieldOptions())
    assert problems.value.problems[0].startswith("row 1: the columns are separated by ;")


def test_problems_keep_their_spreadsheet_row_numbers() -> None:
    good = ROW.format(goals=escape_csv_cell("-x"))
    bad = ROW.format(goals="y").replace("0001,", "0002,").replace("America/Santiago", "Europe/Londn")
    with pytest.raises(CsvProblems) as problems:
        read_applicant_upload(f"{HEADER}\n\n{good}\n{bad}\n", FieldOptions())
    assert problems.value.problems == ('row 4: timezone "Europe/Londn": did you mean Europe/London?',)


# -- problem reports ----------------------------------------------------------------------------


def test_a_few_problems_fit_in_the_message() -> None:
    report = problem_report(['row 17: timezone "Europe/Londn": did you mean Europe/London?'], "a.csv")
    assert report.attachment is None
    assert report.message == (
        "**Nothing was imported.** “a.csv” has 1 problem; fix it and import the file again.\n"
        '```\nrow 17: timezone "Europe/Londn": did you mean Europe/London?\n```'
    )


def test_many_problems_show_the_first_ones_and_attach_them_all() -> None:
    problems = [f'row {n}: goals "{"x" * 40}": something is wrong' for n in range(2, 202)]
    report = problem_report(problems, "big.csv")
    assert len(report.message) <= 2000
    assert "all 200 are in the attached file" in report.message
    assert "row 2: goals" in report.message
    assert report.attachment is not None
    assert report.attachment.splitlines() == problems


def test_a_huge_list_is_attached_up_to_a_limit() -> None:
    problems = [f"row {n}: bad" for n in range(MAX_PROBLEMS_ATTACHED + 10)]
    report = problem_report(problems, "huge.csv")
    assert report.attachment is not None
    lines = report.attachment.splitlines()
    assert len(lines) == MAX_PROBLEMS_ATTACHED + 1
    assert lines[-1] == "... and 10 more problems"


def test_backticks_cannot_break_out_of_the_code_block() -> None:
    report = problem_report(['row 2: name "```@everyone```": too long'], "a.csv")
    assert report.message.count("```") == 2


# -- import summary -----------------------------------------------------------------------------


def test_the_summary_counts_and_names_the_round() -> None:
    summary = import_summary(ImportResult(3, 1, 3, 1), "a.csv", "Autumn 2026")
    assert summary == (
        "Imported 4 participants from “a.csv”: 3 new, 1 updated.\n"
        "**Autumn 2026**: 3 enrolled, 1 on the waiting list (over the country limit)."
    )


def test_the_summary_says_when_no_round_is_open() -> None:
    summary = import_summary(ImportResult(1, 0, 0, 0), "a.csv", None)
    assert summary.endswith("No round is open for signups, so no one was enrolled in a round.")


# -- the list -----------------------------------------------------------------------------------


def entry(
    name: str, place: str | None = "enrolled", paused: bool = False, country: str = "CL"
) -> RosterEntry:
    return RosterEntry(member_id=301000000000000001, name=name, country=country, place=place, paused=paused)


ROSTER = [
    entry("Ana"),
    entry("Bo", "waitlisted"),
    entry("Cai", "withdrawn"),
    entry("Dee", paused=True),
    entry("Eve", None),
]


@pytest.mark.parametrize(
    ("status", "names"),
    [
        (None, ["Ana", "Bo", "Cai", "Dee", "Eve"]),
        ("enrolled", ["Ana", "Dee"]),
        ("waitlisted", ["Bo"]),
        ("withdrawn", ["Cai"]),
        ("paused", ["Dee"]),
        ("none", ["Eve"]),
    ],
)
def test_status_filters(status: str | None, names: list[str]) -> None:
    assert [e.name for e in filter_roster(ROSTER, status)] == names


def test_a_line_shows_name_mention_country_and_place() -> None:
    assert roster_line(entry("Ana", "waitlisted", paused=True), in_round=True) == (
        "**Ana** (<@301000000000000001>) · Chile · waiting list, paused"
    )
    assert roster_line(entry("Eve", None), in_round=True).endswith("· Chile · not in the round")
    assert roster_line(entry("Eve", None, country="PH"), in_round=False).endswith("· Philippines")


def test_names_cannot_format_link_or_mention() -> None:
    assert escape_markdown("**x** [a](b) <@1> _y_ `z`") == r"\*\*x\*\* \[a\]\(b\) \<@1\> \_y\_ \`z\`"


def test_the_heading_names_the_filters() -> None:
    assert roster_heading("Autumn 2026", "CL", "waitlisted") == "Autumn 2026 · Chile · on the waiting list"
    assert roster_heading(None, None, None) == "All profiles"


def test_pages_are_clamped() -> None:
    lines = [str(n) for n in range(30)]
    assert page_of(lines, 1).lines == tuple(lines[:12])
    last = page_of(lines, 99)
    assert (last.number, last.count, last.lines) == (3, 3, tuple(lines[24:]))
    assert not last.has_next
    assert last.has_previous
    assert page_of(lines, -5).number == 1
    assert page_of([], 1).footer == "Page 1 of 1 · 0 participants"


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=1, max_value=20))
def test_the_pages_hold_every_line_once(count: int, size: int) -> None:
    lines = [str(n) for n in range(count)]
    pages = [page_of(lines, n, size) for n in range(1, page_of(lines, 1, size).count + 1)]
    assert [line for page in pages for line in page.lines] == lines
    assert all(len(page.lines) <= size for page in pages)
