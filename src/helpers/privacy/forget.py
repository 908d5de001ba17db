"""Erasure ("the right to be forgotten"): ``python -m helpers forget --dataset D --customer-id X``.

1. The customer's keyed hash (HMAC-SHA256 with the key in ``privacy.key_env``, domain-separated from the
   pseudonym) is added to the dataset's erasure list, ``data/privacy/<dataset>/erased.txt``. Ingest
   leaves every row of a listed customer out of every later run, so a rebuild no longer holds them.
2. Every file of the dataset under data/processed, reports (the executed notebooks, pages and exports
   included) and data/interim is searched for the customer, by their id and by their pseudonym, inside
   encrypted files too.
3. Each published period holding them is rebuilt (oldest first); a period that cannot be rebuilt, a
   hand run's folder and a failed run's notebooks are deleted. A last search checks nothing is left.
4. One audit line records the keyed hashes and what was touched. The raw source is never edited: the
   message says it must be corrected there too (until then every run leaves the customer out).
"""

from __future__ import annotations

import csv
import io as stdio
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from helpers import paths
from helpers.privacy import encryption, keys

PURPOSE = "erasure"
TEXT_SUFFIXES = {".html", ".ipynb", ".txt", ".md", ".jsonl", ".log"}
MIN_DISTINCT_CHARS = 6  # a shorter all-digit id cannot be told apart from other numbers on a page


class ErasureError(RuntimeError):
    """An erasure cannot be done or honoured; the message says why and what to do."""


def erased_hashes(dataset: str, root: Path | None = None) -> set[str]:
    """The keyed hashes on the dataset's erasure list (empty when nobody was erased)."""
    path = paths.erasure_list(dataset, root)
    if not path.is_file():
        return set()
    return {
        line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
    }


def erasure_secret(dataset: str, privacy, erased: int) -> bytes:
    """The key the erasure list is hashed with (``privacy.key_env``); one sentence when it is missing."""
    try:
        return keys.secret(privacy.key_env, "the erasure list")
    except keys.KeyMissing:
        raise ErasureError(
            f"the erasure list of dataset {dataset} holds {erased:,} customer"
            f"{'s' if erased != 1 else ''}, whom ingest leaves out by their keyed hash, but environment "
            f"variable {privacy.key_env} (privacy.key_env) is not set or shorter than 16 characters; "
            "export the key they were erased with."
        ) from None


def erasure_hash(secret: bytes, customer_id: str) -> str:
    return keys.keyed_hash(secret, customer_id, PURPOSE)


def add_to_list(dataset: str, hashes: set[str], root: Path | None = None) -> Path:
    """The erasure list with ``hashes`` added (sorted, each once; owner-only file)."""
    from helpers.privacy.permissions import private_folder, write_private

    path = paths.erasure_list(dataset, root)
    private_folder(path.parent)
    listed = sorted(erased_hashes(dataset, root) | hashes)
    header = "# keyed hashes of erased customers (python -m helpers forget); ingest leaves them out\n"
    return write_private(path, (header + "".join(f"{h}\n" for h in listed)).encode())


def leave_out_erased(table, dataset: str, privacy, root: Path | None = None):
    """The ingested ``table`` without the rows of erased customers, and how many rows that removed
    (0, and the table itself, when nobody is erased). Ids are normalised as cleaning normalises them
    before they are hashed, so " 17850.0" is the customer "17850". Rows without a customer id stay,
    except, in a table with ``anonymous_id`` (behaviour events), the rows of a device an erased
    customer was seen on: stitching would otherwise tie them to nobody, but they are theirs."""
    from helpers.schema import normalise_customer_id

    erased = erased_hashes(dataset, root)
    if not erased:
        return table, 0
    secret = erasure_secret(dataset, privacy, len(erased))
    normalised = normalise_customer_id(table.customer_id.cast("string"))
    ids = table.select(raw=table.customer_id.cast("string"), id=normalised).distinct().to_pandas()
    ids = ids[ids["id"].notna()]
    hits = [raw for raw, cid in zip(ids["raw"], ids["id"]) if erasure_hash(secret, str(cid)) in erased]
    if not hits:
        return table, 0
    gone = table.customer_id.cast("string").isin(hits).fill_null(False)  # a missing id stays (cleaning)
    if "anonymous_id" in table.columns:
        devices = table.filter(gone & table.anonymous_id.notnull()).select("anonymous_id").distinct()
        devices = devices.to_pandas()["anonymous_id"].tolist()
        if devices:
            gone = gone | table.anonymous_id.isin(devices).fill_null(False)
    removed = int(table.filter(gone).count().execute())
    return table.filter(~gone), removed


