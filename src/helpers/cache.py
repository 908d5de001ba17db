"""The history cache: what ingest and the as-of-independent part of cleaning make of a source is kept
per dataset and source fingerprint, so the periods of a dataset read and clean their shared history
once. The second period of a dataset copies the ingested rows and slices the classified rows by its
own as-of date (:func:`helpers.cleaning.clean_as_of`) instead of reading and parsing every row again.

Where: ``data/interim/<dataset>/.cache/`` (a period label cannot start with a dot), one folder per
entry, named by what it holds and its key:

- ``ingest-<source>-<key>/``: the source's ingested rows (the file 01 publishes) and ingest's facts.
  The key covers the source file (path, size, modification time and a SHA-256 of every byte: a file
  edited in place, even to the same size and with its old modification time put back, gets a new
  key), the source's settings, the pseudonymisation setting (and a keyed digest of the key, never the
  key), the engine and the code that reads sources. A SQL database source is not cached: nothing
  cheap tells whether its rows changed, so it is read every period.
- ``ingest-sources-<key>/``: the other sources (customers, events, interactions, feedback, leads)
  ingested together (:func:`helpers.sources.ingest_sources`: each one's free text is scrubbed of the
  identifiers every source lists), their facts in one file. The key covers every other source's file
  and settings (and transactions' when it lists identifier columns), privacy, the engine and the code
  that reads, maps and scrubs them; no entry when one of them is a SQL database. Their cleaning
  depends on the period (the as-of date, the customer ids of the period's orders): not cached.
- ``clean-<source>-<key>/``: the rows with every cleaning rule applied but the period's (after the
  as-of date, and the amount thresholds computed from the rows up to it). The key covers a SHA-256 of
  the ingested rows' file, the source's and cleaning's settings, the time zone, the engine and the
  cleaning code.

A product built from the cache is the same file as one built without it: the ingested rows are published
as a copy of the entry's file (:func:`publish`) and cleaning's products are always computed from the
entry's file read back, so a cold run and a warm one write the same bytes (tested). Entries are built
under a lock (two periods of a dataset built side by side build an entry once) and written to a temporary
folder that is renamed into place. Pruning: writing an entry removes the other entries of the same
dataset, kind and source, so the cache holds one copy of each source's history (a changed or deleted
source leaves no stale copy behind once the next period is built), except an entry a period running at
the same time reads (periods with different settings built side by side; each process holds a shared
lock on the entries it reads until it ends): the next build removes it. ``clear`` removes a dataset's
cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TextIO

import ibis
import ibis.expr.types as ir

from helpers import catalog, io, paths
from helpers.config import Params

CACHE_FOLDER = ".cache"
VERSION = "1"  # bump when an entry's layout changes
FACTS = "facts.json"
CLASSIFIED = "classified.parquet"
CHUNK = 1 << 20
# The code an entry is computed by: a change to any of these modules makes new keys.
INGEST_CODE = ("ingest", "delimited", "spark_sources", "engine", "schema", "expressions")
CLEAN_CODE = ("cleaning", "engine", "schema", "delimited")
# The other sources (customers, events, interactions, feedback, leads): read by the same code, then
# mapped, scrubbed and pseudonymised by helpers.sources.
SOURCES_CODE = (*INGEST_CODE, "sources/__init__", "sources/mapping", "sources/scrub")


def cache_root(dataset: str, root: Path | None = None) -> Path:
    """``data/interim/<dataset>/.cache/``."""
    return (root or paths.project_root()) / "data" / "interim" / dataset / CACHE_FOLDER


def file_digest(path: Path) -> str:
    """SHA-256 of every byte of a file (about 0.3 GB/s on the project's machine: 6 ms for CDNOW's log,
    about 6 s for a 1.8 GB Parquet file of 100M orders, against minutes to ingest it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _code_digest(modules: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for name in modules:
        digest.update((Path(__file__).parent / f"{name}.py").read_bytes())
    return digest.hexdigest()


def _key(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _file_facts(path: Path) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": file_digest(path)}


def _privacy_facts(params: Params, root: Path | None = None) -> dict:
    privacy = params.privacy
    erasures = paths.erasure_list(params.dataset, root)
    erased = file_digest(erasures) if erasures.is_file() else None  # a new erasure: ingest again
    key_digest = None
    if privacy.pseudonymise_customer_id and os.environ.get(privacy.key_env):
        # A different key gives different pseudonyms: a keyed digest tells keys apart without storing one.
        key_digest = hmac.new(os.environ[privacy.key_env].encode(), b"history-cache", "sha256").hexdigest()
    return {"privacy": privacy.model_dump(mode="json"), "pseudonym_key": key_digest, "erased": erased}


def encrypted(params: Params) -> bool:
    """Whether products are encrypted at rest: then nothing is cached (the cache would keep the rows in
    clear in data/interim), every period reads and cleans its sources itself."""
    return bool(params.privacy.encrypt_products)


def source_fingerprint(params: Params, kind: str, root: Path | None = None) -> dict | None:
    """What an ingested source depends on, as JSON-able facts; None for a source that is not cached
    (a SQL database)."""
    source = getattr(params.sources, kind)
    if source.format == "sql":
        return None
    return {
        "version": VERSION,
        "code": _code_digest(INGEST_CODE),
        "backend": params.engine.backend,
        "source": source.model_dump(mode="json"),
        "file": _file_facts(paths.resolve(source.path, root)),
        **_privacy_facts(params, root),
    }


def other_sources_fingerprint(params: Params, root: Path | None = None) -> dict | None:
    """What the other sources' ingest (:func:`helpers.sources.ingest_sources`) depends on: every
    configured source's settings and file (transactions' too when it lists identifier columns, whose
    values are scrubbed from the others' free text), privacy, the engine and the code. None when there
    is no other source or one of them is a SQL database (not cached)."""
    configured = params.sources.configured()
    if set(configured) <= {"transactions"}:
        return None
    if not configured["transactions"].identifier_columns:  # then the others never read it
        configured = {kind: cfg for kind, cfg in configured.items() if kind != "transactions"}
    if any(cfg.format == "sql" for cfg in configured.values()):
        return None
    return {
        "version": VERSION,
        "code": _code_digest(SOURCES_CODE),
        "backend": params.engine.backend,
        "sources": {kind: cfg.model_dump(mode="json") for kind, cfg in sorted(configured.items())},
        "files": {kind: _file_facts(paths.resolve(cfg.path, root)) for kind, cfg in configured.items()},
        **_privacy_facts(params, root),
    }


# What pages 01 and 02 say (keyed by whether the entry was there already).
INGEST_SENTENCES = {
    True: "The source has not changed since an earlier period read it: its ingested rows come from the "
    "history cache.",
    False: "Read from the source, and kept in the history cache for the dataset's other periods.",
}
OTHERS_SENTENCES = {
    True: "No source has changed since an earlier period read them: their ingested rows come from the "
    "history cache.",
    False: "Read from the sources, and kept in the history cache for the dataset's other periods.",
}
DATABASE_SENTENCE = "A source is a database: read now (a database source is not cached)."
ENCRYPTED_SENTENCE = (
    "Products are encrypted at rest, so nothing is kept in the history cache: the sources are read and "
    "cleaned now."
)
CLEAN_SENTENCES = {
    True: "The same rows were cleaned for an earlier period: every rule but this period's (its as-of date "
    "and the amount thresholds) comes from the history cache.",
    False: "Every row parsed and checked now, and kept in the history cache for the dataset's other periods.",
}


@dataclass
class Entry:
    """A table from the history cache (or, for an uncached source, computed now), its facts, a
    sentence for the page saying which, and the entry's file (None when not cached)."""

    table: ir.Table
    facts: dict
    sentence: str
    path: Path | None = None


def publish(entry: Entry, target: Path) -> Path:
    """Write an entry's table as a product: a copy of the entry's file (the same bytes whether the
    entry was built now or by an earlier period; 10M ingested orders: a file copy instead of reading
    and writing them again), or the table written by the engine when it is not cached."""
    if entry.path is None:
        return io.write_table(entry.table, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(entry.path, tmp)
    tmp.replace(target)
    return target


@contextmanager
def _locked(folder: Path, name: str) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


_IN_USE: dict[Path, TextIO] = {}  # this process's open lock files on the entries it reads


def _in_use_lock(folder: Path, name: str) -> Path:
    return folder / f".{name}.in-use"


def _hold(folder: Path, prefix: str, name: str) -> None:
    """Mark the entry ``name`` as read by this process (a shared lock on its in-use file) until it ends
    or holds another entry of the same source: a period built at the same time with other settings
    (another entry of the same source) then leaves it in place instead of removing it while this
    period's queries still read it."""
    path = _in_use_lock(folder, name)
    if path in _IN_USE:
        return
    for held in [p for p in _IN_USE if p.parent == folder and p.name.startswith(f".{prefix}")]:
        _IN_USE.pop(held).close()  # this process has moved on to another entry of the source
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # noqa: SIM115 - held open (locked) until released
    fcntl.flock(handle, fcntl.LOCK_SH)
    _IN_USE[path] = handle


def _remove_unless_read(folder: Path, other: Path) -> None:
    """Remove the entry ``other`` unless a running period reads it (then the next build removes it)."""
    path = _in_use_lock(folder, other.name)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        shutil.rmtree(other, ignore_errors=True)
        path.unlink(missing_ok=True)  # a reader that opened it before finds the entry gone and rebuilds


def _build(folder: Path, prefix: str, key: str, write) -> tuple[Path, bool]:
    """The entry ``<prefix><key>``: built by ``write(temporary folder)`` unless it exists; the other
    entries with the same prefix are removed, except those another running period reads. Returns the
    folder and whether it was there already."""
    entry = folder / f"{prefix}{key}"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # the ingested rows of customers: their owner's only, like data/processed
    _hold(folder, prefix, entry.name)  # before looking: an entry seen from now on stays while held
    if entry.is_dir():
        return entry, True
    with _locked(folder, prefix.rstrip("-")):
        if entry.is_dir():  # built meanwhile by a run of another period
            return entry, True
        building = folder / f".{prefix}{key}.{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        try:
            write(building)
            building.rename(entry)
        finally:
            shutil.rmtree(building, ignore_errors=True)
        for other in folder.glob(f"{prefix}*"):
            if other != entry:
                _remove_unless_read(folder, other)
    return entry, False


def ingested(con: ibis.BaseBackend, params: Params, root: Path | None = None) -> Entry:
    """The transactions source's ingested rows and ingest's facts (helpers.ingest), from the cache when
    the source and its settings have not changed since a period of the dataset read it, else read now
    and kept."""
    from helpers import ingest

    source = params.sources.transactions
    fingerprint = source_fingerprint(params, "transactions", root)
    if fingerprint is None or encrypted(params):
        table, facts = ingest.ingest_transactions(con, source, params.privacy, root, dataset=params.dataset)
        return Entry(table, facts, ENCRYPTED_SENTENCE if encrypted(params) else DATABASE_SENTENCE)
    name = catalog.file_of("ingested:transactions")

    def write(folder: Path) -> None:
        table, facts = ingest.ingest_transactions(con, source, params.privacy, root, dataset=params.dataset)
        io.write_table(table, folder / name)
        io.write_json(facts, folder / FACTS)

    entry, reused = _build(cache_root(params.dataset, root), "ingest-transactions-", _key(fingerprint), write)
    return Entry(
        io.read_table(con, entry / name), io.read_json(entry / FACTS), INGEST_SENTENCES[reused], entry / name
    )


def ingested_others(con: ibis.BaseBackend, params: Params, root: Path | None = None) -> dict[str, Entry]:
    """Every configured source but transactions, ingested (:func:`helpers.sources.ingest_sources`):
    kind -> entry, from one cache entry for all of them (they are read together: the identifiers of
    every source are scrubbed from each one's free text) while no source and no setting has changed."""
    from helpers import sources

    fingerprint = other_sources_fingerprint(params, root)
    if fingerprint is None or encrypted(params):
        others = sources.ingest_sources(con, params.sources, params.privacy, root, dataset=params.dataset)
        said = ENCRYPTED_SENTENCE if encrypted(params) else DATABASE_SENTENCE
        return {kind: Entry(table, facts, said) for kind, (table, facts) in others.items()}

    def write(folder: Path) -> None:
        others = sources.ingest_sources(con, params.sources, params.privacy, root, dataset=params.dataset)
        for kind, (table, facts) in others.items():
            io.write_table(table, folder / catalog.file_of(f"ingested:{kind}"))
        io.write_json({kind: facts for kind, (_, facts) in others.items()}, folder / FACTS)

    entry, reused = _build(cache_root(params.dataset, root), "ingest-sources-", _key(fingerprint), write)
    facts = io.read_json(entry / FACTS)  # its keys sorted: the sources come back in the params' order
    order = list(params.sources.configured())
    return {
        kind: Entry(
            io.read_table(con, entry / catalog.file_of(f"ingested:{kind}")),
            kind_facts,
            OTHERS_SENTENCES[reused],
            entry / catalog.file_of(f"ingested:{kind}"),
        )
        for kind, kind_facts in sorted(facts.items(), key=lambda item: order.index(item[0]))
    }


def classified(
    con: ibis.BaseBackend, params: Params, kind: str, ingested_path: Path, root: Path | None = None
) -> Entry:
    """The ingested rows (the product at ``ingested_path``) with every cleaning rule applied but the
    period's own (:func:`helpers.cleaning.classify_history`), from the cache when the same rows were
    classified with the same settings before."""
    from helpers import cleaning

    source = getattr(params.sources, kind)
    if encrypted(params):
        mapped = io.read_table(con, ingested_path)
        history = cleaning.classify_history(con, mapped, source, params.cleaning, params.timezone)
        return Entry(history, {}, ENCRYPTED_SENTENCE)
    parts = {
        "version": VERSION,
        "code": _code_digest(CLEAN_CODE),
        "backend": params.engine.backend,
        "ingested_sha256": file_digest(ingested_path),
        "source": source.model_dump(mode="json"),
        "cleaning": params.cleaning.model_dump(mode="json"),
        "timezone": params.timezone,
    }

    def write(folder: Path) -> None:
        mapped = io.read_table(con, ingested_path)
        history = cleaning.classify_history(con, mapped, source, params.cleaning, params.timezone)
        io.write_table(history, folder / CLASSIFIED)

    entry, reused = _build(cache_root(params.dataset, root), f"clean-{kind}-", _key(parts), write)
    return Entry(io.read_table(con, entry / CLASSIFIED), {}, CLEAN_SENTENCES[reused], entry / CLASSIFIED)


def clear(dataset: str, root: Path | None = None) -> None:
    """Remove a dataset's history cache (it is rebuilt by the next period built)."""
    shutil.rmtree(cache_root(dataset, root), ignore_errors=True)


def entries(dataset: str, root: Path | None = None) -> list[str]:
    """The names of a dataset's cache entries (for tests and for looking)."""
    folder = cache_root(dataset, root)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
