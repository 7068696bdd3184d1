"""The roster as coordinators handle it: an uploaded spreadsheet checked and read, its problems
reported, the import summed up, and the participant list filtered and cut into pages. Pure: no
discord.py; the cog in cogs/participants.py does the Discord side.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from bot.applicants_csv import CsvProblems, parse_applicants
from bot.errors import UserFacingError
from bot.matching.model import Applicant
from bot.participants import ImportResult, RosterEntry
from bot.validation import FieldOptions, country_name

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# One import is one transaction, answered within the 15 minutes a deferred interaction lasts;
# with a country cap, enrolling costs more per row as the round fills (about 7 minutes for 5,000).
MAX_IMPORT_ROWS = 5000
MESSAGE_LIMIT = 2000  # characters in a Discord message
MAX_PROBLEMS_ATTACHED = 5000
PAGE_SIZE = 12
MAX_STRANGERS_SHOWN = 10
WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods", ".numbers"})
SAVE_AS_CSV = 'save it from your spreadsheet as "CSV UTF-8" (File → Save as, or Download → .csv)'

# /participants list: what "status" can mean to a coordinator, with the words the list uses.
STATUS_LABELS: dict[str, str] = {
    "enrolled": "enrolled",
    "waitlisted": "on the waiting list",
    "withdrawn": "withdrawn",
    "paused": "paused",
    "none": "not in the round",
}
ROUND_STATUSES = frozenset({"enrolled", "waitlisted", "withdrawn", "none"})
PLACE_LABELS = {"enrolled": "enrolled", "waitlisted": "waiting list", "withdrawn": "withdrawn"}


def escape_markdown(text: str) -> str:
    """Show text as typed: no bold, links, headings or mentions made of a participant's name."""
    return re.sub(r"([\\*_~`|>#\[\]()<:])", r"\\\1", text)


def size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 100 * 1024 else f"{max(1, size // 1024)} KB"


# --------------------------------------------------------------------------------------------------
# uploads


def check_upload(filename: str, size: int, limit: int = MAX_UPLOAD_BYTES) -> None:
    """Refuse, before downloading it, a file that cannot be an applicants CSV."""
    name = escape_markdown(filename)
    suffix = PurePath(filename).suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        raise UserFacingError(f"“{name}” is a spreadsheet workbook, not a CSV file: {SAVE_AS_CSV}.")
    if suffix != ".csv":
        raise UserFacingError(f"Attach a .csv file, one participant per row (“{name}” is not one).")
    if size <= 0:
        raise UserFacingError(f"“{name}” is empty.")
    if size > limit:
        raise UserFacingError(
            f"“{name}” is {size_text(size)}, over the {size_text(limit)} limit. Split it into "
            "smaller files and import them one after another (an import updates, it never duplicates)."
        )


def decode_upload(data: bytes) -> str:
    """The file's text (UTF-8, with or without a byte-order mark), or a message saying what to do."""
    if data.startswith(b"PK\x03\x04"):
        raise UserFacingError(f"This file is a spreadsheet workbook, not CSV text: {SAVE_AS_CSV}.")
    if b"\x00" in data[:4096]:
        raise UserFacingError(f"This file is not UTF-8 text (it looks like UTF-16 or binary): {SAVE_AS_CSV}.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UserFacingError(
            f"This file is not UTF-8 text (the first unreadable character is on line {line}): {SAVE_AS_CSV}."
        ) from None


def unescape_formula_cell(cell: str) -> str:
    """Undo `escape_csv_cell`: the ' that export puts before =, +, -, @, tab or CR goes again."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r":
        return cell[1:]
    return cell


def unescape_formula_cells(text: str) -> str:
    """The CSV with every escaped cell restored, so that an exported file imports unchanged.

    Records keep their order and count, so problems found later name the spreadsheet's rows."""
    if "'" not in text:
        return text
    try:
        rows = list(csv.reader(io.StringIO(text), strict=True))
    except csv.Error:
        return text  # parse_applicants reports the malformed row
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([unescape_formula_cell(c) for c in row] for row in rows)
    return out.getvalue()


def read_applicant_upload(text: str, options: FieldOptions) -> list[Applicant]:
    """Every applicant in an uploaded CSV, or `CsvProblems` with every bad row and field."""
    header = text.lstrip().partition("\n")[0]
    if ";" in header and "," not in header:
        # Spreadsheets set to a European locale save "CSV" with semicolons between columns.
        raise CsvProblems(
            [
                "row 1: the columns are separated by ; (a spreadsheet in a European language does "
                'that): save the file as "CSV UTF-8 (comma delimited)", or set the separator to a comma'
            ]
        )
    applicants = parse_applicants(io.StringIO(unescape_formula_cells(text)), options)
    if len(applicants) > MAX_IMPORT_ROWS:
        raise UserFacingError(
            f"This file has {len(applicants):,} participants; import at most {MAX_IMPORT_ROWS:,} at a time: "
            "split it into smaller files (an import updates, it never duplicates)."
        )
    return applicants


