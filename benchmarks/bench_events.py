"""Behaviour events, the biggest source, through ingest and cleaning as notebooks 01 and 02 run them
(helpers.sources: read, map, scrub the search terms, write 01_events; parse, classify, stitch anonymous
events to customers, write 02_events and the rejected rows), with wall time and the peak memory of the
process tree per step, on DuckDB with the params' default settings. Then stage 04's helpers on the clean
events as notebook 04 runs them (helpers.behaviour: sessions by the gap rule or the source's session
ids, the in-order funnel, per-customer engagement), and next to them a bare DuckDB SQL query written
here, sessionisation and the same funnel by hand, in a fresh connection with the same settings: both
wall times, their ratio (target: the helpers within 1.5x of the bare query) and their peaks; the two
funnels must give the same counts. With --chain, the whole chain then runs on the same project (the
demo shop's two biggest sources at scale: the orders and the events of the same customers), as
`make report` runs a period, with every stage's time and peak (--chain-only: the chain alone).

The events file is drawn by helpers.synth_shop.bulk_events (the demo shop's columns and raw names, in
time order, a few bad rows) and an order log by helpers.synth (one customer per 100 events, about ten
orders each), each in a process of its own so that generating never counts in the peaks. Results go to
benchmarks/results_events.json and .md (--out for another file).
Usage: .venv/bin/python benchmarks/bench_events.py --rows 10000000 [--seed 42] [--reuse-data]
       [--chain | --chain-only]
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
from run_bench import PeakMemory, run_chain, timed  # noqa: E402  (the benchmarks folder is not a package)

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "work"
DATASET, PERIOD = "events", "2024-12"
EVENTS_PER_CUSTOMER = 100
# The orders of the same customers: helpers.synth's busy population over three years, about ten orders
# a customer (as run_bench draws them), so 100M events come with about 10M orders.
ORDERS_START = dt.date(2022, 1, 1)


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
            f"ORDERS_START = dt.date.fromisoformat('{ORDERS_START}'); "
            f"synth_shop.bulk_events({rows}, {customers}, {seed}, Path(sys.argv[1]) / 'events.parquet'); "
            f"synth.generate_to_file(Path(sys.argv[1]) / 'orders.parquet', {customers}, {seed}, "
            "ORDERS_START, synth_shop.END, population=synth.POPULATIONS['busy'])"
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
        del con
        clean = out / catalog.file_of("clean:events")
        helper_funnel = behaviour_helpers(params, clean, steps, memory)
        bare_funnel = bare_sql(params, clean, steps, memory)
    if helper_funnel != bare_funnel:
        raise AssertionError(
            f"the helpers' funnel {helper_funnel} differs from the bare query's {bare_funnel}"
        )
    helpers_seconds = steps["behaviour_sessions_funnel"]["seconds"]
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
        "funnel_sessions": helper_funnel,
        "helpers_vs_bare_sql": round(helpers_seconds / steps["bare_sql_sessions_funnel"]["seconds"], 2),
    }


def behaviour_helpers(params, clean: Path, steps: dict, memory: PeakMemory) -> dict:
    """Stage 04's helpers as the notebook runs them (a fresh connection; the sessionised events on disk,
    the sessions in a temporary table), on every event up to the period end: sessions and the funnel
    timed together, then the engagement table written; the funnel's sessions per step and channel."""
    from helpers import behaviour, catalog, engine, io

    settings = params.behaviour
    t0 = time.perf_counter()
    con = engine.connect(params.engine)
    events = behaviour.until(io.read_table(con, clean), params.as_of)
    sessionised = engine.materialise(
        con, "sessionised", behaviour.sessionise(events, settings.session_gap_minutes), on_disk=True
    )
    sessions = engine.materialise(con, "sessions", behaviour.sessions(sessionised, settings.funnel_steps))
    funnel = behaviour.funnel(behaviour.with_groups(sessions, None), settings.funnel_steps)
    steps["behaviour_sessions_funnel"] = {
        "seconds": round(time.perf_counter() - t0, 2),
        "peak_gb": memory.mark(),
    }
    t0 = time.perf_counter()
    transactions = io.read_table(con, clean.with_name(catalog.file_of("ingested:transactions")))
    engagement = behaviour.engagement(sessionised, sessions, transactions, params.as_of)
    customers = engagement.count().execute()
    steps["behaviour_engagement"] = {
        "seconds": round(time.perf_counter() - t0, 2),
        "peak_gb": memory.mark(),
        "customers": int(customers),
    }
    shown = funnel[funnel["group_kind"].isin(["all", "channel"])]
    return {f"{g}/{s}": int(n) for g, s, n in zip(shown["group"], shown["step"], shown["sessions"])}


