"""Privacy and access end to end, on one tiny period built with every protection on: products and
exports encrypted, files readable by the owner and a group (0640/0750), marketing consent and a
do-not-contact list, retention, the audit trail; then a customer planted in the data is forgotten and no
byte of data/processed or reports holds them any more (encrypted files checked after decryption). Separately,
on a copy of the shared build: a run whose privacy settings cannot be honoured publishes nothing and
withdraws the published build that contradicts them.

Ids look like ``CUST-000123`` (tests/test_privacy.py's inputs) so that a byte scan cannot find one by
chance inside another number.
"""

from __future__ import annotations

import getpass
import grp
import hashlib
import hmac
import io as stdio
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from helpers import config, io, paths, runner
from helpers.privacy import audit, encryption

from conftest import DATASET, make_project, period_file, products, report_folder, restricted_folder
from privacy_inputs import SOURCES, write_inputs

PSEUDONYM_ENV, PSEUDONYM_KEY = "CA_TEST_PROTECTION_PSEUDONYM_KEY", "protection-pseudonym-key-77f1"
ENCRYPTION_ENV, ENCRYPTION_KEY = "CA_TEST_PROTECTION_ENCRYPTION_KEY", "protection-encryption-key-0c2e"
PERIOD, OLD = "1998-06", "1997-06"
PLANTED = "CUST-424242"  # a customer added to the data, then forgotten
PLANTED_ORDERS = ["19970105,2,30.50", "19970611,1,12.25", "19980602,3,44.00"]
DO_NOT_CONTACT = ["CUST-000002", "CUST-000003", "CUST-000005"]
# The customer 360 sources, each with the planted customer's rows and another customer's: behaviour
# (one event signed in, one anonymous on the same device, which is theirs too), contacts, feedback, leads.
OTHER = "CUST-000004"
OTHER_SOURCES = {
    "events": (
        "time,user,device,name\n"
        f"1998-06-02 10:00:00,{PLANTED},dev-ann,page_view\n"
        "1998-06-02 10:05:00,,dev-ann,product_view\n"
        f"1998-06-03 11:00:00,{OTHER},dev-other,page_view\n"
        "1998-06-03 12:00:00,,dev-nobody,page_view\n",
        "{event_ts: time, customer_id: user, anonymous_id: device, event_type: name}",
    ),
    "interactions": (
        f"time,customer,channel,topic\n1998-06-04 09:00:00,{PLANTED},phone,delivery\n"
        f"1998-06-05 09:00:00,{OTHER},email,invoice\n",
        "{interaction_ts: time, customer_id: customer, channel: channel, topic: topic}",
    ),
    "feedback": (
        f"time,customer,kind,comment\n1998-06-06 09:00:00,{PLANTED},complaint,late parcel\n"
        f"1998-06-07 09:00:00,{OTHER},review,fine\n",
        "{feedback_ts: time, customer_id: customer, kind: kind, text: comment}",
    ),
    "leads": (
        f"lead,customer,stage,time\nL-1,{PLANTED},lead,1998-06-08 09:00:00\n"
        f"L-2,{OTHER},contacted,1998-06-09 09:00:00\n",
        "{lead_id: lead, customer_id: customer, stage: stage, stage_ts: time}",
    ),
}
PLANTED_ROWS = {"events": 2, "interactions": 1, "feedback": 1, "leads": 1}


def other_sources(raw: Path) -> str:
    """The customer 360 sources written next to the orders; their params."""
    text = ""
    for kind, (rows, columns) in OTHER_SOURCES.items():
        (raw / f"{kind}.csv").write_text(rows)
        text += f'  {kind}:\n    format: csv\n    path: data/raw/cdnow/{kind}.csv\n    delimiter: ","\n'
        text += f"    columns: {columns}\n"
    return text


def group() -> str:
    return grp.getgrgid(os.getgid()).gr_name


