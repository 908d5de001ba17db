"""A user's own data in two commands: ``new-dataset`` guesses the settings of an export (encoding,
delimiter, header, decimal separator, date formats, columns by their English or Chinese names,
identifier columns), writes the dataset's params and monthly periods, and ``run`` builds it with no
edit. Checked on generated awkward exports against answers computed from what was generated."""

from __future__ import annotations

import codecs
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import formats, new_dataset
from helpers.new_dataset import NewDatasetError, guess_timestamp_formats, match_columns

from conftest import params_project, products, report_folder
from own_data import write_latin1_semicolons, write_offsets, write_quiet_month, write_retail

# ------------------------------------------------------------------------------------ the guesses


def test_columns_are_matched_by_common_english_and_chinese_names() -> None:
    retail = [
        "InvoiceNo",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "UnitPrice",
        "CustomerID",
        "Country",
    ]
    mapping, price, identifiers = match_columns(retail)
    assert mapping == {
        "customer_id": "CustomerID", "order_id": "InvoiceNo", "order_ts": "InvoiceDate",
        "quantity": "Quantity", "product_id": "StockCode", "region": "Country",
    }  # fmt: skip
    assert (price, identifiers) == ("UnitPrice", [])
    chinese = [
        "订单号",
        "客户编号",
        "下单时间",
        "数量",
        "单价",
        "金额",
        "商品编号",
        "地区",
        "姓名",
        "手机",
        "收货地址",
    ]
    mapping, price, identifiers = match_columns(chinese)
    assert mapping == {
        "customer_id": "客户编号", "order_id": "订单号", "order_ts": "下单时间", "amount": "金额",
        "quantity": "数量", "product_id": "商品编号", "region": "地区",
    }  # fmt: skip
    assert identifiers == ["姓名", "手机", "收货地址"]
    mapping, _, identifiers = match_columns(
        ["Customer ID", "Order Date", "Line Total", "E-mail", "Product Name"]
    )
    assert mapping == {"customer_id": "Customer ID", "order_ts": "Order Date", "amount": "Line Total"}
    assert identifiers == ["E-mail"]  # a product's name is not a person's


@pytest.mark.parametrize(
    ("values", "formats"),
    [
        (["12/1/2010 8:26", "12/13/2010 14:05", "1/5/11 9:00"], ["%m/%d/%Y %H:%M", "%m/%d/%y %H:%M"]),
        (["13/01/2011 08:26", "01/02/2011 10:00"], ["%d/%m/%Y %H:%M"]),  # a day above 12 first: day first
        (["31.12.2011", "01.02.2012"], ["%d.%m.%Y"]),
        (["20110105", "20111231"], ["%Y%m%d"]),
        (["2011-03-01T10:00:00+01:00", "2011-03-01T10:00:00Z"], ["%Y-%m-%dT%H:%M:%S%z"]),
        (["2011-03-01 10:00:00", "2011-03-02"], ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]),
    ],
)
def test_date_formats_are_found_in_the_order_to_try_them(values: list[str], formats: list[str]) -> None:
    found, share = guess_timestamp_formats(pd.Series(values))
    assert (found, share) == (formats, 1.0)


def test_the_time_zone_is_guessed_from_the_offsets_the_timestamps_carry() -> None:
    shanghai = pd.Series(["2025-01-03 10:00:00+08:00"] * 15 + ["2025/01/04 09:00"])
    zone, why, check = new_dataset.guess_timezone(shanghai)
    assert (zone, check) == ("Etc/GMT-8", None) and why.startswith("UTC+08:00, the offset of 94% of")
    assert new_dataset.guess_timezone(pd.Series(["2025-01-03T10:00:00-0500"]))[0] == "Etc/GMT+5"
    assert new_dataset.guess_timezone(pd.Series(["2025-01-03T10:00:00+05:30"]))[0] == "Asia/Kolkata"
    assert new_dataset.guess_timezone(pd.Series(["2025-01-03T10:00:00Z"]))[0] == "UTC"
    assert new_dataset.guess_timezone(pd.Series(["12/01/2010 08:26"]))[:2] == (
        "UTC",
        "no timestamp of the sample carries a UTC offset: they are read as UTC",
    )
    summer = new_dataset.guess_timezone(
        pd.Series(["2024-01-05T10:00:00-05:00"] * 3 + ["2024-07-05T10:00:00-04:00"])
    )
    assert summer[0] == "Etc/GMT+5" and summer[2].startswith("the timestamps carry 2 different UTC offsets")