def bare_sql(params, clean: Path, steps: dict, memory: PeakMemory) -> dict:
    """Sessionisation and the in-order funnel in plain DuckDB SQL (the benchmark's yardstick): the same
    rules as helpers.behaviour, written by hand in one connection with the engine's settings."""
    import duckdb

    from helpers.config import auto_memory_limit

    settings = params.behaviour
    gap = settings.session_gap_minutes * 60
    end = dt.datetime.combine(params.as_of + dt.timedelta(days=1), dt.time()).isoformat(sep=" ")
    funnel_steps = settings.funnel_steps
    t0 = time.perf_counter()
    con = duckdb.connect()
    limit = params.engine.memory_limit
    con.execute(f"SET memory_limit = '{auto_memory_limit(None) if limit == 'auto' else limit}'")
    if params.engine.threads:
        con.execute(f"SET threads = {params.engine.threads}")
    con.execute(f"""
        CREATE TEMP TABLE keyed AS
        WITH base AS (
            SELECT event_ts, event_type, channel, session_id, source_row, customer_id,
                   coalesce('c:' || customer_id, 'a:' || anonymous_id) AS visitor,
                   coalesce(channel, '(no channel)') AS lane
            FROM read_parquet('{clean}') WHERE event_ts < TIMESTAMP '{end}'
        ),
        flagged AS (
            SELECT *, CASE WHEN prev IS NULL OR epoch(event_ts)::BIGINT - prev > {gap} THEN 1 ELSE 0 END
                AS new
            FROM (
                SELECT *, lag(epoch(event_ts)::BIGINT) OVER (
                    PARTITION BY visitor, lane ORDER BY event_ts, source_row) AS prev
                FROM base WHERE session_id IS NULL
            )
        )
        SELECT visitor || '|' || lane || '|' || CAST(sum(new) OVER (
                   PARTITION BY visitor, lane ORDER BY event_ts, source_row
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS VARCHAR) AS session_key,
               customer_id, channel, event_ts, event_type
        FROM flagged
        UNION ALL
        SELECT 's:' || session_id, customer_id, channel, event_ts, event_type FROM base
        WHERE session_id IS NOT NULL
    """)
    con.execute(f"""
        CREATE TEMP TABLE r0 AS SELECT session_key, min(event_ts) AS t FROM keyed
        WHERE event_type = '{funnel_steps[0]}' GROUP BY session_key
    """)
    for i, step in enumerate(funnel_steps[1:], start=1):
        con.execute(f"""
            CREATE TEMP TABLE r{i} AS SELECT k.session_key, min(k.event_ts) AS t
            FROM keyed k JOIN r{i - 1} r ON k.session_key = r.session_key
            WHERE k.event_type = '{step}' AND k.event_ts >= r.t GROUP BY k.session_key
        """)
    joins = " ".join(f"LEFT JOIN r{i} ON s.session_key = r{i}.session_key" for i in range(len(funnel_steps)))
    counts = ", ".join(
        f"count(r{i}.t) AS s{i}, count(DISTINCT s.customer_id) FILTER (WHERE r{i}.t IS NOT NULL) AS c{i}"
        for i in range(len(funnel_steps))
    )  # visits and customers per step, as the helpers' funnel counts them
    rows = con.execute(f"""
        SELECT CASE WHEN grouping(channel) = 1 THEN 'all' ELSE coalesce(channel, '(no channel)') END, {counts}
        FROM (SELECT session_key, min(channel) AS channel, max(customer_id) AS customer_id FROM keyed
              GROUP BY session_key) s {joins}
        GROUP BY GROUPING SETS ((), (channel))
    """).fetchall()
    steps["bare_sql_sessions_funnel"] = {
        "seconds": round(time.perf_counter() - t0, 2),
        "peak_gb": memory.mark(),
    }
    con.close()
    return {
        f"{group}/{step}": int(row[2 * i + 1])
        for row in rows
        for group in [row[0]]
        if row[1] > 0 or group == "all"  # helpers.behaviour.funnel leaves out a channel without a first step
        for i, step in enumerate(funnel_steps)
    }