def environment(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CA_PROJECT_ROOT": str(root),
        PSEUDONYM_ENV: PSEUDONYM_KEY,
        ENCRYPTION_ENV: ENCRYPTION_KEY,
    }


def helpers_cli(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "helpers", *args],
        env=env or environment(root),
        text=True,
        capture_output=True,
        timeout=900,
    )


def publish_old_period(root: Path) -> None:
    """A period a year older, as an earlier build published it: products, restricted outputs, page."""
    config.new_period_file(OLD, DATASET, root)
    (products(root, OLD)).mkdir(parents=True)
    (products(root, OLD) / "03_rfm.parquet").write_bytes(b"old customer-level product")
    (restricted_folder(root, OLD) / "exports").mkdir(parents=True)
    (restricted_folder(root, OLD) / "exports" / "churn_warning.csv").write_text("customer_id\nCUST-000001\n")
    (report_folder(root, OLD) / "index.html").write_text("<html>aggregates</html>")
    facts = {"dataset": DATASET, "title": "CDNOW", "period": OLD, "period_start": "1997-06-01"}
    facts |= {
        "period_end": "1997-06-30",
        "finished": "1997-07-02T06:00:00+00:00",
        "stages": [],
        "headline": {},
    }
    (report_folder(root, OLD) / "run.json").write_text(json.dumps(facts))


# Lifetime value and clustering are left out (the runner skips a stage without its notebook): what
# is protected goes through the same helpers.io functions in every stage, and the build is the test's
# main cost (it runs twice, the second time for the erasure).
SKIPPED_NOTEBOOKS = ("07_clv.ipynb", "08_clustering.ipynb")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    root = make_project(tmp_path_factory.mktemp("protection") / "project", periods=(PERIOD,))
    for name in SKIPPED_NOTEBOOKS:
        (root / "notebooks" / name).unlink()
    _, ids = write_inputs(root)
    raw = root / "data" / "raw" / DATASET
    with (raw / "orders_with_identifiers.csv").open("a") as orders:
        for order in PLANTED_ORDERS:
            orders.write(f'{PLANTED},{order},Ann Planted,ann@planted.example,+44 1,"1 Plant Road"\n')
    with (raw / "customers_with_identifiers.csv").open("a") as customers:
        customers.write(
            f'{PLANTED},Ann Planted,ann@planted.example,+44 1,"1 Plant Road",Freedonia,gold,yes\n'
        )
    (raw / "do_not_contact.txt").write_text("# objections received\n" + "\n".join(DO_NOT_CONTACT) + "\n")
    with period_file(root, PERIOD).open("a") as params:
        params.write(
            SOURCES.replace(
                "columns: {customer_id: customer_id}",
                "columns: {customer_id: customer_id, marketing_consent: marketing_opt_in}",
            )
            + other_sources(raw)
            + "privacy:\n"
            f"  key_env: {PSEUDONYM_ENV}\n"
            "  encrypt_products: true\n"
            "  encrypt_exports: true\n"
            f"  encryption_key_env: {ENCRYPTION_ENV}\n"
            '  file_mode: "0640"\n'
            f"  group: {group()}\n"
            "  retention_months: 6\n"
            "  suppression_lists: [data/raw/cdnow/do_not_contact.txt]\n"
        )
    publish_old_period(root)
    done = helpers_cli(root, "run", "--period", PERIOD)
    assert done.returncode == 0, done.stdout + done.stderr
    # This process reads the encrypted files with the keys too (the key is named in each file).
    saved = {name: os.environ.get(name) for name in (PSEUDONYM_ENV, ENCRYPTION_ENV)}
    os.environ.update({PSEUDONYM_ENV: PSEUDONYM_KEY, ENCRYPTION_ENV: ENCRYPTION_KEY})
    yield root, ids + [PLANTED], done
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def decrypted_forms(path: Path) -> list[bytes]:
    """The file's bytes and, for what is encrypted or compressed, the content a reader gets."""
    data = path.read_bytes()
    found = [data]
    kind = encryption.encrypted_kind(path)
    if path.suffix == ".parquet":
        found.append(io.read_parquet(path).astype(str).to_csv(index=False).encode())
    elif kind == "fernet":
        found.append(encryption.read_bytes(path))
    for blob in list(found):
        if zipfile.is_zipfile(stdio.BytesIO(blob)):
            with zipfile.ZipFile(stdio.BytesIO(blob)) as book:
                found += [book.read(name) for name in book.namelist()]
    return found


