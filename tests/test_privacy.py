"""Privacy end to end: orders and customer attributes that carry names, e-mail addresses, phone numbers
and postal addresses go through the runner, and no such value reaches any product under
data/processed/<period>/ or any page under reports/<period>/. With pseudonymise_customer_id on, the
original customer ids do not appear either (nor the key); asking for it without the key is one clear
sentence. A rerun of the stages after cleaning on the same products gives the same products (and the
same pseudonyms).

The scan is binary-safe: every file is read as bytes and searched for each value's UTF-8 bytes; a
Parquet file is also decoded (its strings may be compressed), a ZIP container (an .xlsx export) and a
gzip file are searched inside. Text drawn inside images (base64 PNG charts) cannot be searched this
way. Positive controls show the scan would find a value that is there.

Ids look like ``CUST-000123`` so that a value cannot turn up by chance inside another number.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import hmac
import io as stdio
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from helpers import runner

from conftest import make_project

KEY_ENV, KEY = "CA_TEST_PSEUDONYM_KEY", "privacy-test-key-6c1f0e9a2b"
CLEAR, PSEUDONYMISED, NO_KEY = "1998-05", "1998-06", "1998-04"
FIRST_NAMES = ["Alice", "Bruno", "Chiara", "Dmitri", "Elif", "Farah", "Goran", "Hana"]


def person(n: int) -> dict[str, str]:
    first = FIRST_NAMES[n % len(FIRST_NAMES)]
    return {"name": f"{first} Quillfeather{n:03d}", "email": f"{first.lower()}.quillfeather{n:03d}@probe.example",
            "phone": f"+44 7700 9{n:05d}", "address": f"{n} Quokka Lane, Probeton PB{n:03d} 7QX"}


def customer_id(n: int) -> str:
    return f"CUST-{n:06d}"


def write_inputs(root: Path) -> tuple[list[str], list[str]]:
    """The tiny CDNOW orders with distinctive ids and four identifier columns, and a customers file
    with the same identifiers and two harmless attributes; returns (identifier values, ids)."""
    raw = root / "data" / "raw"
    rows = [line.split() for line in (raw / "cdnow_transactions.txt").read_text().splitlines()[1:] if line.strip()]
    numbers = sorted({int(r[0]) for r in rows})
    lines = ["customer,date,number_of_cds,dollar_value,name,email,phone,address"]
    for cid, day, cds, dollars in rows:
        p = person(int(cid))
        lines.append(f'{customer_id(int(cid))},{day},{cds},{dollars},{p["name"]},{p["email"]},{p["phone"]},"{p["address"]}"')
    (raw / "orders_with_identifiers.csv").write_text("\n".join(lines) + "\n")
    customers = ["customer_id,full_name,email,phone,street_address,country,loyalty_tier"]
    for n in numbers:
        p = person(n)
        customers.append(f'{customer_id(n)},{p["name"]},{p["email"]},{p["phone"]},"{p["address"]}",'
                         f'{"Freedonia" if n % 2 else "Sylvania"},{"gold" if n % 3 == 0 else "silver"}')
    (raw / "customers_with_identifiers.csv").write_text("\n".join(customers) + "\n")
    identifiers = sorted({value for n in numbers for value in person(n).values()})
    return identifiers, [customer_id(n) for n in numbers]


SOURCES = """sources:
  transactions:
    format: csv
    path: data/raw/orders_with_identifiers.csv
    delimiter: ","
    columns: {customer_id: customer, order_ts: date, amount: dollar_value, quantity: number_of_cds}
    identifier_columns: [name, email, phone, address]
  customers:
    format: csv
    path: data/raw/customers_with_identifiers.csv
    customer_id: customer_id
    attributes: {country: country, loyalty_tier: loyalty_tier}
    identifier_columns: [full_name, email, phone, street_address]
