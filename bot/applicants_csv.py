"""Applicant and match spreadsheets (CSV), for `/participants import` and the offline matcher.

APPLICANTS.csv columns (the order is free, header names are case-insensitive):
``discord_id,name,country,timezone,languages,sector,career_stage,interests,goals,match_preference``
and optionally ``do_not_match``. Lists are separated by ``;``.

MATCHES.csv columns: ``match,status,member_ids,names,score,reasons``: one ``matched`` row per
match, then one ``unmatched`` row per person left out, with the reason. Earlier MATCHES.csv files
are read back as match history: every two members of a ``matched`` row were partners.

A whole file is checked before anything is returned: every bad row and field is reported
(``row 17: timezone "Europe/Londn": did you mean Europe/London?``; rows are numbered as in a
spreadsheet, the header being row 1) and nothing is returned if any is bad.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TextIO

from bot.matching.model import Applicant, MatchResult
from bot.validation import (
    FieldOptions,
    ValidationError,
    escape_csv_cell,
    parse_career_stage,
    parse_country,
    parse_discord_id,
    parse_goals,
    parse_interests,
    parse_languages,
    parse_match_preference,
    parse_member_ids,
    parse_name,
    parse_sector,
    parse_timezone,
)

__all__ = [
    "APPLICANT_COLUMNS",
    "MATCH_COLUMNS",
    "OPTIONAL_APPLICANT_COLUMNS",
    "CsvProblems",
    "applicant_from_fields",
    "match_rows",
    "parse_applicants",
    "parse_match_history",
    "read_applicants",
    "read_match_history",
    "write_matches",
]

APPLICANT_COLUMNS = (
    "discord_id",
    "name",
    "country",
    "timezone",
    "languages",
    "sector",
    "career_stage",
    "interests",
    "goals",
    "match_preference",
)
OPTIONAL_APPLICANT_COLUMNS = ("do_not_match",)
MATCH_COLUMNS = ("match", "status", "member_ids", "names", "score", "reasons")
MAX_ROWS = 50_000
MAX_PROBLEMS_SHOWN = 200


class CsvProblems(ValueError):
    """Everything wrong with a CSV file, one line per problem."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        shown = list(self.problems[:MAX_PROBLEMS_SHOWN])
        if len(self.problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"... and {len(self.problems) - MAX_PROBLEMS_SHOWN} more problems")
        super().__init__("\n".join(shown))


