"""Market baskets at scale: stage 06's rule mining (helpers.basket: FP-growth on a fixed-seed sample of
basket.fit_sample_above baskets, every rule then counted exactly on all baskets in DuckDB) and the next
best product of every customer, against the obvious alternative, mlxtend's FP-growth on every basket,
in the same run. Each variant runs in a process of its own, timed with the peak memory of that process.

The order lines are drawn here: N baskets of 1-6 products over P products with Zipf-like popularity
(a few best sellers, a long tail), 10 planted pairs bought together, N/5 customers. Results go to
benchmarks/results_basket.json and .md.
Usage: .venv/bin/python benchmarks/bench_basket.py [--baskets 1000000] [--products 5000] [--seed 42]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import PeakMemory  # noqa: E402  (the benchmarks folder is not a package)

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "work"
AS_OF = dt.date(2024, 12, 31)
PLANTED_PAIRS = 10


def draw_lines(baskets: int, products: int, seed: int, path: Path) -> dict:
    """The order lines as clean transactions hold them (one row per basket and product)."""
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1, 2, 3, 4, 5, 6], size=baskets, p=[0.45, 0.25, 0.14, 0.08, 0.05, 0.03])
    owner = np.repeat(np.arange(baskets), sizes)
    popularity = 1.0 / np.arange(1, products + 1) ** 0.9
    item = rng.choice(products, size=owner.size, p=popularity / popularity.sum())
    # Planted pairs: product 2k+20's buyers also take product 2k+21 in 30% of their baskets.
    first = 20 + 2 * np.arange(PLANTED_PAIRS)
    has_first = np.isin(item, first) & (rng.random(owner.size) < 0.3)
    owner = np.concatenate([owner, owner[has_first]])
    item = np.concatenate([item, item[has_first] + 1])
    lines = pd.DataFrame({"basket": owner, "item": item}).drop_duplicates()
    day = rng.integers(0, 730, baskets)
    lines = pd.DataFrame(
        {
            "customer_id": (lines["basket"].to_numpy() % (baskets // 5)).astype(str),
            "order_id": lines["basket"].to_numpy().astype(str),
            "order_ts": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(day[lines["basket"].to_numpy()], unit="D"),
            "product_id": np.char.add("P", lines["item"].to_numpy().astype(str)),
            "category": np.char.add("C", (lines["item"].to_numpy() % 50).astype(str)),
            "is_return": False,
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    lines.to_parquet(path, index=False)
    return {"lines": len(lines), "baskets": baskets, "products": products, "customers": baskets // 5}


def step(name: str, path: Path, seed: int, out: Path) -> None:
    """One variant, in this process: ``stage`` (helpers.basket as stage 06 runs it: product rules with
    the params' defaults, then every customer's next best product) or ``all_baskets`` (mlxtend's
    FP-growth on every basket, the same threshold, sparse encoding)."""
    from helpers import basket, engine
    from helpers.config import BasketConfig

    config = BasketConfig()
    con = engine.connect()
    lines = con.read_parquet(path)
    t0 = time.perf_counter()
    facts: dict = {}
    if name == "stage":
        items = engine.materialise(con, "items", basket.basket_items(lines, AS_OF, "product"))
        rules, facts = basket.mine_rules(con, items, config, seed)
        mined = time.perf_counter() - t0
        best = basket.next_best_products(
            con, lines, AS_OF, rules.assign(level="product", segment=basket.ALL_CUSTOMERS)
        )
        facts |= {"rules": len(rules), "mine_seconds": round(mined, 2), "customers_with_offer": len(best)}
        pairs = sorted(zip(rules["antecedent"], rules["consequent"], strict=True))
    else:
        rows = basket.basket_items(lines, AS_OF, "product").select("basket_id", "item").to_pandas()
        baskets = rows["basket_id"].nunique()
        threshold = max(config.min_support, config.min_rule_baskets / baskets)
        counts = basket.frequent_itemsets(rows, threshold, config.max_len)  # supports of every basket
        rules = basket.rules_from_counts(counts, baskets, config)
        facts = {"baskets": baskets, "itemsets": len(counts), "rules": len(rules)}
        pairs = sorted(zip(rules["antecedent"], rules["consequent"], strict=True))
    facts["seconds"] = round(time.perf_counter() - t0, 2)
    facts["rule_pairs"] = pairs
    out.write_text(json.dumps(facts))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baskets", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--step", choices=["stage", "all_baskets"], help=argparse.SUPPRESS)
    parser.add_argument("--lines", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--facts", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results_basket.json")
    args = parser.parse_args()
    if args.step:
        step(args.step, args.lines, args.seed, args.facts)
        return 0
    root = WORK / f"basket_n{args.baskets}"
    path = root / "lines.parquet"
    data = draw_lines(args.baskets, args.products, args.seed, path)
    results = {"machine": _machine(), "data": data, "load_average_before": round(psutil.getloadavg()[0], 1)}
    for name in ("stage", "all_baskets"):
        facts_path = root / f"{name}.json"
        command = [sys.executable, __file__, "--step", name, "--lines", str(path), "--facts", str(facts_path)]
        with PeakMemory() as memory:
            t0 = time.perf_counter()
            subprocess.run([*command, "--seed", str(args.seed)], check=True)
            wall = time.perf_counter() - t0
        facts = json.loads(facts_path.read_text())
        results[name] = {"wall_seconds": round(wall, 2), "peak_gb": round(memory.peak / 1e9, 2), **facts}
    stage, alone = results["stage"], results["all_baskets"]
    results["same_rules"] = stage.pop("rule_pairs") == alone.pop("rule_pairs")
    results["mining_speedup"] = round(alone["seconds"] / stage["mine_seconds"], 2)
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))
    return 0


def _machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    cores = psutil.cpu_count()
    return f"{platform.machine()}, {cores} cores, {memory:.0f} GiB, Python {platform.python_version()}"


def markdown(results: dict) -> str:
    data, stage, alone = results["data"], results["stage"], results["all_baskets"]
    return "\n".join(
        [
            "# Market baskets",
            "",
            f"Machine: {results['machine']}; run {results['finished']}; load average "
            f"{results['load_average_before']} when it started (2 cores).",
            "",
            f"{data['baskets']:,} baskets ({data['lines']:,} order lines) over {data['products']:,} "
            f"products, {data['customers']:,} customers, {PLANTED_PAIRS} planted pairs; "
            f"basket params' defaults (fit_sample_above {200_000:,}).",
            "",
            "| variant | seconds (work) | seconds (process) | peak GB | itemsets | rules |",
            "|---|---:|---:|---:|---:|---:|",
            "| stage 06: FP-growth on a sample, exact counts in DuckDB, + next best product of every "
            f"customer | {stage['seconds']} (mining {stage['mine_seconds']}) | "
            f"{stage['wall_seconds']} | "
            f"{stage['peak_gb']} | {stage['itemsets']:,} | {stage['rules']:,} |",
            f"| FP-growth on every basket (mlxtend's supports) | {alone['seconds']} | "
            f"{alone['wall_seconds']} | {alone['peak_gb']} | {alone['itemsets']:,} | {alone['rules']:,} |",
            "",
            f"Same rules: {results['same_rules']}; mining {results['mining_speedup']}x faster on the sample; "
            f"customers with an offer: {stage['customers_with_offer']:,}.",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
