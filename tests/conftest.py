"""Shared fixtures: small hand-built sources, and a tiny copy of the project that runs the real
notebooks on the first few hundred CDNOW customers (the 'tiny fixture period')."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import config, engine

REPO = Path(__file__).resolve().parents[1]
CDNOW = REPO / "data" / "raw" / "cdnow_transactions.txt"
TINY_CUSTOMERS = 400  # CDNOW customers 00001..00400: about 1,200 rows, ~110 repeat buyers


def cdnow_head(max_customer: int = TINY_CUSTOMERS) -> str:
    """The CDNOW log restricted to its first customers, in the original whitespace format."""
    if not CDNOW.is_file():
        raise FileNotFoundError(f"{CDNOW} is missing; run `make data` first.")
    lines = CDNOW.read_text().splitlines()
    kept = [lines[0]] + [ln for ln in lines[1:] if ln.split() and int(ln.split()[0]) <= max_customer]
    return "\n".join(kept) + "\n"


def make_project(folder: Path, periods: tuple[str, ...] = ("1998-05", "1998-06")) -> Path:
    """A copy of the project (params, notebooks) with the tiny CDNOW extract as its data."""
    (folder / "params").mkdir(parents=True)
    shutil.copyfile(REPO / "params" / "defaults.yaml", folder / "params" / "defaults.yaml")
    for period in periods:
        config.new_period_file(period, root=folder)
    shutil.copytree(
        REPO / "notebooks", folder / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    raw = folder / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "cdnow_transactions.txt").write_text(cdnow_head())
    return folder


@pytest.fixture
def tiny_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "project")
    monkeypatch.setenv("CA_PROJECT_ROOT", str(root))
    return root


@pytest.fixture(scope="session")
def built_tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project with period 1998-06 built once by the runner (shared by the runner and
    browser tests; tests that change it must restore it)."""
    import os

    from helpers import runner

    root = make_project(tmp_path_factory.mktemp("built") / "project")
    os.environ["CA_PROJECT_ROOT"] = str(root)
    try:
        result = runner.run_period("1998-06", root=root, log=lambda _: None)
    finally:
        del os.environ["CA_PROJECT_ROOT"]
    assert result.ok, result.message
    return root


@pytest.fixture
def con():
    return engine.connect()


def ingested(rows: list[tuple], source_file: str = "x.csv"):
    """An ingested (all-text) table, as 01 writes it, from (customer_id, order_id, order_ts, amount) rows."""
    import ibis
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_ts", "amount"], dtype=object)
    frame["source_file"] = source_file
    frame["source_row"] = range(1, len(frame) + 1)
    return ibis.memtable(
        frame,
        schema={
            "customer_id": "string",
            "order_id": "string",
            "order_ts": "string",
            "amount": "string",
            "source_file": "string",
            "source_row": "int64",
        },
    )


@pytest.fixture
def write(tmp_path: Path):
    """Write a small source file (text or bytes) and return its path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding=encoding)
        return path

    return _write