def files(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()]


def test_modes_as_ls_lists_them(built) -> None:
    root, _, _ = built
    listing, restricted = {}, []
    for base in (products(root, PERIOD), report_folder(root, PERIOD)):
        for path in [base, *sorted(base.rglob("*"))]:
            name = str(path.relative_to(root))
            listing[name] = stat.filemode(path.stat().st_mode)
            if name.startswith(("data", f"reports/{DATASET}/{PERIOD}/restricted")):
                assert grp.getgrgid(path.stat().st_gid).gr_name == group()
                restricted += [name] if path.is_file() else []
    print("\n".join(f"{mode} {name}" for name, mode in listing.items()))  # the closing note's listing
    period = f"reports/{DATASET}/{PERIOD}"
    assert listing[f"data/processed/{DATASET}/{PERIOD}"] == "drwxr-x---"
    assert listing[f"{period}/restricted"] == "drwxr-x---"
    assert listing[f"{period}/restricted/exports"] == "drwxr-x---"
    assert listing[f"{period}/index.html"] == "-rw-r--r--" and listing[period] == "drwxr-xr-x"
    assert listing[f"{period}/run.json"] == "-rw-r--r--"
    assert len(restricted) > 30 and {listing[n] for n in restricted} == {"-rw-r-----"}
    assert stat.filemode(paths.audit_file(root).stat().st_mode) == "-rw-------"
    assert sorted(
        n.removeprefix(period + "/") for n in listing if n.startswith(period + "/") and n.count("/") == 3
    ) == [
        "index.html",
        "restricted",
        "run.json",
    ]


def test_no_plaintext_customer_id_in_any_encrypted_file(built) -> None:
    root, ids, _ = built
    folder = products(root, PERIOD)
    # Every source's rows (orders and the customer 360 sources) as ingested, kept and set aside.
    kinds_of_source = ["transactions", "customers", *PLANTED_ROWS]
    rows = {f"0{stage}_{kind}.parquet" for stage in (1, 2) for kind in kinds_of_source}
    rows |= {f"02_{kind}_rejected.parquet" for kind in kinds_of_source}
    personal = rows | {"02_quality.json", "03_rfm.parquet", "09_scores.parquet", "09_churn_warning.parquet"}
    personal |= {"09_actions.parquet"}  # the action lists: customers and their group
    personal |= {"05_voice.parquet"}  # per customer: contacts, complaints, latest scores
    personal |= {"04_engagement.parquet"}  # each customer's visits, views and orders by channel
    assert len(personal) == 25
    kinds = {p.name: encryption.encrypted_kind(p) for p in folder.iterdir()}
    assert {name for name, kind in kinds.items() if kind} == personal
    assert {kinds[n] for n in personal} == {"parquet", "fernet"} and kinds["02_quality.json"] == "fernet"
    exports = sorted(p.name for p in (restricted_folder(root, PERIOD) / "exports").iterdir())
    assert "churn_warning.csv.enc" in exports and "churn_warning.xlsx.enc" in exports
    assert "data_dictionary.csv" in exports and not [n for n in exports if n.endswith((".csv", ".xlsx"))][1:]
    encrypted = [p for p in files(folder, restricted_folder(root, PERIOD)) if encryption.encrypted_kind(p)]
    assert len(encrypted) == len(personal) + len(exports) - 1
    for path in encrypted:
        data = path.read_bytes()
        assert b"CUST-" not in data and ENCRYPTION_KEY.encode() not in data, path
    # Positive control: decrypted, they hold the ids (so the scan above looked at the right bytes).
    rfm = io.read_parquet(folder / "03_rfm.parquet")
    assert set(rfm["customer_id"]) <= set(ids) and len(rfm) > 300 and PLANTED in set(rfm["customer_id"])
    segment = encryption.read_bytes(restricted_folder(root, PERIOD) / "exports" / "segment_champions.csv.enc")
    assert segment.startswith(b"customer_id,segment,") and b"CUST-" in segment
    # No byte of the products holds an id: every file with customer data is encrypted.
    assert not [p for p in files(folder) if b"CUST-" in p.read_bytes()]


