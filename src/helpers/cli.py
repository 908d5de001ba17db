"""Command line: ``python -m helpers run|new-dataset|new-period|validate|stages|bundled-data|synth|
synth-shop|forget|decrypt|rotate-key``.

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
from helpers.config import (
    ParamsError,
    default_dataset,
    default_period,
    list_datasets,
    list_periods,
    load_params,
    new_period_file,
)

BUNDLED_DATASET = "cdnow"
BUNDLED_NAME = "cdnow_transactions.txt"


def _fail(message: str, status: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def bundled_data(root: Path | None = None) -> Path:
    """Copy CDNOW's transaction log from the installed lifetimes package into ``data/raw/cdnow/``."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the lifetimes package is not installed; run `make venv` first.")
    source = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_master.txt"
    target = paths.raw_dir(BUNDLED_DATASET, root) / BUNDLED_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build reports (the default dataset's default period unless told)")
    run.add_argument(
        "--dataset", help="a folder of params/; default: default_dataset in params/defaults.yaml"
    )
    which = run.add_mutually_exclusive_group()
    which.add_argument("--period", help="a period label, e.g. 1998-06; default: the dataset's default_period")
    which.add_argument("--all", action="store_true", help="every period of the dataset, oldest first")
    which.add_argument("--all-datasets", action="store_true", help="every period of every dataset")
    which.add_argument("--default-periods", action="store_true", help="the default period of every dataset")
    run.add_argument(
        "--only",
        nargs="+",
        help="re-run these stages (numbers or names) and every stage downstream of them, on top of the last "
        "published build",
    )
    new = sub.add_parser("new-period", help="write params/<dataset>/<period>.yaml for a calendar month")
    new.add_argument("period", help="YYYY-MM")
    new.add_argument("--dataset", help="default: default_dataset in params/defaults.yaml")
    new.add_argument("--overwrite", action="store_true")
    val = sub.add_parser("validate", help="validate params files without running anything")
    val.add_argument("--dataset", help="only this dataset (default: every dataset)")
    val.add_argument("periods", nargs="*", help="only these periods of the dataset")
    sub.add_parser("stages", help="print the stage catalog: what each stage needs, reads and writes")
    nds = sub.add_parser("new-dataset", help="write params/<name>/ for an order export: its settings guessed")
    nds.add_argument("name", help="the dataset's name (lower case, digits, '_' or '-'), e.g. shop")
    nds.add_argument("--source", required=True, help="the export: a .csv, .txt, .parquet or .xlsx file")
    nds.add_argument("--overwrite", action="store_true", help="replace the files of an existing dataset")
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
    shop = sub.add_parser(
        "synth-shop",
        help="write the demo shop: customers, order lines, events, contacts, feedback and leads with planted "
        "effects (docs/demo_data.md)",
    )
    shop.add_argument("--customers", type=int, required=True)
    shop.add_argument("--seed", type=int, default=42)
    shop.add_argument("--out", type=Path, required=True, help="folder for the files, e.g. data/raw/demo/")
    shop.add_argument(
        "--params",
        type=Path,
        help="also write dataset.yaml and one period file per month here, e.g. params/demo/",
    )
    fgt = sub.add_parser(
        "forget",
        help="erase customers: list them for ingest, rebuild or delete every period, export and notebook "
        "holding them",
    )
    fgt.add_argument("--dataset", help="default: default_dataset in params/defaults.yaml")
    fgt.add_argument("--customer-id", action="append", default=[], help="a customer id as the source has it")
    fgt.add_argument("--from-file", type=Path, help="a file of customer ids, one a line")
    acc = sub.add_parser("access", help="everything the products hold about customers, into one private file")
    acc.add_argument("--dataset", help="default: default_dataset in params/defaults.yaml")
    acc.add_argument("--customer-id", action="append", default=[], help="a customer id as the source has it")
    acc.add_argument("--out", type=Path, required=True, help="the JSON file to write (readable by you only)")
    dec = sub.add_parser("decrypt", help="decrypt an encrypted export or product for a CRM import")
    dec.add_argument("file", type=Path, help="a <name>.csv.enc or .xlsx.enc export, or an encrypted product")
    dec.add_argument("--out", type=Path, help="default: the name without .enc, in the current folder")
    rot = sub.add_parser(
        "rotate-key",
        help="re-encrypt every encrypted product and export under the key now in its variable",
    )
    rot.add_argument("--old-key-env", required=True, help="the environment variable holding the previous key")
    args = parser.parse_args(argv)

    try:
        if args.command == "new-period":
            print(new_period_file(args.period, args.dataset, overwrite=args.overwrite))
            return 0
        if args.command == "validate":
            from helpers.checks import check_period
            from helpers.ingest import IngestError

            datasets = [args.dataset] if args.dataset else list_datasets()
            if args.periods and not args.dataset:
                datasets = [default_dataset()]
            seen: dict = {}
            for dataset in datasets:
                for period in args.periods or list_periods(dataset):
                    try:
                        check_period(load_params(dataset, period), seen=seen)
                    except IngestError as exc:
                        return _fail(str(exc))
                    print(f"{dataset} {period}: ok")
            return 0
        if args.command == "new-dataset":
            from helpers.ingest import IngestError
            from helpers.new_dataset import NewDatasetError, create, summary

            try:
                print("\n".join(summary(create(args.name, args.source, overwrite=args.overwrite))))
            except (NewDatasetError, IngestError) as exc:
                return _fail(str(exc))
            return 0
        if args.command == "stages":
            from helpers.catalog import format_stage_table

            print(format_stage_table())
            return 0
        if args.command == "forget":
            return forget_command(args)
        if args.command == "decrypt":
            return decrypt_command(args)
        if args.command == "access":
            from helpers.privacy import access

            found = access.report(args.dataset or default_dataset(), args.customer_id)
            rows = sum(len(r) for p in found["periods"].values() for r in p["rows"].values())
            print(
                f"{access.write(found, args.out)}: {rows:,} rows in {len(found['periods'])} period(s) "
                "(readable by you only)."
            )
            return 0
        if args.command == "rotate-key":
            return rotate_command(args)
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
        if args.command == "synth-shop":
            return synth_shop_command(args.customers, args.seed, args.out, args.params)
        from helpers.checks import check_period
        from helpers.ingest import IngestError
        from helpers.runner import kept_kernels, run_period

        builds = builds_to_run(args)
        seen: dict = {}
        for dataset, period in builds:  # validate everything before building anything
            try:
                check_period(load_params(dataset, period), seen=seen)
            except IngestError as exc:
                return _fail(str(exc))
        failures = 0
        with kept_kernels():  # the kernels of one period serve the next
            for dataset, period in builds:
                result = run_period(dataset, period, only=args.only)
                failures += not result.ok
        if failures:
            return _fail(f"{failures} of {len(builds)} period(s) failed; see the messages above.", 1)
        if len(builds) > 1:
            print(f"all {len(builds)} periods built: {paths.reports_root() / 'index.html'}")
        return 0
    except ParamsError as exc:
        return _fail(str(exc))
    except ValueError as exc:  # a usage mistake (runner.UsageError): the message says what to run instead
        return _fail(str(exc))
    except (RuntimeError, FileNotFoundError) as exc:
        return _fail(str(exc), 1)


def builds_to_run(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The (dataset, period) pairs a ``run`` command names, in build order (oldest period first)."""
    if args.all_datasets:
        return [(d, p) for d in list_datasets() for p in list_periods(d)]
    if args.default_periods:
        return [(d, default_period(d)) for d in list_datasets()]
    dataset = args.dataset or default_dataset()
    if args.all:
        return [(dataset, p) for p in list_periods(dataset)]
    return [(dataset, args.period or default_period(dataset))]


def synth_shop_command(customers: int, seed: int, out: Path, params: Path | None) -> int:
    """``synth-shop``: the files (and the params) of the demo shop; one line per file written."""
    from helpers import synth_shop

    if customers < 100:
        return _fail("--customers must be at least 100 (the planted effects need people to show in).")
    shop = synth_shop.generate(customers, seed)
    manifest = synth_shop.write(shop, out, customers, seed)
    for name, rows in manifest["rows"].items():
        print(f"{out / name}: {rows:,} rows")
    if params is not None:
        root = paths.project_root()
        folder = paths.resolve(out, root)
        try:
            relative = folder.resolve().relative_to(root)
        except ValueError:
            relative = folder.resolve()
        written = synth_shop.write_params(paths.resolve(params, root), relative.as_posix())
        print(f"{written[0]} and {len(written) - 1} period files")
    return 0


def forget_command(args: argparse.Namespace) -> int:
    """``forget``: erase the customers named and say what was touched (status 2 when it cannot)."""
    from helpers.privacy import consent, forget

    ids = list(args.customer_id)
    try:
        if args.from_file:
            ids += consent.read_id_list(args.from_file)
        dataset = args.dataset or default_dataset()
        params = load_params(dataset, default_period(dataset))
        erasure = forget.forget(dataset, ids)
    except (forget.ErasureError, consent.ConsentError) as exc:
        return _fail(str(exc))
    sources = [
        s.path or f"the database in ${s.url_env}"
        for s in (getattr(params.sources, kind) for kind in type(params.sources).model_fields)
        if s is not None
    ]
    print("\n".join(erasure.lines(sources)))
    return 0


def decrypt_command(args: argparse.Namespace) -> int:
    """``decrypt``: an encrypted export (Fernet) or product (Parquet) written in clear to ``--out``, a file
    only its owner can read; the key comes from the variable named in the file."""
    from helpers.privacy import encryption, permissions

    source: Path = args.file
    if not source.is_file():
        return _fail(f"{source}: file not found.")
    kind = encryption.encrypted_kind(source)
    if kind is None:
        return _fail(f"{source}: not encrypted; use it as it is.")
    target = args.out or Path.cwd() / encryption.plain_name(source).name
    if target.resolve() == source.resolve():
        return _fail(f"{target}: would overwrite the encrypted file; name another with --out.")
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            table = encryption.read_parquet(source)
            permissions.write_private(target, b"")
            pq.write_table(table, target)
        else:
            permissions.write_private(target, encryption.read_bytes(source))
    except encryption.EncryptionError as exc:
        return _fail(str(exc), 1)
    print(f"{target}: decrypted (readable by you only); delete it once imported.")
    return 0


def rotate_command(args: argparse.Namespace) -> int:
    """``rotate-key``: every encrypted file under data/processed and reports re-encrypted under the key
    now in the variable it names, reading those written before with the key in ``--old-key-env``."""
    from helpers.privacy import audit, encryption, keys

    try:
        old = keys.secret(args.old_key_env, "--old-key-env")
    except keys.KeyMissing:
        return _fail(
            f"environment variable {args.old_key_env} (--old-key-env) holds no key of 16 characters or more."
        )
    folders = [paths.processed_root(), paths.reports_root(), paths.interim_root()]
    try:
        rewrapped, current = encryption.rotate(folders, (old,))
    except encryption.EncryptionError as exc:
        return _fail(str(exc), 1)
    audit.record(
        {
            "action": "rotate-key",
            "old_key": keys.fingerprint(old),
            "files_reencrypted": len(rewrapped),
            "files_already_current": len(current),
        }
    )
    print(
        f"Re-encrypted {len(rewrapped):,} file{'s' if len(rewrapped) != 1 else ''} under the current key; "
        f"{len(current):,} {'was' if len(current) == 1 else 'were'} already under it. The old key "
        f"(fingerprint {keys.fingerprint(old)}) opens none of them now: it can be destroyed."
    )
    return 0