def chain_facts(root: Path) -> dict:
    """The whole chain on the project (runner.run_period in this process, stage by stage), with the
    orders' row count and what the chain published of the events."""
    import pyarrow.parquet as pq

    from helpers import catalog

    shutil.rmtree(root / "notebooks", ignore_errors=True)
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    gc.collect()
    chain = run_chain(root, DATASET, PERIOD)
    published = root / "data" / "processed" / DATASET / PERIOD
    facts = {"chain": chain, "orders": pq.ParquetFile(root / "data" / "raw" / DATASET / "orders.parquet")}
    facts["orders"] = facts["orders"].metadata.num_rows
    facts["chain"]["engaged_customers"] = pq.ParquetFile(
        published / catalog.file_of("engagement")
    ).metadata.num_rows
    return facts


def markdown(results: dict) -> str:
    lines = [
        "# Events: ingest, cleaning and stage 04 (sessions, funnel, engagement)",
        "",
        f"Machine: {results['machine']}; run {results['finished']}.",
        "",
    ]
    for size in results["sizes"]:
        lines += [
            f"## {size['rows']:,} events ({size['parquet_mb']} MB Parquet), {size['customers']:,} customers",
            "",
        ]
        if "steps" in size:
            lines += [
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
        if "helpers_vs_bare_sql" in size:
            lines += [
                "",
                f"Stage 04's helpers (sessions + funnel) took {size['helpers_vs_bare_sql']}x the time of the "
                "bare DuckDB SQL sessionisation + funnel (target: at most 1.5x); both gave the same funnel "
                f"({next(iter(size['funnel_sessions'].values())):,} visits at the first step). Engagement "
                "(one row per customer) is timed on its own.",
            ]
        if "chain" in size:
            chain = size["chain"]
            load = size.get("load_average_before_chain", size.get("load_average_before"))
            lines += [
                "",
                f"Whole chain on the same orders ({size['orders']:,}) and events, as `make report` runs "
                f"a period: **{chain['seconds']} s**, peak memory of the process tree "
                f"**{chain['peak_gb']} GB** "
                f"(the benchmark process held {chain['benchmark_process_gb_at_start']} GB when it started; "
                f"load average {load} on the 2 cores).",
                "",
                "| stage | seconds | peak GB (process tree) |",
                "|---|---:|---:|",
            ]
            lines += [
                f"| {stage} | {seconds} | {chain['stage_peak_gb'].get(stage, '')} |"
                for stage, seconds in chain["stages"].items()
            ]
        if size.get("note"):
            lines += ["", size["note"]]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reuse-data", action="store_true", help="keep the files of an earlier run")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results_events.json")
    parser.add_argument(
        "--note", default="", help="a sentence for the results, e.g. other work on the machine"
    )
    parser.add_argument("--chain", action="store_true", help="then the whole chain on the same project")
    parser.add_argument("--chain-only", action="store_true", help="the whole chain alone (no steps)")
    args = parser.parse_args()
    results = {
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, "
        f"{round(psutil.virtual_memory().total / 2**30)} GiB, Python {platform.python_version()}",
        "sizes": [],
    }
    for rows in args.rows:
        root, facts = project(rows, args.seed, args.reuse_data)
        facts["load_average_before"] = round(os.getloadavg()[0], 1)  # other work on the machine
        facts["note"] = args.note
        if not args.chain_only:
            os.environ["CA_PROJECT_ROOT"] = str(root)
            try:
                facts.update(run(root))
            finally:
                del os.environ["CA_PROJECT_ROOT"]
        else:  # the chain alone: keep what an earlier run of the steps measured on this file
            earlier = json.loads(args.out.read_text())["sizes"] if args.out.is_file() else []
            facts = {**facts, **next((s for s in earlier if s["rows"] == facts["rows"]), {})}
            facts["load_average_before_chain"] = round(os.getloadavg()[0], 1)
        if args.chain or args.chain_only:
            facts.update(chain_facts(root))
        results["sizes"].append(facts)
        results["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        args.out.with_suffix(".md").write_text(markdown(results))
        print(markdown({**results, "sizes": [facts]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
