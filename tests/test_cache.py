"""The history cache (helpers.cache): the second period of a dataset reuses the ingested and classified
history and only slices it by its own as-of date; a changed source (even edited in place to the same
size with its old modification time put back) or changed settings make new entries; and the products
are the same bytes as a build without the cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from helpers import cache, catalog, cleaning, engine, io
from helpers.config import load_params

from conftest import DATASET, MIRROR, make_project, restricted_folder, run_on_spark

PRODUCTS = ["ingested:transactions", "ingest_facts", "clean:transactions", "rejected:transactions", "quality"]


def build_01_02(root: Path, period: str, folder: Path) -> tuple[str, str]:
    """What notebooks 01 and 02 do for a period, writing their products to ``folder``; returns the
    two cache sentences the pages print."""
    params = load_params(DATASET, period, root)
    con = engine.connect(params.engine)
    ingested = cache.ingested(con, params, root)
    folder.mkdir(parents=True, exist_ok=True)
    path = cache.publish(ingested, folder / catalog.file_of("ingested:transactions"))
    io.write_json(ingested.facts, folder / catalog.file_of("ingest_facts"))
    history = cache.classified(con, params, "transactions", path, root)
    kept, rejected, quality = cleaning.clean_as_of(
        con, history.table, io.read_table(con, path), params.cleaning, params.as_of_exclusive
    )
    io.write_table(kept, folder / catalog.file_of("clean:transactions"))
    io.write_table(rejected, folder / catalog.file_of("rejected:transactions"))
    io.write_json(quality, folder / catalog.file_of("quality"))
    return ingested.sentence, history.sentence


def files(folder: Path) -> dict[str, bytes]:
    return {ref: (folder / catalog.file_of(ref)).read_bytes() for ref in PRODUCTS}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project", periods=("1997-03", "1998-05", "1998-06"))


def test_the_second_period_reuses_the_history_and_publishes_the_same_bytes(
    project: Path, tmp_path: Path
) -> None:
    first = build_01_02(project, "1998-05", tmp_path / "may")
    assert first[0].startswith("Read from the source") and first[1].startswith("Every row parsed")
    entries = cache.entries(DATASET, project)
    assert [e.split("-")[:2] for e in entries] == [["clean", "transactions"], ["ingest", "transactions"]]
    warm = build_01_02(project, "1998-06", tmp_path / "june-warm")
    assert warm[0].startswith("The source has not changed") and warm[1].startswith("The same rows")
    assert cache.entries(DATASET, project) == entries
    early = build_01_02(project, "1997-03", tmp_path / "march-warm")  # most of the history is after it
    assert early[1].startswith("The same rows")
    cache.clear(DATASET, project)
    assert build_01_02(project, "1998-06", tmp_path / "june-cold")[1].startswith("Every row parsed")
    build_01_02(project, "1997-03", tmp_path / "march-cold")
    assert files(tmp_path / "june-warm") == files(tmp_path / "june-cold")
    assert files(tmp_path / "march-warm") == files(tmp_path / "march-cold")
    march = json.loads((tmp_path / "march-cold" / catalog.file_of("quality")).read_text())
    june = json.loads((tmp_path / "june-cold" / catalog.file_of("quality")).read_text())
    assert march["rows_in"] == june["rows_in"] == 1395  # the tiny extract's every row, in both
    assert (
        march["rejected_by_reason"]["after_as_of"]
        == march["rows_rejected"]
        == 1395 - march["rows_kept"]
        > 700
    )
    assert june["rows_rejected"] == 0 and june["rows_kept"] == 1395
    rejected = pd.read_parquet(tmp_path / "march-cold" / catalog.file_of("rejected:transactions"))
    after = rejected[rejected["reject_reason"] == "after_as_of"]
    assert after["order_ts"].notna().all() and after["amount"].notna().all()  # their text, read back
    assert rejected["source_row"].is_monotonic_increasing


def test_on_spark_the_second_period_reuses_the_history_and_publishes_the_same_bytes(
    spark, project: Path, tmp_path: Path
) -> None:
    """The cache on the Spark engine: entries written and read by Spark, the warm period's products the
    same bytes as its cold build's, and the same rows as DuckDB's."""
    run_on_spark(project)
    assert build_01_02(project, "1998-05", tmp_path / "may")[1].startswith("Every row parsed")
    warm = build_01_02(project, "1998-06", tmp_path / "june-warm")
    assert warm[0].startswith("The source has not changed") and warm[1].startswith("The same rows")
    cache.clear(DATASET, project)
    assert build_01_02(project, "1998-06", tmp_path / "june-cold")[1].startswith("Every row parsed")
    assert files(tmp_path / "june-warm") == files(tmp_path / "june-cold")
    duck = make_project(tmp_path / "duck", periods=("1998-06",))
    build_01_02(duck, "1998-06", tmp_path / "june-duckdb")
    for ref in ("clean:transactions", "rejected:transactions"):
        on_spark = pd.read_parquet(tmp_path / "june-warm" / catalog.file_of(ref))
        on_duckdb = pd.read_parquet(tmp_path / "june-duckdb" / catalog.file_of(ref))
        pd.testing.assert_frame_equal(on_spark, on_duckdb, check_dtype=False)
    quality = [
        json.loads((tmp_path / f / catalog.file_of("quality")).read_text())
        for f in ("june-warm", "june-duckdb")
    ]
    for key in ("rows_in", "rows_kept", "rows_rejected", "rejected_by_reason", "revenue_kept"):
        assert quality[0][key] == quality[1][key], key
    assert quality[0]["rows_in"] == 1395


def edit_in_place_same_size_and_mtime(path: Path) -> None:
    """Change one amount's digit without changing the file's size, then put its modification time back
    (as a copy that preserves times, or a careful hand edit, would)."""
    stat = path.stat()
    text = path.read_text()
    line = text.splitlines()[1]  # ' 00001 19970101  1   11.77'
    edited = line[:-1] + ("8" if line[-1] != "8" else "9")
    path.write_text(text.replace(line, edited, 1))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns


def test_a_source_edited_in_place_with_the_same_size_and_mtime_is_read_again(
    project: Path, tmp_path: Path
) -> None:
    build_01_02(project, "1998-05", tmp_path / "before")
    before = cache.entries(DATASET, project)
    source = project / "data" / "raw" / DATASET / "cdnow_transactions.txt"
    edit_in_place_same_size_and_mtime(source)
    sentences = build_01_02(project, "1998-06", tmp_path / "after")
    assert sentences[0].startswith("Read from the source") and sentences[1].startswith("Every row parsed")
    after = cache.entries(DATASET, project)
    assert len(after) == 2 and not set(after) & set(before)  # new entries; the stale ones pruned
    amounts = [
        pd.read_parquet(tmp_path / folder / catalog.file_of("clean:transactions"))["amount"].iloc[0]
        for folder in ("before", "after")
    ]
    assert amounts[0] == 11.77 and amounts[1] == 11.78


def test_changed_cleaning_settings_reclassify_and_changed_source_settings_reingest(
    project: Path, tmp_path: Path
) -> None:
    build_01_02(project, "1998-05", tmp_path / "one")
    ingest_entry = [e for e in cache.entries(DATASET, project) if e.startswith("ingest-")]
    june = project / "params" / DATASET / "1998-06.yaml"
    june.write_text(june.read_text() + "cleaning: {zero_amount: keep}\n")
    sentences = build_01_02(project, "1998-06", tmp_path / "two")
    assert sentences[0].startswith("The source has not changed") and sentences[1].startswith("Every row")
    assert [e for e in cache.entries(DATASET, project) if e.startswith("ingest-")] == ingest_entry
    quality = json.loads((tmp_path / "two" / catalog.file_of("quality")).read_text())
    assert quality["rejected_by_reason"]["zero_amount"] == 0
    dataset = project / "params" / DATASET / "dataset.yaml"
    dataset.write_text(dataset.read_text().replace("quantity: number_of_cds", "quantity: null"))
    sentences = build_01_02(project, "1998-06", tmp_path / "three")
    assert sentences[0].startswith("Read from the source")
    assert "quantity" not in pd.read_parquet(tmp_path / "three" / catalog.file_of("clean:transactions"))


def test_the_runner_reuses_a_datasets_history_and_never_another_datasets(built_tiny: Path) -> None:
    """In the built project (cdnow 1998-05, then mirror 1998-06, then cdnow 1998-06), the second cdnow
    period reused cdnow's history, and the mirror dataset, built between them with the same file name,
    customer ids and period label, read its own source."""
    import nbformat

    def printed(dataset: str, period: str, stage: str) -> str:
        path = restricted_folder(built_tiny, period, dataset) / "notebooks" / f"{stage}.ipynb"
        cells = nbformat.read(path, as_version=4).cells
        return "".join(o.get("text", "") for c in cells if c.cell_type == "code" for o in c.outputs)

    assert "Read from the source, and kept" in printed(DATASET, "1998-05", "01_ingest")
    assert "Every row parsed and checked now" in printed(DATASET, "1998-05", "02_cleaning")
    assert "Read from the source, and kept" in printed(MIRROR, "1998-06", "01_ingest")
    assert "The source has not changed since" in printed(DATASET, "1998-06", "01_ingest")
    assert "The same rows were cleaned for an earlier period" in printed(DATASET, "1998-06", "02_cleaning")
    assert cache.cache_root(MIRROR, built_tiny) == built_tiny / "data" / "interim" / MIRROR / ".cache"


def test_the_other_sources_are_ingested_once_until_one_of_them_changes(project: Path, tmp_path: Path) -> None:
    """Customers and feedback (scrubbed with the customers' names) read by the first period, reused by
    the second; the published products are the same bytes; editing the customers file (whose names
    the feedback's scrubbing uses) makes a new entry for both."""
    raw = project / "data" / "raw" / DATASET
    (raw / "customers.csv").write_text("id,name\n00001,Ann Lee\n00002,Bo Li\n")
    (raw / "feedback.csv").write_text(
        "at,cust,type,comment\n1998-01-02,00001,review,ann lee says hi\n1998-01-03,00002,review,ok\n"
    )
    dataset = project / "params" / DATASET / "dataset.yaml"
    block = (
        "  customers:\n    format: csv\n    path: data/raw/cdnow/customers.csv\n"
        "    columns: {customer_id: id}\n    identifier_columns: [name]\n"
        "  feedback:\n    format: csv\n    path: data/raw/cdnow/feedback.csv\n"
        "    columns: {feedback_ts: at, customer_id: cust, kind: type, text: comment}\n"
    )
    dataset.write_text(dataset.read_text().replace("\ncleaning:", f"\n{block}\ncleaning:", 1))

    def build(period: str, folder: Path) -> dict[str, cache.Entry]:
        params = load_params(DATASET, period, project)
        others = cache.ingested_others(engine.connect(params.engine), params, project)
        for kind, entry in others.items():
            cache.publish(entry, folder / catalog.file_of(f"ingested:{kind}"))
        return others

    first = build("1998-05", tmp_path / "may")
    assert sorted(first) == ["customers", "feedback"]
    assert first["feedback"].sentence.startswith("Read from the sources")
    assert first["feedback"].table.to_pandas()["text"].tolist() == ["[IDENTIFIER] says hi", "ok"]
    assert first["customers"].facts["identifier_columns_dropped"] == ["name"]
    entry = [e for e in cache.entries(DATASET, project) if e.startswith("ingest-sources-")]
    assert len(entry) == 1
    second = build("1998-06", tmp_path / "june")
    assert second["customers"].sentence.startswith("No source has changed")
    for kind in ("customers", "feedback"):
        name = catalog.file_of(f"ingested:{kind}")
        assert (tmp_path / "may" / name).read_bytes() == (tmp_path / "june" / name).read_bytes()
    (raw / "customers.csv").write_text("id,name\n00001,Ann Lea\n00002,Bo Li\n")  # same size
    third = build("1998-06", tmp_path / "june-again")
    assert third["feedback"].sentence.startswith("Read from the sources")
    assert third["feedback"].table.to_pandas()["text"].tolist() == ["ann lee says hi", "ok"]
    after = [e for e in cache.entries(DATASET, project) if e.startswith("ingest-sources-")]
    assert len(after) == 1 and after != entry


def test_turning_encryption_on_removes_the_history_kept_in_clear(project: Path, tmp_path: Path) -> None:
    """A history cached before privacy.encrypt_products was turned on holds the rows in clear: the next
    run removes it first, even when it is then refused (here: the key is not set)."""
    from helpers import runner

    build_01_02(project, "1998-05", tmp_path / "may")
    assert cache.entries(DATASET, project)
    dataset = project / "params" / DATASET / "dataset.yaml"
    dataset.write_text(
        dataset.read_text() + "\nprivacy:\n  encrypt_products: true\n  encryption_key_env: CA_TEST_NO_KEY\n"
    )
    os.environ.pop("CA_TEST_NO_KEY", None)
    result = runner.run_period(DATASET, "1998-06", root=project, log=lambda _: None)
    assert not result.ok and "CA_TEST_NO_KEY" in result.message
    assert not cache.cache_root(DATASET, project).exists()
