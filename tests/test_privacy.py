"""Privacy end to end: orders and customer attributes that carry names, e-mail addresses, phone numbers
and postal addresses go through the runner, and no such value reaches any product under
data/processed/<dataset>/<period>/ or any page under reports/<dataset>/<period>/. With
pseudonymise_customer_id on, the original customer ids do not appear either (nor the key); asking for it
without the key is one clear sentence. A rerun of the stages after cleaning on the same products gives
the same products (and the same pseudonyms).

The scan is binary-safe: every file is read as bytes and searched for each value's UTF-8 bytes; a
Parquet file is also decoded (its strings may be compressed), a ZIP container (an .xlsx export) and a
gzip file are searched inside. Text drawn inside images (base64 PNG charts) cannot be searched this
way. Positive controls show the scan would find a value that is there.

Ids look like ``CUST-000123`` so that a value cannot turn up by chance inside another number.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import io as stdio
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers import catalog

from conftest import make_project, period_file, products, report_folder
from privacy_inputs import SOURCES, write_inputs

KEY_ENV, KEY = "CA_TEST_PSEUDONYM_KEY", "privacy-test-key-6c1f0e9a2b"
CLEAR, PSEUDONYMISED, NO_KEY = "1998-05", "1998-06", "1998-04"


def searchable(path: Path) -> list[bytes]:
    """The file's bytes, plus what is inside it when its content may be compressed or encoded."""
    data = path.read_bytes()
    found = [data]
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        found.append(table.to_pandas().astype(str).to_csv(index=False).encode("utf-8"))
        found.append(str(table.schema.metadata).encode("utf-8"))
    if zipfile.is_zipfile(stdio.BytesIO(data)):
        with zipfile.ZipFile(stdio.BytesIO(data)) as archive:
            found += [archive.read(name) for name in archive.namelist()]
    if data[:2] == b"\x1f\x8b":
        found.append(gzip.decompress(data))
    return found


MARKERS = ["Quillfeather", "quillfeather", "+44 7700 9", "Quokka Lane", "CUST-"]


def scan(folders: list[Path], values: list[str]) -> dict[str, list[str]]:
    """File -> the values found in it (empty when nothing leaks). Every generated value holds one of
    MARKERS, so a file without any marker cannot hold a value: only the others are searched value by
    value (1,600 values in megabytes of pages would otherwise take a while)."""
    needles = [(value, value.encode("utf-8")) for value in values]
    markers = [m.encode() for m in MARKERS if any(m in value for value in values)]
    if not all(any(m.decode() in value for m in markers) for value in values):
        markers = [needle for _, needle in needles]  # values without a marker: search each one everywhere
    leaks = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                blobs = [blob for blob in searchable(path) if any(m in blob for m in markers)]
                hits = [value for value, needle in needles if any(needle in blob for blob in blobs)]
                if hits:
                    leaks[str(path)] = hits
    return leaks


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """Three periods built at once in one tiny project: ids pseudonymised, ids in clear (where
    identifiers are dropped and ids kept, the control), and pseudonymisation asked for without its key
    (which must fail)."""
    root = make_project(
        tmp_path_factory.mktemp("privacy") / "project", periods=(NO_KEY, CLEAR, PSEUDONYMISED)
    )
    identifiers, ids = write_inputs(root)
    for period, privacy in [
        (CLEAR, ""),
        (PSEUDONYMISED, f"privacy:\n  pseudonymise_customer_id: true\n  key_env: {KEY_ENV}\n"),
        (NO_KEY, "privacy:\n  pseudonymise_customer_id: true\n  key_env: CA_TEST_UNSET_KEY\n"),
    ]:
        with period_file(root, period).open("a") as params:
            params.write(SOURCES + privacy)
    env = {**os.environ, "CA_PROJECT_ROOT": str(root), KEY_ENV: KEY}
    env.pop("CA_TEST_UNSET_KEY", None)
    runs = {
        period: subprocess.Popen(
            [sys.executable, "-m", "helpers", "run", "--period", period],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for period in (PSEUDONYMISED, CLEAR, NO_KEY)
    }
    done = {period: (run.wait(timeout=900), *run.communicate()) for period, run in runs.items()}
    return root, identifiers, ids, done


def folders(root: Path, period: str) -> list[Path]:
    return [products(root, period), report_folder(root, period)]


def test_no_identifier_reaches_any_product_or_page(built) -> None:
    root, identifiers, ids, done = built
    for period in (CLEAR, PSEUDONYMISED):
        code, out, err = done[period]
        assert code == 0, out + err
        pages = list(report_folder(root, period).rglob("*.html"))
        assert len(pages) >= 3 and (products(root, period) / "01_customers.parquet").is_file()
        assert len(identifiers) == 4 * len(ids) == 4 * 400
        assert scan(folders(root, period), identifiers) == {}
        # Positive control: the scan finds what is there, inside compressed Parquet too.
        found = scan(folders(root, period), ["Freedonia", "Sylvania"])
        assert any(path.endswith("01_customers.parquet") for path in found)
    # With pseudonymisation off the ids are the customers' keys and appear in clear (control for the next
    # test).
    found = scan(folders(root, CLEAR), ids[:3])
    assert any(path.endswith("02_transactions.parquet") for path in found)


def test_pseudonymised_ids_never_appear_in_clear(built) -> None:
    root, identifiers, ids, done = built
    run = json.loads((report_folder(root, PSEUDONYMISED) / "run.json").read_text())
    stages = [s["notebook"] for s in run["stages"]]
    assert run["skipped"]["04_behaviour"] == "no events or leads source"  # orders and customers only
    assert run["skipped"]["05_voice"] == "no interactions or feedback source"
    notebooks = sorted(p.stem for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert stages == [n for n in notebooks if n not in run["skipped"]], "every stage that can run ran"
    assert scan(folders(root, PSEUDONYMISED), ids + [KEY]) == {}
    # The keyed hashes are there instead: HMAC-SHA256(key, id), first 32 hex digits.
    hashed = hmac.new(KEY.encode(), ids[0].encode(), hashlib.sha256).hexdigest()[:32]
    found = scan(folders(root, PSEUDONYMISED), [hashed])
    assert any(path.endswith("02_transactions.parquet") for path in found)
    assert any(path.endswith("01_customers.parquet") for path in found)


def test_pseudonymisation_without_its_key_is_one_clear_sentence(built) -> None:
    """The run checks its keys before it starts a kernel (fail closed): nothing is built."""
    root, _, _, done = built
    code, out, err = done[NO_KEY]
    assert code == 1
    assert (
        "[cdnow 1998-04] FAILED privacy.pseudonymise_customer_id is on but environment variable "
        "CA_TEST_UNSET_KEY is not set; export a secret of at least 16 characters. Nothing was built or "
        "published; nothing of cdnow 1998-04 has been published."
    ) in out
    assert "building" not in out and "Traceback" not in out + err
    assert not report_folder(root, NO_KEY).exists() and not products(root, NO_KEY).exists()


def digests(folder: Path, pattern: str) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.glob(pattern))
        if p.is_file()
    }


