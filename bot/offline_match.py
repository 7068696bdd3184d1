"""`python -m bot match APPLICANTS.csv [--history PAST.csv ...] [--out MATCHES.csv] [--seed N]`

Matches a spreadsheet of applicants the way `/round preview` would, with no Discord token: prints
the round's figures and the people left out, and writes MATCHES.csv. Bad rows are reported by row
and field and nothing is matched (exit status 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import TextIO

from bot.applicants_csv import CsvProblems, read_applicants, read_match_history, write_matches
from bot.matching import MatchInputError, MatchRequest, MatchWeights, format_quality, propose_matches
from bot.validation import (
    DEFAULT_CAREER_STAGES,
    DEFAULT_SECTORS,
    FieldOptions,
    ValidationError,
    parse_discord_id,
)

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise _Usage(message)


class _Usage(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m bot match",
        description="Propose a round's matches from a spreadsheet of applicants, with no Discord token.",
    )
    parser.add_argument("applicants", type=Path, help="APPLICANTS.csv (the columns of /participants import)")
    parser.add_argument(
        "--history",
        type=Path,
        nargs="+",
        action="extend",
        default=[],
        metavar="PAST.csv",
        help="earlier MATCHES.csv files: past partners are not matched again",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("MATCHES.csv"),
        metavar="MATCHES.csv",
        help="where to write the matches (default: MATCHES.csv)",
    )
    parser.add_argument("--seed", type=int, default=0, help="tie-breaking seed (default 0)")
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="the round's start, for daylight saving time (default: standard time)",
    )
    parser.add_argument(
        "--pin", action="append", default=[], metavar="ID,ID", help="a pair chosen by hand (repeatable)"
    )
    parser.add_argument(
        "--forbid", action="append", default=[], metavar="ID,ID", help="a pair never to match (repeatable)"
    )
    parser.add_argument(
        "--weights",
        type=Path,
        metavar="WEIGHTS.json",
        help='match weights as JSON, such as {"shared_interests": 50}',
    )
    parser.add_argument(
        "--sectors",
        nargs="+",
        default=list(DEFAULT_SECTORS),
        help=f"the programme's sectors (default: {' '.join(DEFAULT_SECTORS)})",
    )
    parser.add_argument(
        "--career-stages",
        nargs="+",
        default=list(DEFAULT_CAREER_STAGES),
        help=f"career stages, earliest first (default: {' '.join(DEFAULT_CAREER_STAGES)})",
    )
    return parser


def _pairs(values: list[str], option: str) -> list[tuple[int, int]]:
    pairs = []
    for value in values:
        parts = [p for p in value.replace(";", ",").split(",") if p.strip()]
        if len(parts) != 2:
            raise ValueError(f"{option} {value!r}: give two Discord ids separated by a comma")
        try:
            pairs.append((parse_discord_id(parts[0], option), parse_discord_id(parts[1], option)))
        except ValidationError as error:
            raise ValueError(str(error)) from None
    return pairs


def _weights(path: Path | None) -> MatchWeights:
    if path is None:
        return MatchWeights()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("the file must hold a JSON object")
        return MatchWeights.from_dict(data)
    except OSError as error:
        raise ValueError(f"{path.name}: cannot be read ({error.strerror or error})") from None
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path.name}: {error}") from None


def main(argv: list[str], stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = _parser().parse_args(argv)
    except _Usage as usage:
        print(f"python -m bot match: error: {usage}", file=err)
        return EXIT_BAD_INPUT
    except SystemExit as done:  # --help
        return int(done.code or 0)

    inputs = [args.applicants.resolve(), *(path.resolve() for path in args.history)]
    if args.out.resolve() in inputs:
        print(f"--out {args.out}: refusing to overwrite an input file", file=err)
        return EXIT_BAD_INPUT

    problems: list[str] = []
    options = FieldOptions(sectors=tuple(args.sectors), career_stages=tuple(args.career_stages))
    applicants = []
    try:
        applicants = read_applicants(args.applicants, options)
    except CsvProblems as error:
        problems.extend(error.problems)
    history: set[tuple[int, int]] = set()
    for path in args.history:
        try:
            history |= read_match_history(path)
        except CsvProblems as error:
            problems.extend(error.problems)
    try:
        pinned = _pairs(args.pin, "--pin")
        forbidden = _pairs(args.forbid, "--forbid")
        weights = _weights(args.weights)
    except ValueError as error:
        problems.append(str(error))
    if problems:
        for problem in problems:
            print(problem, file=err)
        plural = "s" if len(problems) > 1 else ""
        print(f"Nothing was matched: fix the {len(problems)} problem{plural} above.", file=err)
        return EXIT_BAD_INPUT

    request = MatchRequest(
        applicants=tuple(applicants),
        history_pairs=frozenset(history),
        pinned_pairs=tuple(pinned),
        forbidden_pairs=frozenset(forbidden),
        seed=args.seed,
        weights=weights,
        reference_date=args.date,
        career_stages=tuple(args.career_stages),
    )
    try:
        result = propose_matches(request)
    except MatchInputError as error:
        for problem in error.problems:
            print(problem, file=err)
        print("Nothing was matched.", file=err)
        return EXIT_BAD_INPUT

    names = {a.member_id: a.name for a in applicants}
    when = args.date.isoformat() if args.date else "standard time"
    print(
        f"Tandem matching of {args.applicants.name}: {len(applicants)} applicants, "
        f"{len(history)} past pairs, seed {args.seed}, time zones at {when}",
        file=out,
    )
    for line in format_quality(result.quality):
        print(f"  {line}", file=out)
    if result.unmatched:
        print("Left out:", file=out)
        for person in result.unmatched:
            print(f"  {names[person.member_id]} ({person.member_id}): {person.reason}", file=out)
    try:
        rows = write_matches(args.out, result, names)
    except OSError as error:
        print(f"--out {args.out}: cannot be written ({error.strerror or error})", file=err)
        return EXIT_FAILED
    print(f"Wrote {rows} rows to {args.out}", file=out)
    return EXIT_OK