# --------------------------------------------------------------------------------------------------
# import replies


@dataclass(frozen=True)
class ProblemReport:
    message: str  # fits one Discord message
    attachment: str | None  # the whole list, when the message shows only part of it


def problem_report(problems: Sequence[str], filename: str, limit: int = MESSAGE_LIMIT) -> ProblemReport:
    """Every problem, in a code block; if they do not all fit, the first ones and a text file."""
    count = len(problems)
    lines = [problem.replace("```", "'''") for problem in problems]
    plural = "s" if count != 1 else ""
    head = (
        f"**Nothing was imported.** “{escape_markdown(filename)}” has {count} problem{plural}; "
        f"fix {'them' if count != 1 else 'it'} and import the file again."
    )
    whole = f"{head}\n```\n" + "\n".join(lines) + "\n```"
    if len(whole) <= limit:
        return ProblemReport(whole, None)
    head += f" The first ones are below; all {count} are in the attached file."
    room = limit - len(head) - len("\n```\n\n```") - 20
    shown: list[str] = []
    for line in lines:
        if len(line) > room:
            break
        shown.append(line)
        room -= len(line) + 1
    message = f"{head}\n```\n" + "\n".join(shown) + "\n```" if shown else head
    attached = lines[:MAX_PROBLEMS_ATTACHED]
    if count > MAX_PROBLEMS_ATTACHED:
        attached.append(f"... and {count - MAX_PROBLEMS_ATTACHED} more problems")
    return ProblemReport(message, "\n".join(attached) + "\n")


def import_summary(
    result: ImportResult, filename: str, open_round: str | None, strangers: Sequence[Applicant] = ()
) -> str:
    total = result.created + result.updated
    lines = [
        f"Imported {total} participant{'s' if total != 1 else ''} from “{escape_markdown(filename)}”: "
        f"{result.created} new, {result.updated} updated."
    ]
    if open_round is None:
        lines.append("No round is open for signups, so no one was enrolled in a round.")
    else:
        waiting = f", {result.waitlisted} on the waiting list (over the country limit)"
        lines.append(
            f"**{escape_markdown(open_round)}**: {result.enrolled} enrolled"
            + (waiting if result.waitlisted else "")
            + "."
        )
    if strangers:
        names = ", ".join(
            f"{escape_markdown(a.name)} ({a.member_id})" for a in strangers[:MAX_STRANGERS_SHOWN]
        )
        more = (
            f" and {len(strangers) - MAX_STRANGERS_SHOWN} more"
            if len(strangers) > MAX_STRANGERS_SHOWN
            else ""
        )
        lines.append(
            f"⚠️ {len(strangers)} of them {'are' if len(strangers) != 1 else 'is'} not in this server yet, "
            f"so they can't be given a partner space until they join: {names}{more}."
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# the list


def filter_roster(entries: Sequence[RosterEntry], status: str | None) -> list[RosterEntry]:
    if status is None:
        return list(entries)
    if status == "paused":
        return [e for e in entries if e.paused]
    if status == "none":
        return [e for e in entries if e.place is None]
    return [e for e in entries if e.place == status]


def place_text(entry: RosterEntry, *, in_round: bool) -> str:
    parts = []
    if in_round:
        parts.append(PLACE_LABELS.get(entry.place or "", entry.place or "not in the round"))
    if entry.paused:
        parts.append("paused")
    return ", ".join(parts)


def roster_line(entry: RosterEntry, *, in_round: bool) -> str:
    """`**Ana Silva** (<@id>) · Chile · enrolled`: the mention shows who it is, never pings."""
    place = place_text(entry, in_round=in_round)
    line = f"**{escape_markdown(entry.name)}** (<@{entry.member_id}>) · {country_name(entry.country)}"
    return f"{line} · {place}" if place else line


def roster_heading(round_name: str | None, country: str | None, status: str | None) -> str:
    parts = [round_name or "All profiles"]
    if country:
        parts.append(country_name(country))
    if status:
        parts.append(STATUS_LABELS[status])
    return " · ".join(parts)


@dataclass(frozen=True)
class Page:
    number: int  # from 1
    count: int
    total: int  # lines on all pages
    lines: tuple[str, ...]

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.count

    @property
    def footer(self) -> str:
        people = f"{self.total} participant{'s' if self.total != 1 else ''}"
        return f"Page {self.number} of {self.count} · {people}"


def page_of(lines: Sequence[str], number: int, size: int = PAGE_SIZE) -> Page:
    """Page `number` (clamped to the pages there are) of `size` lines."""
    count = max(1, math.ceil(len(lines) / size))
    number = min(max(1, number), count)
    start = (number - 1) * size
    return Page(number, count, len(lines), tuple(lines[start : start + size]))