def test_the_stakeholder_page_holds_no_customer_id(built) -> None:
    root, ids, _ = built
    page = (report_folder(root, PERIOD) / "index.html").read_text()
    run_facts = (report_folder(root, PERIOD) / "run.json").read_text()
    assert "CUST-" not in page and "CUST-" not in run_facts
    full = (restricted_folder(root, PERIOD) / "index.html").read_text()
    assert sum(i in full for i in ids) > 20  # the same report for the CRM lists customers
    assert "This part lists individual customers" in page and "Customers to act on" in page


def test_customers_without_consent_or_on_the_do_not_contact_list_are_left_out_of_the_exports_and_counted(
    built,
) -> None:
    root, _, _ = built
    folder = restricted_folder(root, PERIOD) / "exports"
    exported = set()
    for path in folder.glob("*.csv.enc"):
        table = pd.read_csv(stdio.BytesIO(encryption.read_bytes(path)), dtype=str)
        exported |= set(table["customer_id"])
    segments = [p for p in folder.glob("segment_*.csv.enc")]
    everyone = set().union(
        *(
            set(pd.read_csv(stdio.BytesIO(encryption.read_bytes(p)), dtype=str)["customer_id"])
            for p in segments
        )
    )
    rfm = set(io.read_parquet(products(root, PERIOD) / "03_rfm.parquet")["customer_id"])
    # Consent read from the source file here: only "Yes" and "TRUE" are a yes; "no" and blank are not.
    raw = pd.read_csv(
        root / "data" / "raw" / DATASET / "customers_with_identifiers.csv", dtype=str, keep_default_na=False
    )
    no_consent = set(raw.loc[~raw["marketing_opt_in"].str.lower().isin(["yes", "true"]), "customer_id"])
    listed, unconsented = set(DO_NOT_CONTACT) & rfm, no_consent & rfm
    assert len(listed) == 3 and len(unconsented) > 100 and len(listed & unconsented) == 1
    assert everyone == rfm - listed - unconsented and not exported & (listed | unconsented)
    assert PLANTED in everyone  # the planted customer said yes
    sentence = (
        f"{len(listed | unconsented)} customers are left out of the exports: {len(unconsented)} without "
        "marketing consent and 3 on a do-not-contact list (1 both)."
    )
    for page in (report_folder(root, PERIOD) / "index.html", restricted_folder(root, PERIOD) / "index.html"):
        assert sentence in page.read_text()


