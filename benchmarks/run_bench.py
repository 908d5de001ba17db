"""`make bench`: the whole per-period chain on synthetic data, with the obvious alternatives measured
in the same run, written to benchmarks/results.json and benchmarks/results.md.

Measured per size: data generation, every stage's wall time, the peak memory of the process tree
(this process + notebook kernels), and the reference points:
  (a) a bare DuckDB SQL query computing the per-customer summary from the same Parquet file,
  (b) the naive route: lifetimes' summary_data_from_transaction_data on a pandas frame,
  (c) on the bundled CDNOW data: our runner vs a chain of `papermill` + `jupyter nbconvert` CLI calls,
and, outside the chain, the CLV model fitting as notebook 06 does it ("fit small, score big": a
fixed-seed sample above clv.FIT_SAMPLE_ABOVE customers, unique histories with weights).
Usage: python benchmarks/run_bench.py [--sizes 1000000 10000000] [--skip-naive-cli]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from helpers.config import EngineConfig

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "work"
PERIOD = "2023-12"
START, END = dt.date(2021, 1, 1), dt.date(2023, 12, 31)


class PeakMemory:
    """Samples the resident memory of this process and all its children every 50 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self.since_mark = 0  # peak since the last call of mark()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self.since_mark = max(self.since_mark, total)
            self._stop.wait(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def gb(self) -> float:
        return round(self.peak / 1e9, 2)

    def mark(self) -> float:
        """Peak GB since the previous mark (the stage that just ended), then start a new stage."""
        peak, self.since_mark = self.since_mark, 0
        return round(peak / 1e9, 2)


def timed(fn, *args, memory: PeakMemory | None = None, **kwargs) -> tuple[object, float, float]:
    """(result, seconds, peak GB of the process tree) of one call."""
    with memory or PeakMemory() as memory:
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        seconds = time.perf_counter() - t0
    return result, round(seconds, 2), memory.gb


def synthetic_project(transactions: int, seed: int, memory_limit: str | None = None) -> tuple[Path, dict]:
    """A project folder with generated data (about 10 orders per customer) and a params file for it
    (``memory_limit``: the period's engine.memory_limit, the params default when None)."""
    from helpers import config, synth

    customers = max(1000, transactions // 10)
    root = WORK / f"n{transactions}"
    shutil.rmtree(root, ignore_errors=True)
    (root / "params").mkdir(parents=True)
    (root / "data" / "raw").mkdir(parents=True)
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    (log, _), seconds, _ = timed(synth.generate, customers, seed, START, END, population=synth.POPULATIONS["busy"])
    path = synth.write(log, root / "data" / "raw" / "orders.parquet")
    defaults = (REPO / "params" / "defaults.yaml").read_text()
    (root / "params" / "defaults.yaml").write_text(defaults.replace('default_period: "1998-06"', f'default_period: "{PERIOD}"'))
    start, end = config.month_window(PERIOD)
    (root / "params" / f"{PERIOD}.yaml").write_text(
        f'period: "{PERIOD}"\nperiod_start: {start}\nperiod_end: {end}\n'
        "sources:\n  transactions:\n    format: parquet\n    path: data/raw/orders.parquet\n"
        "    columns: {customer_id: customer_id, order_id: order_id, order_ts: order_ts, amount: amount, quantity: null}\n"
        "    timestamp_formats: []\n"
        + (f'engine:\n  memory_limit: "{memory_limit}"\n' if memory_limit else ""))
    return root, {"transactions": len(log), "customers": customers, "generate_seconds": seconds,
                  "parquet_mb": round(path.stat().st_size / 1e6, 1)}


def bare_duckdb_summary(parquet: Path, as_of: dt.date) -> float:
    """Reference (a): the per-customer summary as one hand-written DuckDB query, from the same file."""
    import duckdb

    t0 = time.perf_counter()
    with duckdb.connect() as con:
        con.execute(f"""
            SELECT customer_id, count(DISTINCT order_id) AS frequency_orders, sum(amount) AS monetary_total,
                   date_diff('day', max(order_ts), TIMESTAMP '{as_of + dt.timedelta(days=1)}') AS recency_days,
                   min(order_ts) AS first_order_ts, max(order_ts) AS last_order_ts
            FROM read_parquet('{parquet}') WHERE order_ts < TIMESTAMP '{as_of + dt.timedelta(days=1)}'
            GROUP BY customer_id""").to_arrow_table()
    return round(time.perf_counter() - t0, 2)


def pipeline_summary(parquet: Path, as_of: dt.date) -> float:
    """The pipeline's own per-customer summary (helpers.rfm.customer_metrics, Ibis on DuckDB), from
    the same file as the bare query, materialised as Arrow like the bare query's result."""
    from helpers import engine, rfm

    t0 = time.perf_counter()
    con = engine.connect()
    rfm.customer_metrics(con.read_parquet(str(parquet)), dt.date(as_of.year, as_of.month, 1), as_of).to_pyarrow()
    return round(time.perf_counter() - t0, 2)


def clv_fitting(parquet: Path, as_of: dt.date) -> dict:
    """Notebook 06's fitting steps timed one by one from the chain's clean transactions (default
    settings): the model comparison on the calibration period (BG/NBD, Pareto/NBD with its seeded
    starts, MBG/NBD and the holdout predictions for every calibration customer), the BG/NBD +
    Gamma-Gamma fit on all history, and scoring every customer."""
    from helpers import clv, engine
    from helpers.config import ClvConfig

    settings, seed = ClvConfig(), 42
    unit = settings.time_unit
    con = engine.connect()
    transactions = con.read_parquet(str(parquet))
    t0 = time.perf_counter()
    inputs = clv.model_inputs(transactions, as_of, unit).to_pandas()
    end = clv.calibration_end(as_of, settings.holdout_days, unit)
    calibration = clv.calibration_and_holdout(transactions, end, as_of, unit).to_pandas()
    t1 = time.perf_counter()
    histories = clv.compress_histories(calibration, settings.fit_sample_above, seed)
    fits = clv.fit_purchase_models(histories, settings.models, seed, settings.pareto_starts, settings.penalizer_retry)
    clv.holdout_predictions(calibration, fits, clv.holdout_length(end, as_of, unit))
    t2 = time.perf_counter()
    purchase = clv.fit_model(clv.compress_histories(inputs, settings.fit_sample_above, seed), "bgnbd", seed, 1, settings.penalizer_retry)
    spend = clv.fit_model(clv.spend_sample(inputs, settings.fit_sample_above, seed), "gamma_gamma", penalizer_retry=settings.penalizer_retry)
    t3 = time.perf_counter()
    clv.score_customers(inputs, purchase, spend, settings.horizon_months, settings.monthly_discount_rate, unit)
    t4 = time.perf_counter()
    return {"customers": len(inputs), "fitted_customers": purchase.customers, "fitted_rows": purchase.rows,
            "calibration_fitted_rows": len(histories),
            "model_inputs_seconds": round(t1 - t0, 2), "comparison_seconds": round(t2 - t1, 2),
            "comparison_by_model": {name: fit.converged for name, fit in fits.items()},
            "bgnbd_gamma_gamma_seconds": round(t3 - t2, 2), "score_seconds": round(t4 - t3, 2)}


def naive_lifetimes_summary(parquet: Path, as_of: dt.date) -> tuple[float, float]:
    """Reference (b): read into pandas, then lifetimes.utils.summary_data_from_transaction_data."""
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    def run() -> None:
        frame = pd.read_parquet(parquet, columns=["customer_id", "order_ts", "amount"])
        summary_data_from_transaction_data(frame, "customer_id", "order_ts", monetary_value_col="amount",
                                           observation_period_end=pd.Timestamp(as_of), freq="D")

    _, seconds, peak = timed(run)
    return seconds, peak


def run_chain(root: Path, period: str) -> dict:
    """Our runner in this process (as `make report` runs it), with per-stage times and peak memory."""
    from helpers import runner

    os.environ["CA_PROJECT_ROOT"] = str(root)
    memory, stage_peaks = PeakMemory(), {}

    def log(message: str) -> None:  # the runner logs each notebook as it finishes: "[period] 03_rfm  4.2 s"
        words = message.split()
        if len(words) == 4 and words[-1] == "s" and words[1][:2].isdigit():
            stage_peaks[words[1]] = memory.mark()

    try:
        result, seconds, peak = timed(runner.run_period, period, root, None, log, memory=memory)
    finally:
        del os.environ["CA_PROJECT_ROOT"]
    if not result.ok:
        raise RuntimeError(result.message)
    return {"seconds": seconds, "peak_gb": peak, "stages": {s.notebook: s.seconds for s in result.stages},
            "stage_peak_gb": stage_peaks}


def naive_cli_chain(root: Path, period: str) -> float:
    """Reference (c): one `papermill` and one `jupyter nbconvert --no-input` CLI call per notebook."""
    bin_dir = Path(sys.executable).parent
    products = root / "naive_products"
    out = root / "naive_report"
    shutil.rmtree(products, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = {**os.environ, "CA_PROJECT_ROOT": str(root)}
    t0 = time.perf_counter()
    for notebook in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        executed = out / notebook.name
        subprocess.run([str(bin_dir / "papermill"), str(notebook), str(executed), "-p", "period", period,
                        "-p", "products_dir", str(products), "--cwd", str(notebook.parent), "--no-progress-bar"],
                       check=True, env=env, capture_output=True)
        subprocess.run([str(bin_dir / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)],
                       check=True, env=env, capture_output=True)
    return round(time.perf_counter() - t0, 2)


def cdnow_project() -> Path:
    """A copy of the project on the bundled data (so benchmarks never touch the user's reports)."""
    root = WORK / "cdnow"
    shutil.rmtree(root, ignore_errors=True)
    (root / "data" / "raw").mkdir(parents=True)
    shutil.copytree(REPO / "params", root / "params")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    shutil.copyfile(REPO / "data" / "raw" / "cdnow_transactions.txt", root / "data" / "raw" / "cdnow_transactions.txt")
    return root


def markdown(results: dict) -> str:
    lines = ["# Benchmark results", "", f"Machine: {results['machine']}; run {results['finished']}."
             + f" DuckDB memory_limit: {results['memory_limit']}.", ""]
    cd = results.get("cdnow")
    if cd:
        lines += ["## Bundled CDNOW data (69,659 rows), whole chain with HTML", "",
                  "| route | seconds | ratio |", "|---|---:|---:|",
                  f"| our runner (one process, papermill + nbconvert APIs) | {cd['runner']['seconds']} | 1.00 |"]
        if "naive_cli_seconds" in cd:
            lines.append(f"| naive: papermill + nbconvert CLI per notebook | {cd['naive_cli_seconds']} | "
                         f"{cd['naive_cli_seconds'] / cd['runner']['seconds']:.2f} |")
        lines.append("")
    for size in results["sizes"]:
        lines += [f"## {size['transactions']:,} transactions, {size['customers']:,} customers", "",
                  f"Generated in {size['generate_seconds']} s ({size['parquet_mb']} MB Parquet). "
                  f"Whole chain: **{size['chain']['seconds']} s**, peak memory of the process tree "
                  f"**{size['chain']['peak_gb']} GB**.", "",
                  "| stage | seconds | peak GB (process tree) |", "|---|---:|---:|"]
        peaks = size["chain"].get("stage_peak_gb", {})
        lines += [f"| {stage} | {secs} | {peaks.get(stage, '')} |" for stage, secs in size["chain"]["stages"].items()]
        lines += ["", "| per-customer summary | seconds | peak GB | ratio to bare DuckDB |", "|---|---:|---:|---:|",
                  f"| (a) bare DuckDB SQL on the Parquet file | {size['bare_duckdb_seconds']} | | 1.00 |"]
        if "pipeline_summary_seconds" in size:
            lines.append(f"| the pipeline's own summary (Ibis on DuckDB) | {size['pipeline_summary_seconds']} | | "
                         f"{size['pipeline_summary_seconds'] / size['bare_duckdb_seconds']:.2f} |")
        if "lifetimes_seconds" in size:
            lines.append(f"| (b) lifetimes summary_data_from_transaction_data | {size['lifetimes_seconds']} | "
                         f"{size['lifetimes_peak_gb']} | {size['lifetimes_seconds'] / size['bare_duckdb_seconds']:.2f} |")
        fit = size.get("clv_fitting")
        if fit:
            lines += ["", f"CLV fitting outside the chain ({fit['customers']:,} customers; models fitted on "
                          f"{fit['fitted_customers']:,} of them, {fit['fitted_rows']:,} distinct histories):", "",
                      "| step | seconds |", "|---|---:|",
                      f"| model inputs + calibration/holdout (engine) | {fit['model_inputs_seconds']} |",
                      f"| model comparison: BG/NBD, Pareto/NBD, MBG/NBD + holdout predictions | {fit['comparison_seconds']} |",
                      f"| BG/NBD + Gamma-Gamma on all history | {fit['bgnbd_gamma_gamma_seconds']} |",
                      f"| scoring every customer (P(alive), expected purchases, CLV) | {fit['score_seconds']} |"]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-naive-cli", action="store_true")
    parser.add_argument("--skip-cdnow", action="store_true")
    parser.add_argument("--memory-limit", help="engine.memory_limit for the generated periods (e.g. 4GB); "
                        "default: the params default")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results.json")
    args = parser.parse_args()
    results: dict = {"machine": f"{platform.machine()}, {psutil.cpu_count()} cores, "
                                f"{round(psutil.virtual_memory().total / 2**30)} GiB, Python {platform.python_version()}",
                     "sizes": [], "memory_limit": args.memory_limit or f"{EngineConfig().memory_limit} (the params default)"}
    if not args.skip_cdnow:
        root = cdnow_project()
        results["cdnow"] = {"runner": run_chain(root, "1998-06")}
        print(f"cdnow runner: {results['cdnow']['runner']['seconds']} s", flush=True)
    if not args.skip_cdnow and not args.skip_naive_cli:
        results["cdnow"]["naive_cli_seconds"] = naive_cli_chain(root, "1998-06")
        print(f"cdnow naive CLI chain: {results['cdnow']['naive_cli_seconds']} s", flush=True)
    for transactions in args.sizes:
        root, facts = synthetic_project(transactions, args.seed, args.memory_limit)
        facts["chain"] = run_chain(root, PERIOD)
        # The per-customer summary routes, all from the chain's own clean transactions file.
        clean = root / "data" / "processed" / PERIOD / "02_transactions.parquet"
        facts["bare_duckdb_seconds"] = bare_duckdb_summary(clean, END)
        facts["pipeline_summary_seconds"] = pipeline_summary(clean, END)
        facts["clv_fitting"] = clv_fitting(clean, END)
        if transactions <= 10_000_000:
            facts["lifetimes_seconds"], facts["lifetimes_peak_gb"] = naive_lifetimes_summary(clean, END)
        results["sizes"].append(facts)
        print(f"{transactions:,} transactions: chain {facts['chain']['seconds']} s, peak {facts['chain']['peak_gb']} GB",
              flush=True)
    results["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