# ------------------------------------------------------------------------------------------ search


def distinctive(value: str) -> bool:
    """Whether a value can be searched for in a page's text without matching other numbers."""
    return len(value) >= MIN_DISTINCT_CHARS or not value.isdigit()


def _cells_hold(rows, forms: set[str]) -> bool:
    return any(str(cell) in forms for row in rows for cell in row if cell is not None)


def holds(path: Path, forms: set[str]) -> bool:
    """Whether a file holds any of ``forms`` (a customer's id, pseudonym, escaped id): as a value of a
    Parquet column, a CSV or Excel cell, a JSON string, or a whole word of a page's text (for ids that
    can be told apart from other numbers). Encrypted files are decrypted first."""
    name = path.name.removesuffix(encryption.ENCRYPTED_SUFFIX)
    suffix = Path(name).suffix
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.compute as pc

        from helpers.io import read_arrow

        table = read_arrow(path)
        values = pa.array(sorted(forms), pa.string())
        for column in table.columns:
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                if pc.any(pc.is_in(column, value_set=values.cast(column.type))).as_py():
                    return True
        return False
    if suffix not in (".csv", ".xlsx", ".json") and suffix not in TEXT_SUFFIXES:
        return False
    data = encryption.read_bytes(path)
    if suffix == ".csv":
        return _cells_hold(csv.reader(stdio.StringIO(data.decode("utf-8-sig"), newline="")), forms)
    if suffix == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(stdio.BytesIO(data), read_only=True)
        return any(_cells_hold(sheet.iter_rows(values_only=True), forms) for sheet in book.worksheets)
    text = data.decode("utf-8", errors="ignore")
    if suffix == ".json":
        try:
            return bool(_strings(json.loads(text)) & forms)
        except json.JSONDecodeError:
            pass
    searchable = [f for f in forms if distinctive(f)]
    return any(re.search(rf"(?<![0-9A-Za-z]){re.escape(f)}(?![0-9A-Za-z])", text) for f in searchable)


def _strings(value) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values()), set(map(str, value)))
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return {str(value)} if value is not None else set()


def dataset_folders(dataset: str, root: Path | None = None) -> dict[str, list[Path]]:
    """Every folder of the dataset that may hold customer data, by kind: ``published`` period folders
    (products and report, by period), ``failed`` runs' notebooks, ``interim`` hand runs."""
    published: dict[str, list[Path]] = {}
    for base in (paths.processed_root(root), paths.reports_root(root)):
        home = base / dataset
        if home.is_dir():
            for folder in sorted(home.iterdir()):
                if folder.is_dir() and not folder.name.startswith("."):
                    published.setdefault(folder.name, []).append(folder)
    failed = paths.reports_root(root) / ".failed" / dataset
    interim = paths.interim_root(root) / dataset
    return {
        "published": published,
        "failed": sorted(p for p in failed.iterdir() if p.is_dir()) if failed.is_dir() else [],
        "interim": sorted(p for p in interim.iterdir() if p.is_dir()) if interim.is_dir() else [],
    }


def files_holding(folders: list[Path], forms: set[str]) -> list[Path]:
    return [p for folder in folders for p in sorted(folder.rglob("*")) if p.is_file() and holds(p, forms)]


# ------------------------------------------------------------------------------------------ forget


@dataclass
class Erasure:
    """What one ``forget`` did."""

    dataset: str
    hashes: list[str]
    held: dict[str, list[str]] = field(default_factory=dict)  # period or folder -> files that held them
    rebuilt: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)  # folders deleted
    failures: list[str] = field(default_factory=list)

    def lines(self, sources: list[str]) -> list[str]:
        n = len(self.hashes)
        who = "the customer" if n == 1 else f"the {n} customers"
        out = [
            f"Added {who} to the erasure list of {self.dataset} ({paths.erasure_list(self.dataset).name}): "
            "every run leaves them out from now on."
        ]
        if not self.held:
            out.append(f"No product, page, export or notebook of {self.dataset} held {who}.")
        for where, files in self.held.items():
            out.append(
                f"{where}: {len(files)} file{'s' if len(files) != 1 else ''} held {who} "
                f"({', '.join(files[:6])}{' ...' if len(files) > 6 else ''})."
            )
        if self.rebuilt:
            out.append(f"Rebuilt without {who}: {', '.join(self.rebuilt)}.")
        if self.purged:
            out.append(f"Deleted: {', '.join(self.purged)}.")
        out += self.failures
        out.append(
            f"The raw source still holds {who} ({', '.join(sources)}): correct it there too; forget never "
            "edits data/raw, and until the source is corrected every run leaves them out by the erasure list."
        )
        return out