def test_the_run_is_audited_and_the_old_period_lost_its_customer_level_data(built) -> None:
    root, _, done = built
    lines = audit.read(root)
    assert [(line["action"], line["period"]) for line in lines] == [("run", PERIOD), ("retention", OLD)]
    run = lines[0]
    assert (run["dataset"], run["outcome"], run["user"]) == (DATASET, "published", getpass.getuser())
    params = config.load_params(DATASET, PERIOD, root)
    assert run["params_sha256"] == audit.params_digest(params)
    orders = root / "data" / "raw" / DATASET / "orders_with_identifiers.csv"
    assert (
        run["sources"]["transactions"]["sha256_first_mb"] == hashlib.sha256(orders.read_bytes()).hexdigest()
    )
    assert run["sources"]["transactions"]["size"] == orders.stat().st_size
    assert "customers" in run["sources"]
    assert run["products"] == sorted(p.name for p in products(root, PERIOD).iterdir())
    assert run["privacy"] == {
        "customer_ids": "in clear",
        "products_encrypted": True,
        "exports_encrypted": True,
    }
    assert lines[1]["removed"] == [f"data/processed/{DATASET}/{OLD}", f"reports/{DATASET}/{OLD}/restricted"]
    assert not products(root, OLD).exists() and not restricted_folder(root, OLD).exists()
    assert (report_folder(root, OLD) / "index.html").read_text() == "<html>aggregates</html>"
    assert f"retention: removed the customer-level data of {OLD} (ended 1997-06-30, before 1997-12-31)" in (
        done.stdout
    )


