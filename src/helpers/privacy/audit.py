"""The audit trail: ``reports/audit.jsonl``, one JSON line per run, erasure and retention action, so
that the people who run this can show what was built from which data, when, by whom and with what
outcome. Lines are only ever appended (under a lock, so two runs never interleave); the file is the
owner's only (0600). Customer ids appear only as keyed hashes."""

from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from helpers import paths

FIRST_BYTES = 1 << 20  # a source file's fingerprint hashes its first megabyte (size and mtime say the rest)


def os_user() -> str:
    """The operating-system user running this process."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a container)
        return str(os.getuid())


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def params_digest(params) -> str:
    """SHA-256 of the period's validated params (every setting; secrets are never in them)."""
    text = json.dumps(params.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_fingerprint(path: Path) -> dict[str, Any]:
    """Size, modification time and SHA-256 of the first megabyte of a file."""
    stat = path.stat()
    with open(path, "rb") as handle:
        head = hashlib.sha256(handle.read(FIRST_BYTES)).hexdigest()
    return {
        "size": stat.st_size,
        "mtime": dt.datetime.fromtimestamp(stat.st_mtime, dt.timezone.utc).isoformat(timespec="seconds"),
        "sha256_first_mb": head,
    }


def source_fingerprints(params, root: Path | None = None) -> dict[str, dict[str, Any]]:
    """Each configured source: its file's fingerprint, or the database it names (table or a hash of the
    query) when it is not a file."""
    found = {}
    for kind in type(params.sources).model_fields:
        source = getattr(params.sources, kind)
        if source is None:
            continue
        if source.path and source.format != "sql":
            path = paths.resolve(source.path, root)
            entry = {"path": source.path, "format": source.format}
            entry.update(file_fingerprint(path) if path.is_file() else {"missing": True})
        else:
            entry = {"format": source.format, "url_env": source.url_env}
        if source.table:
            entry["table"] = source.table
        if source.query:
            entry["query_sha256"] = hashlib.sha256(source.query.encode("utf-8")).hexdigest()
        found[kind] = entry
    return found


def record(entry: dict[str, Any], root: Path | None = None) -> dict[str, Any]:
    """Append one line (time and OS user first) to ``reports/audit.jsonl``; returns the line's data."""
    line = {"time": now(), "user": os_user(), **entry}
    target = paths.audit_file(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, (json.dumps(line, sort_keys=False, default=str) + "\n").encode("utf-8"))
    finally:
        os.close(fd)  # closing releases the lock
    return line


def run_entry(
    params,
    outcome: str,
    products: list[str],
    message: str = "",
    withdrawn: list[str] | None = None,
    seconds: float | None = None,
    root: Path | None = None,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """The line of one run: dataset, period, params digest, source fingerprints, what it published."""
    entry: dict[str, Any] = {
        "action": "run",
        "dataset": params.dataset,
        "period": params.period,
        "outcome": outcome,
        "params_sha256": params_digest(params),
        "sources": source_fingerprints(params, root),
        "products": products,
        "privacy": {
            "customer_ids": "pseudonymised" if params.privacy.pseudonymise_customer_id else "in clear",
            "products_encrypted": params.privacy.encrypt_products,
            "exports_encrypted": params.privacy.encrypt_exports,
        },
    }
    if only:
        entry["only"] = only
    if seconds is not None:
        entry["seconds"] = seconds
    if message:
        entry["message"] = message
    if withdrawn:
        entry["withdrawn"] = withdrawn
    return entry


def read(root: Path | None = None) -> list[dict[str, Any]]:
    """Every line of the audit trail, oldest first."""
    target = paths.audit_file(root)
    if not target.is_file():
        return []
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines() if line.strip()]
