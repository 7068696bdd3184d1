"""Speed and quality of the matcher on synthetic cohorts (run by hand; not a test).

    python -m tests.benchmarks.bench_matching                 # 200, 1,000, 2,000 and 10,000 people
    python -m tests.benchmarks.bench_matching --sizes 1000 --seeds 1 2 3
    python -m tests.benchmarks.bench_matching --sizes 10000 --reference   # + a 90 s global blossom

Each size runs in a fresh process so that its peak memory (max RSS) is its own. For every cohort it
reports the time of `propose_matches` end to end (candidates, solver, trio, reasons, quality), the
peak memory, and the quality of the pair matching:

- exact: the maximum-weight matching among the maximum-cardinality matchings of the *full* allowed
  graph (every allowed pair), with rustworkx; feasible up to ~2,000 people (minutes at 2,000);
- gap: how far the matcher's total pair score falls below the exact one;
- unmatched vs max-cardinality: people left without a pair by the matcher and by the exact matching
  (the exact one is a maximum-cardinality matching of the full graph, so the first can never be larger);
- greedy: a greedy pass (best pair first) over the same allowed pairs, for comparison.

Beyond the exact limit, `--reference` runs one blossom over the whole candidate graph (what the
matcher would do without its relaxation step) for comparison.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
if __package__ in (None, ""):  # run as a script: python tests/benchmarks/bench_matching.py
    sys.path.insert(0, str(PROJECT))

DEFAULT_SIZES = (200, 1000, 2000, 10000)


def _greedy(n, i, j, score):
    import numpy as np

    order = np.lexsort((j, i, -score))
    taken = np.zeros(n, dtype=bool)
    total = pairs = 0
    for e in order.tolist():
        a, b = int(i[e]), int(j[e])
        if not taken[a] and not taken[b]:
            taken[a] = taken[b] = True
            total += int(score[e])
            pairs += 1
    return total, pairs


def run_one(size: int, seed: int, exact_limit: int, reference: bool) -> dict:
    from bot.matching import propose_matches
    from bot.matching.constraints import Constraints
    from bot.matching.scoring import ScoringContext
    from bot.matching.solver import Pool, solve_pool
    from tests.benchmarks.cohort import generate_cohort

    cohort = generate_cohort(size, seed=seed)
    request = cohort.request(seed=seed)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = propose_matches(request)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    row = {
        "size": size,
        "seed": seed,
        "seconds": round(elapsed, 3),
        "peak_rss_mib": round(peak / 1024, 1),
        "rss_before_mib": round(rss_before / 1024, 1),
        "matched": result.quality.matched,
        "unmatched": result.quality.unmatched,
        "trios": result.quality.trios,
        "mean_score": result.quality.mean_score,
        "worst_score": result.quality.worst_score,
        "no_shared_interest": result.quality.no_shared_interest,
    }

    # quality of the pair matching (no pins here, so the pool is everyone)
    people = sorted(request.applicants, key=lambda a: a.member_id)
    constraints = Constraints(request)
    ctx = ScoringContext.build(people, request.weights, request.reference_date, request.career_stages)
    fast = solve_pool(people, ctx, constraints, seed, request.candidates_per_person)
    pairs = sum(1 for g in fast.groups for _ in g) - sum(len(g) - 2 for g in fast.groups)
    row["score"] = fast.pair_weight
    row["pair_unmatched"] = size - pairs
    row["augmenting_paths"] = fast.augmented
    if size <= exact_limit:
        started = time.perf_counter()
        exact = solve_pool(people, ctx, constraints, seed, None, strategy="blossom")
        row["exact_seconds"] = round(time.perf_counter() - started, 1)
        exact_pairs = sum(1 for g in exact.groups for _ in g) - sum(len(g) - 2 for g in exact.groups)
        row["exact_score"] = exact.pair_weight
        row["exact_pair_unmatched"] = size - exact_pairs
        row["gap_percent"] = round(100 * (1 - fast.pair_weight / exact.pair_weight), 4)
        pool = Pool(people, ctx, constraints, seed)
        i, j, score = pool.candidate_edges(None)
        greedy_score, greedy_pairs = _greedy(size, i, j, score)
        row["greedy_percent"] = round(100 * greedy_score / exact.pair_weight, 2)
        row["greedy_pair_unmatched"] = size - 2 * greedy_pairs
    if reference:
        started = time.perf_counter()
        ref = solve_pool(people, ctx, constraints, seed, request.candidates_per_person, strategy="blossom")
        row["reference_seconds"] = round(time.perf_counter() - started, 1)
        row["reference_score"] = ref.pair_weight
        row["gap_to_reference_percent"] = round(100 * (1 - fast.pair_weight / ref.pair_weight), 4)
    return row


def _print_table(rows: list[dict]) -> None:
    print()
    header = (
        f"{'people':>7} {'seed':>4} {'time s':>7} {'peak MiB':>8} {'unmatched':>9} {'max-card':>8} "
        f"{'gap %':>7} {'greedy %':>8} {'greedy unm':>10} {'exact s':>7}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['size']:>7} {r['seed']:>4} {r['seconds']:>7.2f} {r['peak_rss_mib']:>8.0f} "
            f"{r['pair_unmatched']:>9} {r.get('exact_pair_unmatched', 'certif.'):>8} "
            f"{r.get('gap_percent', '-'):>7} {r.get('greedy_percent', '-'):>8} "
            f"{r.get('greedy_pair_unmatched', '-'):>10} {r.get('exact_seconds', '-'):>7}"
        )
        if "reference_score" in r:
            print(
                f"{'':>7} reference blossom on the candidate graph: {r['reference_seconds']} s, "
                f"gap {r['gap_to_reference_percent']} %"
            )
    print(
        "\nunmatched: people without a pair before trios (a trio then absorbs one when it can); "
        "max-card: the same for the exact maximum-cardinality matching of the full allowed graph "
        "('certif.': beyond the exact limit, the augmenting-path search found no augmenting path, "
        "which proves the matching has maximum cardinality)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.bench_matching",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument(
        "--exact-limit",
        type=int,
        default=2000,
        help="compute the exact matching up to this many people (default 2000)",
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="beyond the exact limit, also run one blossom over the whole candidate graph",
    )
    parser.add_argument("--child", type=int, nargs=2, metavar=("SIZE", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        size, seed = args.child
        print(json.dumps(run_one(size, seed, args.exact_limit, args.reference)))
        return 0
    rows = []
    for size in args.sizes:
        for seed in args.seeds:
            command = [
                sys.executable,
                "-m",
                "tests.benchmarks.bench_matching",
                "--child",
                str(size),
                str(seed),
                "--exact-limit",
                str(args.exact_limit),
            ]
            if args.reference and size > args.exact_limit:
                command.append("--reference")
            done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=PROJECT)  # noqa: S603
            if done.returncode:
                print(done.stderr, file=sys.stderr)
                return done.returncode
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), flush=True)
    _print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
