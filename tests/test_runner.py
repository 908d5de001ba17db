"""The runner end to end on the tiny fixture period: products, HTML pages, index pages, accounting,
and a failure that names notebook and cell and leaves the published report untouched."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


def tiny_rows(root: Path) -> pd.DataFrame:
    """The tiny source parsed independently of the pipeline (plain Python), as the oracle."""
    lines = (root / "data" / "raw" / "cdnow_transactions.txt").read_text().splitlines()[1:]
    rows = [ln.split() for ln in lines if ln.strip()]
    return pd.DataFrame(rows, columns=["customer_id", "date", "cds", "dollars"]).astype({"dollars": float})


@pytest.fixture(scope="module")
def built(built_tiny: Path) -> Path:
    return built_tiny


def test_products_are_published_with_exact_accounting(built: Path) -> None:
    products = built / "data" / "processed" / "1998-06"
    oracle = tiny_rows(built)
    quality = json.loads((products / "02_quality.json").read_text())
    zero = int((oracle["dollars"] == 0).sum())
    assert quality["rows_in"] == len(oracle)
    assert quality["rows_rejected"] == zero == quality["rejected_by_reason"]["zero_amount"]
    assert quality["rows_kept"] == len(oracle) - zero
    kept = pd.read_parquet(products / "02_transactions.parquet")
    rejected = pd.read_parquet(products / "02_rejected.parquet")
    assert len(kept) + len(rejected) == len(oracle)
    assert sorted(kept["source_row"].tolist() + rejected["source_row"].tolist()) == list(range(1, len(oracle) + 1))
    assert kept["amount"].sum() == pytest.approx(oracle["dollars"].sum())
    assert kept["customer_id"].nunique() == oracle.loc[oracle["dollars"] != 0, "customer_id"].nunique()
    assert not list((built / "data" / "processed").glob(".staging/*")), "staging folders must be cleaned up"


def test_report_pages_hide_code_and_embed_images(built: Path) -> None:
    report = built / "reports" / "1998-06"
    run = json.loads((report / "run.json").read_text())
    stages = [s["notebook"] for s in run["stages"]]
    assert stages[:2] == ["01_ingest", "02_cleaning"]
    for stage in stages:
        page = (report / f"{stage}.html").read_text()
        assert "Traceback" not in page and "Error" not in re.sub(r"<(script|style)[\s\S]*?</\1>", "", page)
        assert "from helpers import" not in page, "code must be hidden"
        assert not re.search(r"<img[^>]+src=['\"](?!data:)", page), "images must be embedded"
    assert "data:image/png;base64," in (report / "02_cleaning.html").read_text()
    index = (report / "index.html").read_text()
    assert index == (report / "07_report.html").read_text()  # the stakeholder page is the period's page
    for stage in stages[:-1]:
        assert f"{stage}.html" in index  # which links every stage's own page
    top = (built / "reports" / "index.html").read_text()
    assert "1998-06/index.html" in top


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_failure_names_notebook_and_cell_and_keeps_the_published_report(built: Path) -> None:
    report, products = built / "reports" / "1998-06", built / "data" / "processed" / "1998-06"
    before = digest(report), digest(products)
    period_file = built / "params" / "1998-06.yaml"
    original = period_file.read_text()
    period_file.write_text(original + "sources:\n  transactions:\n    path: data/raw/missing.txt\n")
    try:
        done = subprocess.run([sys.executable, "-m", "helpers", "run", "--period", "1998-06"], capture_output=True,
                              text=True, env={**os.environ, "CA_PROJECT_ROOT": str(built)}, timeout=600)
    finally:
        period_file.write_text(original)
    assert done.returncode == 1
    failed = built / "reports" / ".failed" / "1998-06" / "notebooks" / "01_ingest.ipynb"
    assert ("01_ingest.ipynb failed in cell 6 (con = engine.connect(params.engine)): IngestError: data/raw/missing.txt: file not found; put the file "
            "there or fix 'sources.transactions.path' in params.") in done.stdout
    assert f"The executed notebook is saved at {failed}; the published report of 1998-06 is unchanged." in done.stdout
    assert failed.is_file()
    assert "Traceback" not in done.stderr
    assert (digest(report), digest(products)) == before