def test_decrypting_an_export_needs_the_key_it_was_written_with(built, tmp_path: Path) -> None:
    root, _, _ = built
    export = restricted_folder(root, PERIOD) / "exports" / "churn_warning.csv.enc"
    wrong = {**environment(root), ENCRYPTION_ENV: "not-the-key-it-was-written-with"}
    done = helpers_cli(root, "decrypt", str(export), "--out", str(tmp_path / "list.csv"), env=wrong)
    assert done.returncode == 1 and not (tmp_path / "list.csv").exists()
    assert done.stderr.startswith(
        f"error: {export}: encrypted with another key than the one now in {ENCRYPTION_ENV}"
    )
    done = helpers_cli(root, "decrypt", str(export), "--out", str(tmp_path / "list.csv"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "list.csv").read_bytes() == encryption.read_bytes(export)
    assert stat.filemode((tmp_path / "list.csv").stat().st_mode) == "-rw-------"


def test_an_access_request_gets_every_row_held_about_the_customer(built, tmp_path: Path) -> None:
    root, _, _ = built
    done = helpers_cli(root, "access", "--customer-id", PLANTED, "--out", str(tmp_path / "answer.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads((tmp_path / "answer.json").read_text())
    assert stat.filemode((tmp_path / "answer.json").stat().st_mode) == "-rw-------"
    held = answer["periods"][PERIOD]
    orders = held["rows"]["02_transactions.parquet"]
    assert sorted(o["amount"] for o in orders) == pytest.approx([12.25, 30.5, 44.0])
    (rfm,) = held["rows"]["03_rfm.parquet"]
    assert (rfm["customer_id"], rfm["frequency_orders"]) == (PLANTED, 3)
    assert rfm["monetary_total"] == pytest.approx(30.50 + 12.25 + 44.00)
    (attributes,) = held["rows"]["01_customers.parquet"]
    assert (attributes["country"], attributes["loyalty_tier"]) == ("Freedonia", "gold")
    assert "Ann Planted" not in json.dumps(answer)  # identifiers were never copied, so none is held
    assert any(
        f.endswith("restricted/notebooks/03_rfm.ipynb") or f.endswith(".csv.enc") for f in held["other_files"]
    )
    assert done.stdout.startswith(f"{tmp_path / 'answer.json'}: ")


def test_a_forgotten_customer_leaves_no_trace_in_products_or_reports(built) -> None:
    """Runs last: it rebuilds the period."""
    root, _, _ = built
    raw = root / "data" / "raw" / DATASET / "orders_with_identifiers.csv"
    raw_before = raw.read_bytes()
    needle = PLANTED.encode()
    held = [
        p
        for p in files(products(root, PERIOD), report_folder(root, PERIOD))
        if any(needle in f for f in decrypted_forms(p))
    ]
    assert len(held) >= 6  # positive control: the planted customer is everywhere before
    # ... in every customer 360 source too, as ingested and as cleaned, and so is their device.
    assert {f"0{stage}_{kind}.parquet" for stage in (1, 2) for kind in PLANTED_ROWS} <= {p.name for p in held}
    device = b"dev-ann"
    assert any(device in form for form in decrypted_forms(products(root, PERIOD) / "02_events.parquet"))
    done = helpers_cli(root, "forget", "--customer-id", PLANTED)
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    assert (
        f"Added the customer to the erasure list of {DATASET} (erased.txt): every run leaves them out "
        "from now on."
    ) in done.stdout
    assert f"Rebuilt without the customer: {PERIOD}." in done.stdout
    assert (
        "The raw source still holds the customer (data/raw/cdnow/orders_with_identifiers.csv" in done.stdout
    )
    leftovers = [
        str(p)
        for p in files(root / "data" / "processed", root / "reports")
        if any(needle in form or device in form for form in decrypted_forms(p))
    ]
    assert leftovers == []
    assert raw.read_bytes() == raw_before  # data/raw is never edited
    facts = io.read_json(products(root, PERIOD) / "01_ingest.json")
    assert facts["rows_erased"] == len(PLANTED_ORDERS)
    erased = {kind: source["rows_erased"] for kind, source in facts["sources"].items()}
    assert erased == {"customers": 1, **PLANTED_ROWS}
    keyed = hmac.new(PSEUDONYM_KEY.encode(), b"erasure\x00" + needle, hashlib.sha256).hexdigest()[:32]
    line = audit.read(root)[-1]
    assert (line["action"], line["customers"], line["periods_rebuilt"]) == ("forget", [keyed], [PERIOD])
    assert line["files_held"] == len(held)
    assert (root / "data" / "privacy" / DATASET / "erased.txt").read_text().splitlines()[1:] == [keyed]


def test_a_run_that_cannot_honour_its_privacy_settings_withdraws_what_contradicts_them(
    built_tiny: Path, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    shutil.copytree(built_tiny, root, symlinks=True)
    settings = period_file(root, PERIOD)
    original = settings.read_text()
    quiet = []
    # Encryption asked for without its key: nothing is built; the products in clear are withdrawn,
    # the stakeholders' page (aggregates) stays.
    settings.write_text(
        original + "privacy:\n  encrypt_products: true\n  encryption_key_env: CA_TEST_UNSET_KEY\n"
    )
    result = runner.run_period(DATASET, PERIOD, root=root, log=quiet.append)
    assert not result.ok and result.message == (
        "privacy.encrypt_products is on but environment variable CA_TEST_UNSET_KEY is not set; export a "
        "secret of at least 16 characters. Nothing was built or published. The published products of cdnow "
        "1998-06 were withdrawn: they are not encrypted, and privacy.encrypt_products now requires them to "
        "be."
    )
    assert not products(root, PERIOD).exists() and (report_folder(root, PERIOD) / "index.html").is_file()
    # Pseudonymisation asked for without its key: the page, whose lists hold ids in clear, goes too.
    settings.write_text(
        original + "privacy:\n  pseudonymise_customer_id: true\n  key_env: CA_TEST_UNSET_KEY\n"
    )
    result = runner.run_period(DATASET, PERIOD, root=root, log=quiet.append)
    assert result.message == (
        "privacy.pseudonymise_customer_id is on but environment variable CA_TEST_UNSET_KEY is not set; "
        "export a secret of at least 16 characters. Nothing was built or published. The published report and "
        "products of cdnow 1998-06 were withdrawn: they hold customer ids in clear, and "
        "privacy.pseudonymise_customer_id now requires pseudonymised ids."
    )
    assert not report_folder(root, PERIOD).exists()
    assf = audit.read(root)[-2:]
    assert [(line["outcome"], len(line["withdrawn"])) for line in assf] == [("refused", 1), ("refused", 1)]
    top = (root / "reports" / "index.html").read_text()
    assert "cdnow/1998-06/index.html" not in top and "cdnow/1998-05/index.html" in top
    assert report_folder(root, "1998-05").is_dir()  # another period is not touched
