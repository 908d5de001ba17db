"""Stage 09's churn model on a large synthetic shop: fit on a seeded sample, score every customer.

Synthetic orders from helpers.synth (the BG/NBD and Gamma-Gamma process with CDNOW's published
parameters, 2022-2023); the churn comparison (helpers.churn.compare: labels and features at both cuts
in DuckDB, gradient boosting fitted on churn.fit_sample_above customers, the purchase model on the same
sample size, every holdout customer scored, permutation importance on churn.importance_sample) and the
final scores (the chosen score refitted and applied to every customer, with the per-customer drivers
when the gradient boosting is chosen), timed phase by phase, with the peak memory of the process.
Usage: .venv/bin/python benchmarks/bench_churn.py --customers 1000000 [--seed 42]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results_churn.json"
REPORT = REPO / "benchmarks" / "results_churn.md"
AS_OF = dt.date(2023, 12, 31)


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--model", default="auto", help="churn.model: auto, or the score to force")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    import ibis

    from helpers import churn, engine, synth
    from helpers.config import ChurnConfig

    settings = ChurnConfig(model=args.model)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    orders, _ = synth.generate(args.customers, args.seed)
    timings["generate"] = time.perf_counter() - started
    con = engine.connect()
    table = con.create_table("orders", orders)
    memory_after_generation = peak_memory_mb()
    del orders
    step = time.perf_counter()
    compared = churn.compare(churn.Sources(table), AS_OF, settings, args.seed, "bgnbd", "weeks")
    timings["compare"] = time.perf_counter() - step
    step = time.perf_counter()
    scores = churn.final_scores(compared, churn.Sources(table), settings, args.seed, "bgnbd", "weeks")
    timings["final_scores"] = time.perf_counter() - step
    chosen = compared.chosen
    forced = None
    if compared.chosen != churn.GRADIENT_BOOSTING and compared.status == "ok":
        # The scoring of every customer with drivers is the costly path: time it even when not chosen.
        step = time.perf_counter()
        compared.chosen = churn.GRADIENT_BOOSTING
        forced = churn.final_scores(compared, churn.Sources(table), settings, args.seed, "bgnbd", "weeks")
        timings["final_scores_gradient_boosting"] = time.perf_counter() - step
    orders_count = int(table.count().execute())
    summary = {
        "customers": args.customers,
        "orders": orders_count,
        "seed": args.seed,
        "as_of": AS_OF.isoformat(),
        "settings": settings.model_dump(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "ibis": ibis.__version__,
        "status": compared.status,
        "counts": compared.counts,
        "comparison": compared.table.round(4).to_dict("records"),
        "chosen": chosen,
        "scored_customers": None if scores is None else len(scores),
        "scored_with_drivers": None if forced is None else len(forced),
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "peak_memory_mb_after_generation": round(memory_after_generation, 1),
        "peak_memory_mb": round(peak_memory_mb(), 1),
    }
    RESULTS.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    lines = [
        "# Churn model benchmark",
        "",
        f"`python benchmarks/bench_churn.py --customers {args.customers}` on {summary['cpus']} CPUs "
        f"(Python {summary['python']}): {args.customers:,} synthetic customers, {orders_count:,} orders "
        f"(helpers.synth, CDNOW's parameters), as of {AS_OF}, churn window {settings.window_days} days; "
        f"models fitted on seeded samples of {settings.fit_sample_above:,}, every customer scored.",
        "",
        "| phase | seconds |",
        "|---|---|",
        *(f"| {k} | {v:.1f} |" for k, v in summary["seconds"].items()),
        "",
        f"Peak memory: {summary['peak_memory_mb']:,.0f} MB "
        f"({summary['peak_memory_mb_after_generation']:,.0f} MB after generating the orders).",
        "",
        "| score | ROC AUC | PR AUC | Brier |",
        "|---|---|---|---|",
        *(
            f"| {row['model']} | {row['roc_auc']:.3f} | {row['pr_auc']:.3f} | "
            f"{row['brier'] if row['brier'] is None else format(row['brier'], '.3f')} |"
            for row in summary["comparison"]
        ),
        "",
        f"Chosen: {summary['chosen']}.",
        "",
    ]
    REPORT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