def test_rerun_of_the_later_stages_gives_byte_identical_products(built) -> None:
    """Every stage after cleaning re-run (``--only 03 07``: they and every stage downstream, on the
    published build) gives
    byte-identical products: every Parquet and JSON file of the period, and the CSV exports behind the
    report's lists (so the report's numbers are the same to the last bit).

    Made hard on purpose: for the rerun, 02_transactions.parquet holds the same rows cut into row groups
    of 25 (one group before: DuckDB writes 122,880 rows per group) and the engine runs 4 threads, so
    the per-customer aggregations add each customer's rows in a different, varying order. With money
    added as float64 (before helpers.engine.exact_sum), the RFM table, the churn warning, the CLV table
    and model and two exports then differed in their last bits; exact sums do not depend on the order."""
    root, _, _, done = built
    assert done[PSEUDONYMISED][0] == 0, done[PSEUDONYMISED][1] + done[PSEUDONYMISED][2]
    folder, pages = products(root, PSEUDONYMISED), report_folder(root, PSEUDONYMISED) / "restricted"
    before = {
        **digests(folder, "*.parquet"),
        **digests(folder, "*.json"),
        **digests(pages, "exports/*.csv"),
    }
    # 01 and 02 of orders and customers (6), 03 (2), 07 (2), 08 (2), 09 (4: scores, churn warning, actions,
    # their effects)
    assert len([n for n in before if n.endswith(".parquet")]) == 16 and len(before) >= 20
    skipped = json.loads((report_folder(root, PSEUDONYMISED) / "run.json").read_text())["skipped"]
    notebooks = (root / "notebooks").glob("[0-9][0-9]_*.ipynb")
    later = sorted(p.stem[:2] for p in notebooks if p.stem[:2] >= "03" and p.stem not in skipped)
    assert later == ["03", "07", "08", "09", catalog.REPORT_STAGE], "the report stage is re-run too"

    clean = folder / "02_transactions.parquet"
    original = clean.read_bytes()
    table = pq.read_table(clean)
    assert pq.ParquetFile(clean).metadata.num_row_groups == 1 and table.num_rows > 1000
    pq.write_table(table, clean, row_group_size=25)
    assert pq.ParquetFile(clean).metadata.num_row_groups > 40 and pq.read_table(clean).equals(table)
    params = period_file(root, PSEUDONYMISED)
    settings = params.read_text()
    params.write_text(settings + "engine:\n  threads: 4\n")
    started = time.time()
    try:
        env = {**os.environ, "CA_PROJECT_ROOT": str(root), KEY_ENV: KEY}
        rerun = subprocess.run(
            [sys.executable, "-m", "helpers", "run", "--period", PSEUDONYMISED, "--only", "03", "07"],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        params.write_text(settings)
        clean.write_bytes(original)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    rewritten = sorted(
        p.name[:2] for p in folder.glob("[0-9][0-9]_*") if p.name >= "03" and p.stat().st_mtime >= started
    )
    assert sorted(set(rewritten)) == later, "every later stage re-ran and rewrote its products"

    after = {
        **digests(folder, "*.parquet"),
        **digests(folder, "*.json"),
        **digests(pages, "exports/*.csv"),
    }
    assert sorted(after) == sorted(before)
    differing = [name for name in before if after[name] != before[name]]
    assert differing == [], f"not byte-identical on rerun: {differing}"
    headline = json.loads((folder / "10_headline.json").read_text())
    facts = headline["facts"]
    assert facts["revenue"].startswith("$") and facts["expected_clv"].startswith("$")


def test_the_scan_sees_inside_compressed_files(tmp_path: Path) -> None:
    """Positive control of the scanner itself: a value inside a Parquet file (snappy, dictionary
    encoded), an Excel workbook (a ZIP) and a gzip file is found."""
    import pandas as pd

    value = "alice.quillfeather001@probe.example"
    frame = pd.DataFrame({"email": [value, "x"] * 50})
    frame.to_parquet(tmp_path / "a.parquet", compression="snappy")
    frame.to_excel(tmp_path / "b.xlsx", index=False)
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress(frame.to_csv().encode()))
    assert (
        value.encode() not in (tmp_path / "b.xlsx").read_bytes()
    )  # compressed: a plain byte search misses it
    assert sorted(Path(p).name for p in scan([tmp_path], [value])) == ["a.parquet", "b.xlsx", "c.csv.gz"]