def customer_forms(customer_ids: list[str], dataset: str, root: Path | None) -> set[str]:
    """The ways the customers may appear: their ids, their pseudonyms under each period's key, and the
    escaped forms a CSV export gives an id starting with a formula character."""
    from helpers.config import list_periods, load_params
    from helpers.privacy.exports import ESCAPE

    forms = set(customer_ids)
    for period in list_periods(dataset, root):
        privacy = load_params(dataset, period, root).privacy
        secret_value = os.environ.get(privacy.key_env, "")
        if len(secret_value) >= keys.MIN_SECRET_CHARS:
            forms |= {keys.keyed_hash(secret_value.encode(), i) for i in customer_ids}
    return forms | {ESCAPE + f for f in forms}


def forget(
    dataset: str,
    customer_ids: list[str],
    root: Path | None = None,
    log: Callable[[str], None] = print,
) -> Erasure:
    """Erase customers from a dataset: list them, find them, rebuild or delete what held them, audit."""
    from helpers import runner
    from helpers.config import default_period, list_periods, load_params
    from helpers.privacy import audit
    from helpers.schema import normalised_ids

    base = root or paths.project_root()

    def shown(path: Path) -> str:
        return str(path.relative_to(base))

    ids = sorted({i for i in normalised_ids(customer_ids) if i is not None})
    if not ids:
        raise ErasureError("no customer id to forget: give --customer-id or a file of ids with --from-file.")
    params = load_params(dataset, default_period(dataset, root), root)
    secret = erasure_secret(dataset, params.privacy, len(ids))
    hashes = sorted({erasure_hash(secret, i) for i in ids})
    add_to_list(dataset, set(hashes), root)
    from helpers import cache

    cache.clear(dataset, root)  # the history cache holds ingested rows: nothing may come back from it
    erasure = Erasure(dataset, hashes)
    forms = customer_forms(ids, dataset, root)
    folders = dataset_folders(dataset, root)
    periods = list_periods(dataset, root)
    affected = []
    for period, places in sorted(folders["published"].items(), key=lambda kv: _order(kv[0], periods)):
        found = files_holding(places, forms)
        if found:
            erasure.held[f"{dataset} {period}"] = [shown(p) for p in found]
            affected.append(period)
    for kind in ("failed", "interim"):
        for folder in folders[kind]:
            found = files_holding([folder], forms)
            if found:
                erasure.held[shown(folder)] = [p.name for p in found]
                shutil.rmtree(folder)
                erasure.purged.append(shown(folder))
    for period in affected:
        rebuilt = period in periods and _rebuild(dataset, period, root, log)
        if rebuilt:
            erasure.rebuilt.append(period)
        else:
            for folder in folders["published"][period]:
                shutil.rmtree(folder, ignore_errors=True)
                erasure.purged.append(shown(folder))
            erasure.failures.append(
                f"{dataset} {period} could not be rebuilt, so its products and report were deleted; build it "
                "again once its source is there."
            )
    published = dataset_folders(dataset, root)["published"].values()
    for path in files_holding(
        [folder for places in published for folder in places], forms
    ):  # cannot happen after a rebuild without the customer; deleted rather than kept
        path.unlink()
        erasure.failures.append(f"{shown(path)} still held them after the rebuild and was deleted.")
    if erasure.rebuilt or erasure.purged:
        runner.write_reports_index(root)
    audit.record(
        {
            "action": "forget",
            "dataset": dataset,
            "customers": hashes,
            "periods_rebuilt": erasure.rebuilt,
            "deleted": erasure.purged,
            "files_held": sum(len(v) for v in erasure.held.values()),
            "outcome": "done" if not erasure.failures else "done, with deletions",
        },
        root,
    )
    return erasure


def _order(period: str, periods: list[str]) -> tuple[int, str]:
    return (periods.index(period) if period in periods else len(periods), period)


def _rebuild(dataset: str, period: str, root: Path | None, log: Callable[[str], None]) -> bool:
    from helpers import runner

    try:
        result = runner.run_period(dataset, period, root=root, log=log)
    except Exception as exc:  # a params or usage problem of that period: it is deleted instead
        log(f"[{dataset} {period}] could not be rebuilt: {exc}")
        return False
    return result.ok