"""


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
    """Three periods built at once in one tiny project: ids pseudonymised (every notebook), ids in
    clear (notebooks 01-02: where identifiers are dropped and ids kept, the control), and
    pseudonymisation asked for without its key (which must fail)."""
    root = make_project(tmp_path_factory.mktemp("privacy") / "project", periods=(NO_KEY, CLEAR, PSEUDONYMISED))
    identifiers, ids = write_inputs(root)
    for period, privacy in [(CLEAR, ""),
                            (PSEUDONYMISED, f"privacy:\n  pseudonymise_customer_id: true\n  key_env: {KEY_ENV}\n"),
                            (NO_KEY, "privacy:\n  pseudonymise_customer_id: true\n  key_env: CA_TEST_UNSET_KEY\n")]:
        with (root / "params" / f"{period}.yaml").open("a") as params:
            params.write(SOURCES + privacy)
    env = {**os.environ, "CA_PROJECT_ROOT": str(root), KEY_ENV: KEY}
    env.pop("CA_TEST_UNSET_KEY", None)
    only = {PSEUDONYMISED: [], CLEAR: ["--only", "01", "02"], NO_KEY: []}
    runs = {period: subprocess.Popen([sys.executable, "-m", "helpers", "run", "--period", period, *only[period]],
                                     env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for period in (PSEUDONYMISED, CLEAR, NO_KEY)}
    done = {period: (run.wait(timeout=900), *run.communicate()) for period, run in runs.items()}
    return root, identifiers, ids, done


def folders(root: Path, period: str) -> list[Path]:
    return [root / "data" / "processed" / period, root / "reports" / period]


def test_no_identifier_reaches_any_product_or_page(built) -> None:
    root, identifiers, ids, done = built
    for period in (CLEAR, PSEUDONYMISED):
        code, out, err = done[period]
        assert code == 0, out + err
        pages = list((root / "reports" / period).glob("*.html"))
        assert len(pages) >= 3 and (root / "data" / "processed" / period / "01_customers.parquet").is_file()
        assert len(identifiers) == 4 * len(ids) == 4 * 400
        assert scan(folders(root, period), identifiers) == {}
        # Positive control: the scan finds what is there, inside compressed Parquet too.
        found = scan(folders(root, period), ["Freedonia", "Sylvania"])
        assert any(path.endswith("01_customers.parquet") for path in found)
    # With pseudonymisation off the ids are the customers' keys and appear in clear (control for the next test).
    found = scan(folders(root, CLEAR), ids[:3])
    assert any(path.endswith("02_transactions.parquet") for path in found)


def test_pseudonymised_ids_never_appear_in_clear(built) -> None:
    root, identifiers, ids, done = built
    stages = [s["notebook"] for s in json.loads((root / "reports" / PSEUDONYMISED / "run.json").read_text())["stages"]]
    assert stages == sorted(p.stem for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb")), "every stage ran"
    assert scan(folders(root, PSEUDONYMISED), ids + [KEY]) == {}
    # The keyed hashes are there instead: HMAC-SHA256(key, id), first 32 hex digits.
    hashed = hmac.new(KEY.encode(), ids[0].encode(), hashlib.sha256).hexdigest()[:32]
    found = scan(folders(root, PSEUDONYMISED), [hashed])
    assert any(path.endswith("02_transactions.parquet") for path in found)
    assert any(path.endswith("01_customers.parquet") for path in found)


def test_pseudonymisation_without_its_key_is_one_clear_sentence(built) -> None:
    root, _, _, done = built
    code, out, err = done[NO_KEY]
    assert code == 1
    assert ("IngestError: privacy.pseudonymise_customer_id is on but environment variable CA_TEST_UNSET_KEY is "
            "not set; export a secret of at least 16 characters.") in out
    assert "01_ingest.ipynb failed in cell " in out and "Traceback" not in out + err
    assert not (root / "reports" / NO_KEY).exists() and not (root / "data" / "processed" / NO_KEY).exists()


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}


def assert_same_products(old: Path, new: Path) -> list[str]:
    """Every Parquet product is byte-identical, except that stages 03+ may differ in the last bits of
    engine-side sums of doubles: DuckDB adds them in the order its threads deliver rows, which varies on
    a busy machine (seen on 06_clv.parquet: 4e-14 in repeat_mean_value, 1e-11 in clv, from the SUMs in
    clv.model_inputs; rfm's monetary SUM is built the same way). Those must still hold the same rows,
    the same non-float values and floats equal to 1e-9. Returns the files that were not byte-identical."""
    before, after = digests(old), digests(new)
    assert sorted(after) == sorted(before)
    differing = [name for name in before if after[name] != before[name]]
    for name in differing:
        assert name[:2] >= "03", f"{name}: a rerun with the same inputs and params must give identical bytes"
        a, b = pq.read_table(old / name).to_pandas(), pq.read_table(new / name).to_pandas()
        assert list(a.columns) == list(b.columns) and len(a) == len(b), name
        for column in a.columns:
            if a[column].dtype.kind == "f":
                assert np.allclose(a[column], b[column], rtol=1e-9, atol=1e-9, equal_nan=True), (name, column)
            else:
                assert a[column].equals(b[column]), (name, column)
    return differing


def test_rerun_of_the_later_stages_gives_the_same_products(built, tmp_path: Path) -> None:
    """The stages between cleaning and the report re-run on the same cleaned products and params
    (``--only 03 04 ...``, which starts from the published build): the same Parquet products, byte for
    byte except as documented above."""
    root, _, _, done = built
    products = root / "data" / "processed" / PSEUDONYMISED
    shutil.copytree(products, tmp_path / "first")
    # Stages after cleaning that write Parquet products (the report stage writes pages and exports).
    later = sorted(p.stem[:2] for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb")
                   if p.stem[:2] >= "03" and p.stem != runner.REPORT_NOTEBOOK)
    assert later, "the project has stages after cleaning"
    env = {**os.environ, "CA_PROJECT_ROOT": str(root), KEY_ENV: KEY}
    rerun = subprocess.run([sys.executable, "-m", "helpers", "run", "--period", PSEUDONYMISED, "--only", *later],
                           env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert len(digests(products)) >= 4
    differing = assert_same_products(tmp_path / "first", products)
    print(f"Parquet products not byte-identical on rerun: {differing or 'none'}")


def test_the_scan_sees_inside_compressed_files(tmp_path: Path) -> None:
    """Positive control of the scanner itself: a value inside a Parquet file (snappy, dictionary
    encoded), an Excel workbook (a ZIP) and a gzip file is found."""
    import pandas as pd

    value = "alice.quillfeather001@probe.example"
    frame = pd.DataFrame({"email": [value, "x"] * 50})
    frame.to_parquet(tmp_path / "a.parquet", compression="snappy")
    frame.to_excel(tmp_path / "b.xlsx", index=False)
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress(frame.to_csv().encode()))
    assert value.encode() not in (tmp_path / "b.xlsx").read_bytes()  # compressed: a plain byte search misses it
    assert sorted(Path(p).name for p in scan([tmp_path], [value])) == ["a.parquet", "b.xlsx", "c.csv.gz"]
