"""Behaviour events, the biggest source, through ingest and cleaning as notebooks 01 and 02 run them
(helpers.sources: read, map, scrub the search terms, write 01_events; parse, classify, stitch anonymous
events to customers, write 02_events and the rejected rows), with wall time and the peak memory of the
process tree per step, on DuckDB with the params' default settings.

The events file is drawn by helpers.synth_shop.bulk_events (the demo shop's columns and raw names, in
time order, a few bad rows) and an order log by helpers.synth (one customer per 100 events), each in a
process of its own so that generating never counts in the peaks. Results go to
benchmarks/results_events.json and .md (--out for another file).
Usage: .venv/bin/python benchmarks/bench_events.py --rows 10000000 [--seed 42] [--reuse-data]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import PeakMemory, timed  # noqa: E402  (the benchmarks folder is not a package)

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "work"
DATASET, PERIOD = "events", "2024-12"
EVENTS_PER_CUSTOMER = 100


def project(rows: int, seed: int, reuse: bool) -> tuple[Path, dict]:
    """A project folder with the events file, an order log of the same customers and the params."""
    from helpers import config

    root = WORK / f"events_n{rows}"
    raw = root / "data" / "raw" / DATASET
    stamp = raw / "seed"
    reused = reuse and stamp.is_file() and stamp.read_text() == str(seed)
    for child in root.iterdir() if root.is_dir() else []:
        if not (reused and child.name == "data"):
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    if reused:
        shutil.rmtree(root / "data" / "processed", ignore_errors=True)
    customers = max(1000, rows // EVENTS_PER_CUSTOMER)
    seconds = None
    if not reused:
        raw.mkdir(parents=True, exist_ok=True)
        draw = (
            "import sys, datetime as dt; from pathlib import Path; from helpers import synth, synth_shop; "
            f"synth_shop.bulk_events({rows}, {customers}, {seed}, Path(sys.argv[1]) / 'events.parquet'); "
            f"synth.generate_to_file(Path(sys.argv[1]) / 'orders.parquet', {customers}, {seed}, "
            "synth_shop.START, synth_shop.END)"
        )
        _, seconds, _ = timed(subprocess.run, [sys.executable, "-c", draw, str(raw)], check=True)
        stamp.write_text(str(seed))
    (root / "params" / DATASET).mkdir(parents=True)
    defaults = (REPO / "params" / "defaults.yaml").read_text()
    (root / "params" / "defaults.yaml").write_text(
        defaults.replace("default_dataset: cdnow", f"default_dataset: {DATASET}")
    )
    demo = config.load_params("demo", "2024-12", REPO).sources.events
    values = json.dumps(demo.values["event_type"])
    (root / "params" / DATASET / "dataset.yaml").write_text(
        f'default_period: "{PERIOD}"\nsources:\n'
        f"  transactions:\n    format: parquet\n    path: data/raw/{DATASET}/orders.parquet\n"
        "    columns: {customer_id: customer_id, order_id: order_id, order_ts: order_ts, amount: amount}\n"
        f"  events:\n    format: parquet\n    path: data/raw/{DATASET}/events.parquet\n"
        f"    columns: {json.dumps(demo.columns.mapped())}\n"
        f"    values: {{event_type: {values}}}\n"
    )
    start, end = config.month_window(PERIOD)
    (root / "params" / DATASET / f"{PERIOD}.yaml").write_text(config.period_text(PERIOD, start, end))
    import pyarrow.parquet as pq

    return root, {
        "rows": pq.ParquetFile(raw / "events.parquet").metadata.num_rows,
        "customers": customers,
        "generate_seconds": seconds,
        "parquet_mb": round((raw / "events.parquet").stat().st_size / 1e6, 1),
    }


def run(root: Path) -> dict:
    """01 then 02 for the events (and the orders 02 compares their customer ids with), each step timed
    with the peak memory of this process since the step began."""
    from helpers import catalog, engine, ingest, io, sources
    from helpers.config import load_params

    params = load_params(DATASET, PERIOD, root)
    out = root / "data" / "processed" / DATASET / PERIOD
    steps = {}
    with PeakMemory() as memory:
        t0 = time.perf_counter()
        con = engine.connect(params.engine)
        orders, _ = ingest.ingest_transactions(con, params.sources.transactions, params.privacy, root)
        io.write_table(orders, out / catalog.file_of("ingested:transactions"))
        steps["orders_ingest"] = {"seconds": round(time.perf_counter() - t0, 2), "peak_gb": memory.mark()}
        t0 = time.perf_counter()
        ingested = sources.ingest_sources(con, params.sources, params.privacy, root)
        table, facts = ingested["events"]
        io.write_table(table, out / catalog.file_of("ingested:events"))
        steps["events_ingest"] = {"seconds": round(time.perf_counter() - t0, 2), "peak_gb": memory.mark()}
        # 02 runs in a kernel whose namespace was cleared: nothing of 01's connection may stay alive
        # (its buffer pool would count in 02's peak).
        del con, orders, ingested, table
        gc.collect()
        t0 = time.perf_counter()
        con = engine.connect(params.engine)  # 02 runs in a fresh connection, as the notebooks do
        others = {"events": io.read_table(con, out / catalog.file_of("ingested:events"))}
        transactions = io.read_table(con, out / catalog.file_of("ingested:transactions"))
        kept, rejected, quality = sources.clean_sources(con, others, transactions, params)["events"]
        io.write_table(kept, out / catalog.file_of("clean:events"))
        io.write_table(rejected, out / catalog.file_of("rejected:events"))
        steps["events_clean"] = {"seconds": round(time.perf_counter() - t0, 2), "peak_gb": memory.mark()}
    return {
        "memory_limit": params.engine.memory_limit,
        "steps": steps,
        "rows_read": facts["rows_read"],
        "rows_kept": quality["rows_kept"],
        "rows_rejected": quality["rows_rejected"],
        "balanced": quality["balanced"],
        "rejected_by_reason": {k: v for k, v in quality["rejected_by_reason"].items() if v},
        "share_identified": round(quality["identity"]["share_identified"], 4),
        "share_identified_before_stitching": round(
            quality["identity"]["share_identified_before_stitching"], 4
        ),
        "clean_mb": round((out / catalog.file_of("clean:events")).stat().st_size / 1e6, 1),
    }


def markdown(results: dict) -> str:
    lines = [
        "# Events ingest and cleaning",
        "",
        f"Machine: {results['machine']}; run {results['finished']}.",
        "",
    ]
    for size in results["sizes"]:
        lines += [
            f"## {size['rows']:,} events ({size['parquet_mb']} MB Parquet), {size['customers']:,} customers",
            "",
            f"DuckDB memory_limit {size['memory_limit']}; load average {size.get('load_average_before')} "
            f"when it started (2 cores). {size['rows_read']:,} rows in = "
            f"{size['rows_kept']:,} kept + {size['rows_rejected']:,} rejected "
            f"({', '.join(f'{k} {v:,}' for k, v in size['rejected_by_reason'].items())}); "
            f"{100 * size['share_identified']:.1f}% of the kept events identified "
            f"({100 * size['share_identified_before_stitching']:.1f}% before stitching).",
            "",
            "| step | seconds | peak GB (process) |",
            "|---|---:|---:|",
        ]
        lines += [f"| {step} | {v['seconds']} | {v['peak_gb']} |" for step, v in size["steps"].items()]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reuse-data", action="store_true", help="keep the files of an earlier run")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results_events.json")
    args = parser.parse_args()
    results = {
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, "
        f"{round(psutil.virtual_memory().total / 2**30)} GiB, Python {platform.python_version()}",
        "sizes": [],
    }
    for rows in args.rows:
        root, facts = project(rows, args.seed, args.reuse_data)
        facts["load_average_before"] = round(os.getloadavg()[0], 1)  # other work on the machine
        os.environ["CA_PROJECT_ROOT"] = str(root)
        try:
            facts.update(run(root))
        finally:
            del os.environ["CA_PROJECT_ROOT"]
        results["sizes"].append(facts)
        results["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        args.out.with_suffix(".md").write_text(markdown(results))
        print(markdown({**results, "sizes": [facts]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