def test_the_encoding_is_told_from_the_bytes(tmp_path: Path) -> None:
    cases = {
        "bom.csv": codecs.BOM_UTF8 + "a,b\n1,2\n".encode(),
        "utf16.csv": "a,b\n1,2\n".encode("utf-16"),
        "latin1.csv": "name,city\nZoë,Köln\n".encode("latin-1"),
        "plain.csv": "名字,城市\n张三,北京\n".encode(),
    }
    found = {}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        found[name] = new_dataset.sniff_encoding(tmp_path / name)[0]
    assert found == {"bom.csv": "utf-8", "utf16.csv": "utf-16", "latin1.csv": "latin-1", "plain.csv": "utf-8"}


def test_a_source_without_a_customer_or_date_column_is_one_sentence(tmp_path: Path) -> None:
    root = params_project(tmp_path)
    (root / "data" / "raw" / "odd").mkdir(parents=True)
    (root / "data" / "raw" / "odd" / "x.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(
        NewDatasetError, match=r"x\.csv: no column looks like the customer id \(columns: foo, bar\)"
    ):
        new_dataset.create("odd", "data/raw/odd/x.csv", root)
    assert not (root / "params" / "odd" / "dataset.yaml").exists()


# ------------------------------------------------------------------------------------ two commands


def helpers(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CA_PROJECT_ROOT": str(root)}
    return subprocess.run([sys.executable, "-m", "helpers", *args], capture_output=True, text=True, env=env,
                          timeout=900)  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with the committed notebooks and three awkward exports under data/raw/."""
    import shutil

    from conftest import REPO

    root = params_project(tmp_path_factory.mktemp("own") / "project")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    return root


def lifetime_value_story(root: Path, dataset: str) -> dict:
    """Four months of history: the holdout is shortened or left out, a parameter may run to its bound,
    a model may fail. Whatever happened, the stakeholder page says it: every caveat of the CLV stage when
    it valued the customers, else why not (and then no customer has a P(alive) anywhere)."""
    folder = products(root, "2011-12", dataset)
    model = json.loads((folder / "07_model.json").read_text())
    page = (report_folder(root, "2011-12", dataset) / "index.html").read_text()
    if model["status"] == "ok":
        assert model["caveats"], "the short history should leave at least one caveat"
        # Compared as text: an apostrophe may be written as it is or as an entity.
        assert [c for c in model["caveats"] if c not in html.unescape(page)] == []
    else:
        assert "Lifetime value could not be estimated this period: " in page
        assert pd.read_parquet(folder / "07_clv.parquet")["p_alive"].isna().all()
    return model


def test_the_retail_layout_goes_from_file_to_report_without_an_edit(project: Path) -> None:
    oracle = write_retail(project / "data" / "raw" / "retail" / "online_retail.csv")
    made = helpers(project, "new-dataset", "retail", "--source", "data/raw/retail/online_retail.csv")
    assert made.returncode == 0, made.stderr
    printed = made.stdout.splitlines()
    assert printed[0].endswith("and 5 period files (2011-08 to 2011-12; the default is 2011-12).")
    assert "  amount       <- = `Quantity` * `UnitPrice`" in printed
    assert (
        "Dates: %m/%d/%Y %H:%M, %m/%d/%y %H:%M (read 100.0% of the sample's dates); decimal separator '.'."
        in printed
    )
    assert any(line.startswith("Cancellations: ") for line in printed)
    assert "Not used: Description." in printed
    assert any("have no CustomerID" in line for line in printed)
    settings = yaml.safe_load((project / "params" / "retail" / "dataset.yaml").read_text())
    assert settings["cleaning"] == {"cancellation_prefix": "C"}

    built = helpers(project, "run", "--dataset", "retail")
    assert built.returncode == 0, built.stdout + built.stderr
    folder = products(project, "2011-12", "retail")
    quality = json.loads((folder / "02_quality.json").read_text())
    kinds = oracle["kind"].value_counts()
    assert quality["rows_in"] == len(oracle) == quality["rows_kept"] + quality["rows_rejected"]
    assert {k: v for k, v in quality["rejected_by_reason"].items() if v} == {
        "malformed_line": kinds["broken"], "missing_customer_id": kinds["no_customer"]}  # fmt: skip
    kept = pd.read_parquet(folder / "02_transactions.parquet")
    expected = oracle[oracle["kind"].isin(["order", "cancellation"])]
    assert kept["amount"].sum() == pytest.approx(expected["amount"].sum())
    assert set(kept["customer_id"]) == set(expected["customer"])  # "12346.0" read as 12346
    assert int(kept["is_return"].sum()) == kinds["cancellation"]
    december = expected[expected["moment"] >= pd.Timestamp("2011-12-01")]
    headline = json.loads((folder / "10_headline.json").read_text())
    assert headline["facts"]["revenue"] == formats.money(december["amount"].sum())
    model = json.loads((folder / "07_model.json").read_text())
    assert "a third of the" in model["holdout"]["sentence"]  # five months: the holdout is shortened
    page = (report_folder(project, "2011-12", "retail") / "index.html").read_text()
    assert "99999" not in page  # the malformed line's text is nowhere
    # Customer 18999 only returned goods: left out of the segments, counted, and said on the page.
    rfm_customers = pd.read_parquet(folder / "03_rfm.parquet")
    assert "18999" not in set(rfm_customers["customer_id"]) and rfm_customers["frequency_orders"].min() >= 1
    assert json.loads((folder / "03_rfm_cutpoints.json").read_text())["returns_only_customers"] == 1
    assert "1 customer only returned goods in this data" in page
    assert "18999" not in set(pd.read_parquet(folder / "09_scores.parquet")["customer_id"])
    # Five months show almost no customer leaving: every purchase model runs off its range on all history.
    assert lifetime_value_story(project, "retail")["status"] == "fit_failed"
    assert "none of the purchase models tried (BG/NBD, Pareto/NBD and MBG/NBD) could be fitted" in page


def test_offsets_are_converted_to_the_datasets_time_zone_through_every_stage(project: Path) -> None:
    oracle = write_offsets(project / "data" / "raw" / "shop" / "orders.csv")
    made = helpers(project, "new-dataset", "shop", "--source", "data/raw/shop/orders.csv")
    assert made.returncode == 0, made.stderr
    assert "Check: the timestamps carry 4 different UTC offsets" in made.stdout
    settings = project / "params" / "shop" / "dataset.yaml"
    settings.write_text(re.sub(r"(?m)^timezone: .*$", "timezone: America/New_York", settings.read_text()))
    built = helpers(project, "run", "--dataset", "shop")
    assert built.returncode == 0, built.stdout + built.stderr
    kept = pd.read_parquet(products(project, "2011-12", "shop") / "02_transactions.parquet")
    instants = pd.to_datetime(oracle["utc"]).dt.tz_localize("UTC")
    local = oracle.assign(ts=instants.dt.tz_convert("America/New_York").dt.tz_localize(None)).sort_values(
        "order"
    )
    assert kept.sort_values("order_id")["order_ts"].tolist() == local["ts"].tolist()
    assert lifetime_value_story(project, "shop")["status"] == "ok"


def test_a_latin1_semicolon_file_with_day_first_dates_and_decimal_commas(project: Path) -> None:
    oracle = write_latin1_semicolons(project / "data" / "raw" / "kunden" / "export.csv")
    made = helpers(project, "new-dataset", "kunden", "--source", "data/raw/kunden/export.csv")
    assert made.returncode == 0, made.stderr
    assert "Never copied (look like direct identifiers): Name." in made.stdout
    assert "Check: dates are read day first (31.12.2011 is 31 December)" in made.stdout
    built = helpers(project, "run", "--dataset", "kunden")
    assert built.returncode == 0, built.stdout + built.stderr
    folder = products(project, "2011-12", "kunden")
    kept = pd.read_parquet(folder / "02_transactions.parquet")
    assert kept["amount"].sum() == pytest.approx(oracle["amount"].sum())
    assert (
        kept.sort_values("order_id")["order_ts"].dt.date.tolist()
        == oracle.sort_values("order")["day"].tolist()
    )
    assert not [p for p in folder.iterdir() if p.is_file() and "Müller".encode() in p.read_bytes()]
    spend = lifetime_value_story(project, "kunden")["spend_model"]  # order values from 5 to 2,500
    assert not spend["converged"] and "q = 0.51 is not above 1" in spend["note"]
    page = (report_folder(project, "2011-12", "kunden") / "index.html").read_text()
    assert "the spend model (Gamma-Gamma) could not be fitted" in page
    # A period after the data: the run stops naming the last order instead of publishing zeros.
    helpers(project, "new-period", "2012-01", "--dataset", "kunden")
    late = helpers(project, "run", "--dataset", "kunden", "--period", "2012-01")
    assert late.returncode == 1 and "so its data has not arrived yet" in late.stdout
    assert not report_folder(project, "2012-01", "kunden").exists()


def test_a_month_without_orders_inside_the_data_gets_a_page_saying_so(project: Path) -> None:
    oracle = write_quiet_month(project / "data" / "raw" / "quiet" / "orders.csv")
    made = helpers(project, "new-dataset", "quiet", "--source", "data/raw/quiet/orders.csv")
    assert made.returncode == 0, made.stderr
    settings = project / "params" / "quiet" / "dataset.yaml"
    settings.write_text(settings.read_text() + "currency: EUR\n")
    built = helpers(project, "run", "--dataset", "quiet", "--period", "2024-03")
    assert built.returncode == 0, built.stdout + built.stderr
    before = oracle[oracle["day"] < pd.Timestamp("2024-03-01").date()]
    after = oracle[oracle["day"] >= pd.Timestamp("2024-04-01").date()]
    last = max(before["day"])
    headline = json.loads((products(project, "2024-03", "quiet") / "10_headline.json").read_text())
    assert headline["facts"]["revenue"] == "€0.00"
    page = (report_folder(project, "2024-03", "quiet") / "index.html").read_text()
    assert (
        f"Nobody ordered from 1 March 2024 to 31 March 2024; the last order before was on "
        f"{last.day} February 2024, and the data holds {len(after)} rows after the period." in page
    )
    scores = pd.read_parquet(products(project, "2024-03", "quiet") / "09_scores.parquet")
    assert len(scores) == before["customer"].nunique() and "new" not in set(scores["status"])
    assert "$" not in page.split("</style>")[-1]


def test_the_currency_comes_from_a_currency_column_and_one_decimal_comma_is_not_the_rule() -> None:
    """The newcomer's yen file: whole amounts, one EUR row written 12,50. The currency is JPY, the other
    currency's rows are set aside, and the separator stays the point."""
    amounts = pd.Series(["2200", "1500", "980", "12,50", "3000", "450"])
    assert new_dataset.guess_decimal_separator(amounts) == "."
    assert new_dataset.guess_decimal_separator(pd.Series(["12,50", "3,99", "1.234,50", "7"])) == ","
    assert new_dataset.guess_currency(pd.Series(["JPY", "jpy ", "EUR", None, "JPY"])) == ("JPY", 1)
    assert new_dataset.guess_currency(pd.Series(["円", None])) == (None, 0)
