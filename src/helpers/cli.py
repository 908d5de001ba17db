"""Command line: ``python -m helpers run|new-period|validate|bundled-data``.

Exit status: 0 success, 1 a notebook failed (the message names notebook, cell and saved copy),
2 bad parameters or usage (one sentence naming the file and key).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import shutil
import sys
from pathlib import Path

from helpers import paths
from helpers.config import ParamsError, list_periods, load_params, new_period_file

BUNDLED_NAME = "cdnow_transactions.txt"


def _fail(message: str, status: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def bundled_data(root: Path | None = None) -> Path:
    """Copy CDNOW's transaction log from the installed lifetimes package into ``data/raw/``."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the lifetimes package is not installed; run `make venv` first.")
    source = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_master.txt"
    target = paths.raw_dir(root) / BUNDLED_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build one period's report (the default period unless given)")
    run.add_argument("--period", help="YYYY-MM; default: default_period in params/defaults.yaml")
    run.add_argument("--all", action="store_true", help="build every period that has a params file")
    run.add_argument(
        "--only",
        nargs="+",
        help="re-run only these notebooks (numbers or names) on top of the last published build",
    )
    new = sub.add_parser("new-period", help="write params/<period>.yaml for a calendar month")
    new.add_argument("period")
    new.add_argument("--overwrite", action="store_true")
    val = sub.add_parser("validate", help="validate params files (all periods unless given)")
    val.add_argument("periods", nargs="*")
    sub.add_parser("bundled-data", help="copy the bundled CDNOW data into data/raw/")
    syn = sub.add_parser("synth", help="write a seeded synthetic order log (BG/NBD + Gamma-Gamma population)")
    syn.add_argument("--customers", type=int, required=True)
    syn.add_argument("--seed", type=int, default=42)
    syn.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2022, 1, 1))
    syn.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2023, 12, 31))
    syn.add_argument(
        "--population",
        choices=["cdnow", "busy"],
        default="cdnow",
        help="cdnow: ~2.6 orders per customer in two years; busy: ~10 in three years",
    )
    syn.add_argument("--returns", type=float, default=0.0, help="share of orders returned later (0-1)")
    syn.add_argument(
        "--details",
        action="store_true",
        help="add products, channels, regions and customer attributes (with identifiers)",
    )
    syn.add_argument("--out", type=Path, required=True, help="orders file: .parquet or .csv")
    syn.add_argument("--customers-out", type=Path, help="customer attributes file (with --details)")
    args = parser.parse_args(argv)

    try:
        if args.command == "new-period":
            print(new_period_file(args.period, overwrite=args.overwrite))
            return 0
        if args.command == "validate":
            for period in args.periods or list_periods():
                load_params(period)
                print(f"{period}: ok")
            return 0
        if args.command == "bundled-data":
            print(bundled_data())
            return 0
        if args.command == "synth":
            from helpers import synth

            orders, attributes = synth.generate_to_file(
                args.out,
                args.customers,
                args.seed,
                args.start,
                args.end,
                args.returns,
                args.details,
                synth.POPULATIONS[args.population],
            )
            print(f"{args.out}: {orders:,} orders of {args.customers:,} customers")
            if args.customers_out:
                print(f"{synth.write(attributes, args.customers_out)}: {len(attributes):,} customers")
            return 0
        from helpers.runner import run_period

        periods = list_periods() if args.all else [args.period]
        for period in periods:  # validate everything before building anything
            load_params(period)
        failures = 0
        for period in periods:
            result = run_period(period, only=args.only)
            failures += not result.ok
        if failures:
            return _fail(f"{failures} of {len(periods)} period(s) failed; see the messages above.", 1)
        if len(periods) > 1:
            print(f"all {len(periods)} periods built: {paths.reports_root() / 'index.html'}")
        return 0
    except ParamsError as exc:
        return _fail(str(exc))
    except (RuntimeError, FileNotFoundError) as exc:
        return _fail(str(exc), 1)