def _records(stream: TextIO, source: str) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells), the header being row 1."""
    reader = csv.reader(stream, strict=True)
    row = 0
    try:
        for cells in reader:
            row += 1
            yield row, cells
    except csv.Error as error:
        raise CsvProblems([f"{source}row {row + 1}: this is not valid CSV ({error})"]) from None
    except UnicodeDecodeError:
        raise CsvProblems([f'{source}this file is not UTF-8 text: save it as "CSV UTF-8"']) from None


def _header(cells: list[str], required: tuple[str, ...], optional: tuple[str, ...], source: str) -> list[str]:
    names = [cell.strip().lower().replace(" ", "_") for cell in cells]
    problems = []
    known = required + optional
    seen = set()
    for name in names:
        if name in seen and name:
            problems.append(f"{source}row 1: column {name} appears twice")
        seen.add(name)
        if name and name not in known:
            near = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
            hint = f"; did you mean {near[0]}?" if near else f" (expected: {', '.join(known)})"
            problems.append(f"{source}row 1: unknown column {name!r}{hint}")
    missing = [name for name in required if name not in seen]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        problems.append(f"{source}row 1: missing column{plural}: {', '.join(missing)}")
    if problems:
        raise CsvProblems(problems)
    return names


def _open_text(path: str | Path) -> TextIO:
    return open(path, encoding="utf-8-sig", newline="")


# --------------------------------------------------------------------------------------------------
# applicants


def applicant_from_fields(fields: Mapping[str, str], options: FieldOptions | None = None) -> Applicant:
    """One applicant from its text fields. Raises `ExceptionGroup` of every `ValidationError`."""
    options = options or FieldOptions()
    errors: list[ValidationError] = []

    def check(parse, *args):
        try:
            return parse(*args)
        except ValidationError as error:
            errors.append(error)
            return None

    def cell(name: str) -> str:
        return (fields.get(name) or "").strip()

    member_id = check(parse_discord_id, cell("discord_id"))
    name = check(parse_name, cell("name"))
    country = check(parse_country, cell("country"))
    timezone = check(parse_timezone, cell("timezone"))
    languages = check(parse_languages, cell("languages"))
    sector = check(parse_sector, cell("sector"), options.sectors)
    career_stage = check(parse_career_stage, cell("career_stage"), options.career_stages)
    interests = check(parse_interests, cell("interests"), options.interests, options.max_interests)
    goals = check(parse_goals, cell("goals"))
    preference = check(parse_match_preference, cell("match_preference"))
    do_not_match = check(parse_member_ids, cell("do_not_match"))
    if errors:
        raise ExceptionGroup("invalid applicant", errors)
    return Applicant(
        member_id=member_id,
        name=name,
        country=country,
        timezone=timezone,
        languages=languages,
        sector=sector,
        career_stage=career_stage,
        interests=interests,
        goals=goals,
        match_preference=preference,
        do_not_match=do_not_match - {member_id},
    )


def parse_applicants(
    stream: TextIO | Iterable[str], options: FieldOptions | None = None, source: str = ""
) -> list[Applicant]:
    """Read and validate a whole applicants CSV; raise `CsvProblems` listing every problem.
    `source` (such as "APPLICANTS.csv: ") prefixes every problem."""
    if not hasattr(stream, "read"):
        stream = io.StringIO("".join(line if line.endswith("\n") else line + "\n" for line in stream))
    problems: list[str] = []
    applicants: list[Applicant] = []
    first_row: dict[int, int] = {}
    records = _records(stream, source)
    header = None
    for row, cells in records:
        if header is None:
            if not any(cell.strip() for cell in cells):
                raise CsvProblems([f"{source}row {row}: the first row must be the column names"])
            header = _header(cells, APPLICANT_COLUMNS, OPTIONAL_APPLICANT_COLUMNS, source)
            continue
        if not any(cell.strip() for cell in cells):
            continue  # a blank row
        if len(applicants) + len(problems) >= MAX_ROWS:
            problems.append(f"{source}more than {MAX_ROWS} applicants: split the file")
            break
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            problems.append(f"{source}row {row}: {len(cells)} cells but the header has {len(header)} columns")
            continue
        fields = {name: value for name, value in zip(header, cells, strict=False) if name}
        try:
            applicant = applicant_from_fields(fields, options)
        except ExceptionGroup as group:
            problems.extend(f"{source}row {row}: {error}" for error in group.exceptions)
            continue
        if applicant.member_id in first_row:
            problems.append(
                f'{source}row {row}: discord_id "{applicant.member_id}": also on row '
                f"{first_row[applicant.member_id]}"
            )
            continue
        first_row[applicant.member_id] = row
        applicants.append(applicant)
    if header is None:
        problems.append(f"{source}the file is empty: the first row must be the column names")
    elif not applicants and not problems:
        problems.append(f"{source}no applicants: the file has only its header row")
    if problems:
        raise CsvProblems(problems)
    return applicants


def read_applicants(path: str | Path, options: FieldOptions | None = None) -> list[Applicant]:
    source = f"{Path(path).name}: "
    try:
        with _open_text(path) as stream:
            return parse_applicants(stream, options, source)
    except OSError as error:
        raise CsvProblems([f"{source}cannot be read ({error.strerror or error})"]) from None


# --------------------------------------------------------------------------------------------------
# match history and MATCHES.csv


def parse_match_history(stream: TextIO | Iterable[str], source: str = "") -> set[tuple[int, int]]:
    """Past partners from a MATCHES.csv: every two members of each `matched` row."""
    if not hasattr(stream, "read"):
        stream = io.StringIO("".join(line if line.endswith("\n") else line + "\n" for line in stream))
    problems: list[str] = []
    pairs: set[tuple[int, int]] = set()
    header = None
    for row, cells in _records(stream, source):
        if header is None:
            names = [cell.strip().lower() for cell in cells]
            if "member_ids" not in names:
                raise CsvProblems([f"{source}row 1: missing column member_ids (is this a MATCHES.csv?)"])
            header = names
            continue
        fields = dict(zip(header, cells, strict=False))
        status = (fields.get("status") or "matched").strip().lower()
        if status != "matched":
            continue
        try:
            ids = sorted(parse_member_ids(fields.get("member_ids") or "", field="member_ids"))
        except ValidationError as error:
            problems.append(f"{source}row {row}: {error}")
            continue
        for index, first in enumerate(ids):
            for second in ids[index + 1 :]:
                pairs.add((first, second))
    if header is None:
        problems.append(f"{source}the file is empty")
    if problems:
        raise CsvProblems(problems)
    return pairs


def read_match_history(path: str | Path) -> set[tuple[int, int]]:
    source = f"{Path(path).name}: "
    try:
        with _open_text(path) as stream:
            return parse_match_history(stream, source)
    except OSError as error:
        raise CsvProblems([f"{source}cannot be read ({error.strerror or error})"]) from None


def match_rows(result: MatchResult, names: Mapping[int, str]) -> list[list[str]]:
    """The rows of MATCHES.csv, header first, every cell escaped against spreadsheet formulas."""
    rows = [list(MATCH_COLUMNS)]
    for number, match in enumerate(result.matches, start=1):
        rows.append(
            [
                str(number),
                "matched",
                ";".join(str(m) for m in match.member_ids),
                "; ".join(names.get(m, str(m)) for m in match.member_ids),
                f"{match.score:.1f}",
                "; ".join(match.reasons),
            ]
        )
    for person in result.unmatched:
        name = names.get(person.member_id, "")
        rows.append(["", "unmatched", str(person.member_id), name, "", person.reason])
    return [[escape_csv_cell(cell) for cell in row] for row in rows]


def write_matches(target: str | Path | TextIO, result: MatchResult, names: Mapping[int, str]) -> int:
    """Write MATCHES.csv (UTF-8 with a byte-order mark, so that spreadsheets read accents right).
    Returns the number of rows written, header excluded."""
    rows = match_rows(result, names)
    if hasattr(target, "write"):
        csv.writer(target).writerows(rows)
    else:
        with open(target, "w", encoding="utf-8-sig", newline="") as stream:
            csv.writer(stream).writerows(rows)
    return len(rows) - 1


# --------------------------------------------------------------------------------------------------
# applicants out: /participants export


def applicant_cells(applicant: Applicant) -> list[str]:
    """One applicant as the cells of APPLICANTS.csv (`APPLICANT_COLUMNS`, then `do_not_match`),
    in the canonical form the parsers return: country alpha-2, language codes, sorted lists."""
    return [
        str(applicant.member_id),
        applicant.name,
        applicant.country,
        applicant.timezone,
        ";".join(sorted(applicant.languages)),
        applicant.sector,
        applicant.career_stage,
        ";".join(sorted(applicant.interests)),
        applicant.goals,
        applicant.match_preference,
        ";".join(str(other) for other in sorted(applicant.do_not_match)),
    ]


def write_applicants(target: str | Path | TextIO, applicants: Iterable[Applicant]) -> int:
    """Write APPLICANTS.csv, which `parse_applicants` reads back, every cell escaped against
    spreadsheet formulas (UTF-8; a file gets a byte-order mark, so that spreadsheets read accents
    right). Returns the number of applicants written."""
    header = [*APPLICANT_COLUMNS, *OPTIONAL_APPLICANT_COLUMNS]

    def write(stream: TextIO) -> int:
        writer = csv.writer(stream)
        writer.writerow(header)
        count = 0
        for applicant in applicants:
            writer.writerow([escape_csv_cell(cell) for cell in applicant_cells(applicant)])
            count += 1
        return count

    if hasattr(target, "write"):
        return write(target)  # type: ignore[arg-type]
    with open(target, "w", encoding="utf-8-sig", newline="") as stream:
        return write(stream)
