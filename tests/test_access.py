"""Who may read what, without building anything: file modes and groups, the audiences' settings, the
stakeholders' copy of the report notebook, small groups hidden, what a published build holds and what
is withdrawn when it contradicts the settings, retention, and the audit trail."""

from __future__ import annotations

import datetime as dt
import getpass
import grp
import hashlib
import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from helpers import config, paths
from helpers.config import ParamsError, PrivacyConfig, load_params
from helpers.privacy import audiences, audit, guard, permissions, retention
from helpers.privacy.permissions import Modes, mode_of

from conftest import DATASET, params_project


def own_group() -> str:
    return grp.getgrgid(os.getgid()).gr_name


# ------------------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("given", "expected"),
    [("0600", "0600"), ("640", "0640"), ("0o660", "0660"), (0o640, "0640"), (416, "0640")],
)
def test_file_modes_are_octal_text_or_what_yaml_makes_of_an_unquoted_one(given, expected) -> None:
    assert PrivacyConfig(file_mode=given).file_mode == expected


def test_folders_get_search_where_files_get_read() -> None:
    assert oct(PrivacyConfig().folder_mode_bits) == "0o700"
    assert oct(PrivacyConfig(file_mode="0640").folder_mode_bits) == "0o750"
    assert oct(PrivacyConfig(file_mode="0660").folder_mode_bits) == "0o770"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            'privacy:\n  file_mode: "0644"\n',
            "setting 'privacy.file_mode' is invalid (got '0644'): customer-level files are never readable by "
            "every user; let a team read them through privacy.group and a mode such as '0640'.",
        ),
        (
            'privacy:\n  file_mode: "0400"\n',
            "setting 'privacy.file_mode' is invalid (got '0400'): the owner must be able to read and write "
            "the files (e.g. '0600').",
        ),
        (
            "privacy:\n  file_mode: 600\n",
            "setting 'privacy.file_mode' is invalid (got 600): write the mode as octal digits in quotes, "
            "e.g. '0600' or '0640'.",
        ),
        (
            "privacy:\n  encryption_key_env: my key\n",
            "setting 'privacy.encryption_key_env' is invalid (got 'my key'): 'my key' is not the name of an "
            "environment variable (letters, digits, _).",
        ),
        (
            "report:\n  audiences:\n    stakeholders: null\n",
            "setting 'report.audiences' is invalid: exactly one audience must have folder '.', the period's "
            "page (now none).",
        ),
        (
            "report:\n  audiences:\n    crm:\n      folder: exports\n      customer_level: true\n",
            "setting 'report.audiences.crm.folder' is invalid (got 'exports'): 'exports' is not an audience "
            "folder: '.' (the period's folder) or one plain name in lower case (not notebooks or exports), "
            "e.g. restricted.",
        ),
        (
            "report:\n  audiences:\n    stakeholders:\n      folder: public\n    crm:\n      folder: '.'\n"
            "      customer_level: true\n",
            "setting 'report.audiences' is invalid: audience crm sees customer-level content in the period's "
            "folder, which is then closed to everyone else: it must be the only audience, or move it to a "
            "folder of its own.",
        ),
        (
            "report:\n  audiences:\n    sales:\n      folder: sales\n      customer_level: true\n",
            "setting 'report.audiences' is invalid: at most one audience may be customer_level (now crm, "
            "sales); the lists, exports and stage pages are published once.",
        ),
    ],
)
def test_privacy_and_audience_mistakes_are_one_sentence(tmp_path: Path, extra: str, message: str) -> None:
    root = params_project(tmp_path, period_extra=extra)
    with pytest.raises(ParamsError) as error:
        load_params(DATASET, "1998-06", root)
    assert str(error.value) == f"{root / 'params' / DATASET / '1998-06.yaml'}: {message}"


# ---------------------------------------------------------------------------------- permissions


def test_private_folders_and_trees_get_the_modes_and_the_group(tmp_path: Path) -> None:
    modes = Modes(0o640, 0o750, own_group())
    folder = permissions.private_folder(tmp_path / "a" / "b", modes)
    (folder / "c").mkdir()
    (folder / "c" / "x.parquet").write_bytes(b"x")
    (folder / "y.json").write_text("{}")
    assert mode_of(folder) == 0o750
    assert permissions.restrict_tree(folder, modes) == 2
    assert {p.name: oct(mode_of(p)) for p in sorted(folder.rglob("*"))} == {
        "c": "0o750",
        "x.parquet": "0o640",
        "y.json": "0o640",
    }
    assert all(p.stat().st_gid == os.getgid() for p in folder.rglob("*"))
    with pytest.raises(PermissionError, match="privacy.group names 'no-such-group-x', which is not a group"):
        Modes(group="no-such-group-x").gid()


def test_the_stakeholders_part_opens_as_the_umask_allows_and_skips_the_restricted_part(
    tmp_path: Path,
) -> None:
    (tmp_path / "restricted").mkdir(mode=0o700)
    (tmp_path / "restricted" / "list.csv").write_text("x")
    os.chmod(tmp_path / "restricted" / "list.csv", 0o600)
    (tmp_path / "index.html").write_text("x")
    os.chmod(tmp_path / "index.html", 0o600)
    old = os.umask(0o022)
    try:
        permissions.open_tree(tmp_path, skip={tmp_path / "restricted"})
    finally:
        os.umask(old)
    assert oct(mode_of(tmp_path / "index.html")) == "0o644" and oct(mode_of(tmp_path)) == "0o755"
    assert oct(mode_of(tmp_path / "restricted")) == "0o700"
    assert oct(mode_of(tmp_path / "restricted" / "list.csv")) == "0o600"


def test_a_private_file_is_never_readable_by_others(tmp_path: Path) -> None:
    old = os.umask(0)  # even with a permissive umask
    try:
        path = permissions.write_private(tmp_path / "audit.jsonl", b"a\n")
        permissions.write_private(path, b"b\n", append=True)
    finally:
        os.umask(old)
    assert oct(mode_of(path)) == "0o600" and path.read_bytes() == b"a\nb\n"


# ---------------------------------------------------------------------------------- audiences


def executed_report() -> nbformat.NotebookNode:
    """A small executed report notebook as the report's page builds it (HTML outputs): an aggregate
    cell, two customer-level cells in a row (one shows a heading with its anchor), an aggregate cell,
    and a customer-level cell at the end whose Markdown shows a heading."""
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell

    def shown(cell, *outputs):
        cell.outputs = list(outputs)
        return cell

    def html(markup: str):
        return nbformat.v4.new_output("display_data", data={"text/html": markup})

    table = html("<table><td>CUST-000001</td></table>")
    nb.cells = [
        shown(code("cards()"), html("<h2 id='Headline-numbers'>Headline numbers</h2><p>12 customers</p>")),
        shown(
            code("lists()", metadata={"tags": ["customer-level"]}),
            html("<h2 id='Customers-to-act-on'>Customers to act on</h2>"),
            html("<p>Churn warning: CUST-000001 first</p>"),
            table,
        ),
        shown(code("top()", metadata={"tags": ["customer-level"]}), table),
        shown(code("quality()"), html("<h2 id='Data-quality'>Data quality</h2>")),
        shown(
            code("exports()", metadata={"tags": ["customer-level"]}),
            nbformat.v4.new_output("display_data", data={"text/markdown": "## Exports\n\nCUST-000001.csv"}),
        ),
    ]
    return nb


def test_the_stakeholders_notebook_keeps_the_headings_and_says_where_the_lists_are() -> None:
    node = executed_report()
    copy = audiences.aggregate_notebook(node, "<p>NOTE</p>")

    def shown(cell) -> list[str]:
        if cell.cell_type == "markdown":
            return [cell.source]
        return [o["data"]["text/html"] for o in cell.outputs]

    assert [shown(c) for c in copy.cells] == [
        ["<h2 id='Headline-numbers'>Headline numbers</h2><p>12 customers</p>"],
        ["<h2 id='Customers-to-act-on'>Customers to act on</h2>", "<p>NOTE</p>"],  # one note for the run
        ["<h2 id='Data-quality'>Data quality</h2>"],
        ["## Exports"],
        ["<p>NOTE</p>"],
    ]
    assert "CUST-" not in json.dumps(copy) and "CUST-" in json.dumps(node)  # the original is unchanged
    assert audiences.customer_level_cells(node) == 3


def test_the_note_points_to_the_customer_level_audience_in_the_reports_language(tmp_path: Path) -> None:
    root = params_project(tmp_path)
    params = load_params(DATASET, "1998-06", root)
    assert audiences.restricted_note(params) == (
        "<p class='ca-muted'>This part lists individual customers: it is in the "
        "<a href='restricted/index.html'>restricted report</a>, which only the people it is shared with can "
        "open.</p>"
    )
    chinese = params.model_copy(update={"report": params.report.model_copy(update={"language": "zh"})})
    assert audiences.restricted_note(chinese) == (
        "<p class='ca-muted'>此部分列出具体客户，见<a href='restricted/index.html'>受限报告</a>，"
        "仅限获授权的人员打开。</p>"
    )
    only = params.model_copy(
        update={"report": params.report.model_copy(update={"audiences": {"stakeholders": config.Audience()}})}
    )
    assert audiences.restricted_note(only) == (
        "<p class='ca-muted'>This part lists individual customers; it is not published.</p>"
    )
    layout = audiences.layout(only, tmp_path / "stage")
    assert layout.work == tmp_path / "stage" / audiences.UNPUBLISHED and not layout.work_published
    layout = audiences.layout(params, tmp_path / "stage")
    assert layout.work == tmp_path / "stage" / "restricted" and layout.depth(layout.work) == 1
    assert layout.aggregate == {"stakeholders": tmp_path / "stage"}


def test_small_groups_show_their_size_but_not_their_figures() -> None:
    table = pd.DataFrame(
        {
            "segment": ["Champions", "Lost", "At Risk"],
            "customers": [120, 3, 0],
            "share_of_customers": [0.975, 0.025, 0.0],
            "share_of_spend": [0.99, 0.01, 0.0],
            "median_recency_days": [12.0, 301.0, None],
            "previous_customers": [100, 10, 4],
            "change": [20, -7, -4],
        }
    )
    shown = audiences.hide_small_groups(table, 5)
    assert shown.loc[0].tolist() == ["Champions", 120, 0.975, 0.99, 12.0, 100, 20]
    lost = shown.loc[1]  # three customers: how many they are (and were) is shown, not what they spend
    assert (lost["customers"], lost["share_of_customers"], lost["previous_customers"], lost["change"]) == (
        3,
        0.025,
        10,
        -7,
    )
    assert pd.isna(lost["share_of_spend"]) and pd.isna(lost["median_recency_days"])
    assert shown.loc[2, "share_of_spend"] == 0.0  # a group of none has nothing to protect
    pd.testing.assert_frame_equal(audiences.hide_small_groups(table, 1), table, check_dtype=False)
    assert audiences.large_groups(table, 5)["segment"].tolist() == ["Champions", "At Risk"]
    radar = pd.DataFrame({"recency": [80.0, 10.0, 50.0]}, index=["Big", "Tiny", "Mid"])
    sizes = pd.Series([300, 2, 40])
    assert audiences.large_groups(radar, 5, sizes=sizes).index.tolist() == ["Big", "Mid"]
    assert audiences.small_groups_note(5) == (
        "A group of fewer than 5 customers shows how many customers it has but not their spend, value or "
        "medians (–), which would be nearly one customer's own figures."
    )
    assert audiences.small_groups_note(1) == "Every group's figures are shown, however small."


# ------------------------------------------------------------------------- fail closed, retention


def publish_fake(root: Path, period: str, pseudonymised: bool, layout: str = "restricted") -> None:
    """A published period as the runner leaves it, without running anything: products (plain Parquet
    of ids, ingest facts, the built marker) and a report folder."""
    products = paths.processed_dir(DATASET, period, root)
    products.mkdir(parents=True)
    (products / "01_ingest.json").write_text(json.dumps({"customer_id_pseudonymised": pseudonymised}))
    (products / "10_headline.json").write_text("{}")
    pd.DataFrame({"customer_id": ["CUST-1"]}).to_parquet(products / "03_rfm.parquet")
    report = paths.report_dir(DATASET, period, root)
    work = report if layout == "." else report / layout
    (work / "exports").mkdir(parents=True)
    (work / "exports" / "churn_warning.csv").write_text("customer_id\nCUST-1\n")
    (work / "notebooks").mkdir()
    (report / "index.html").write_text(
        '<html><h1>Report</h1><a href="restricted/index.html">restricted report</a></html>'
    )


def with_privacy(root: Path, period: str, text: str):
    path = root / "params" / DATASET / f"{period}.yaml"
    path.write_text(path.read_text() + text)
    return load_params(DATASET, period, root)


def test_what_a_published_build_holds_is_read_from_its_files(tmp_path: Path) -> None:
    root = params_project(tmp_path)
    params = load_params(DATASET, "1998-06", root)
    assert guard.published_facts(params, root) is None
    publish_fake(root, "1998-06", pseudonymised=False, layout=".")
    assert guard.published_facts(params, root) == guard.Facts(False, False, False, (".",))


def test_a_contradicting_build_is_withdrawn_with_a_sentence(tmp_path: Path) -> None:
    root = params_project(tmp_path)
    publish_fake(root, "1998-06", pseudonymised=False)
    label = f"{DATASET} 1998-06"
    products, report = (
        paths.processed_dir(DATASET, "1998-06", root),
        paths.report_dir(DATASET, "1998-06", root),
    )
    plain = load_params(DATASET, "1998-06", root)
    assert guard.withdraw_contradicting(plain, root) == [] and products.is_dir()
    exports = with_privacy(root, "1998-06", "privacy:\n  encrypt_exports: true\n  encrypt_products: true\n")
    assert guard.withdraw_contradicting(exports, root) == [
        f"The published products of {label} were withdrawn: they are not encrypted, and "
        "privacy.encrypt_products now requires them to be.",
        f"The published exports of {label} were withdrawn: they are not encrypted, and "
        "privacy.encrypt_exports now requires them to be.",
    ]
    assert not products.exists() and not (report / "restricted" / "exports").exists()
    assert (report / "index.html").is_file() and (report / "restricted" / "notebooks").is_dir()
    again = params_project(tmp_path / "again")  # a second project, ids in clear
    publish_fake(again, "1998-06", pseudonymised=False)
    hashed = with_privacy(again, "1998-06", "privacy:\n  pseudonymise_customer_id: true\n")
    assert guard.withdraw_contradicting(hashed, again) == [
        f"The published report and products of {label} were withdrawn: they hold customer ids in clear, and "
        "privacy.pseudonymise_customer_id now requires pseudonymised ids."
    ]
    assert not paths.report_dir(DATASET, "1998-06", again).exists()


def test_a_page_that_listed_customers_is_withdrawn_when_its_readers_now_see_aggregates_only(
    tmp_path: Path,
) -> None:
    root = params_project(tmp_path)
    publish_fake(root, "1998-06", pseudonymised=False, layout=".")  # the lists on the period's own page
    params = load_params(DATASET, "1998-06", root)
    assert guard.withdraw_contradicting(params, root) == [
        f"The published report and products of {DATASET} 1998-06 were withdrawn: its page lists individual "
        "customers, and report.audiences now gives that page to readers of aggregates only."
    ]


def test_months_before_counts_calendar_months() -> None:
    assert retention.months_before(dt.date(1998, 6, 30), 3) == dt.date(1998, 3, 31)  # a month's end
    assert retention.months_before(dt.date(1998, 6, 29), 3) == dt.date(1998, 3, 29)
    assert retention.months_before(dt.date(1998, 5, 31), 3) == dt.date(1998, 2, 28)
    assert retention.months_before(dt.date(1998, 1, 15), 13) == dt.date(1996, 12, 15)


def test_retention_removes_the_customer_level_data_of_old_periods_and_keeps_their_page(
    tmp_path: Path,
) -> None:
    root = params_project(tmp_path)
    publish_fake(root, "1998-06", pseudonymised=False)
    for period in ("1998-01", "1998-02", "1998-03", "1998-04"):
        config.new_period_file(period, DATASET, root)
        publish_fake(root, period, pseudonymised=False)
        (paths.report_dir(DATASET, period, root) / "run.json").write_text('{"period": "%s"}' % period)
    paths.failed_dir(DATASET, "1998-01", root).mkdir(parents=True)
    params = with_privacy(root, "1998-06", "privacy:\n  retention_months: 3\n")
    # Measured from 1998-06-30: periods ending before 1998-03-31 go (1998-01, 1998-02).
    assert retention.cutoff(params, root) == dt.date(1998, 3, 31)
    logged = []
    records = retention.apply(params, root, logged.append)
    assert [r["period"] for r in records] == ["1998-01", "1998-02"]
    assert records[0] == {
        "action": "retention",
        "dataset": DATASET,
        "period": "1998-01",
        "period_end": "1998-01-31",
        "cutoff": "1998-03-31",
        "retention_months": 3,
        "removed": [
            "data/processed/cdnow/1998-01",
            "reports/cdnow/1998-01/restricted",
            "reports/.failed/cdnow/1998-01",
        ],
    }
    for period in ("1998-01", "1998-02"):
        report = paths.report_dir(DATASET, period, root)
        assert (
            not paths.processed_dir(DATASET, period, root).exists() and not (report / "restricted").exists()
        )
        page = (report / "index.html").read_text()
        assert "was removed on" in page and "restricted/" not in page and "restricted report" in page
        assert json.loads((report / "run.json").read_text())["customer_level_data_removed"] == str(
            dt.date.today()
        )
    for period in ("1998-03", "1998-04"):
        assert (paths.report_dir(DATASET, period, root) / "restricted" / "exports").is_dir()
    assert logged[0] == (
        "[cdnow 1998-06] retention: removed the customer-level data of 1998-01 (ended 1998-01-31, before "
        "1998-03-31)"
    )
    # A period that old is not built again while the setting holds.
    old = with_privacy(root, "1998-01", "privacy:\n  retention_months: 3\n")
    assert retention.refuse_expired(old, root) == (
        "period 1998-01 of cdnow ended on 1998-01-31, before 1998-03-31: privacy.retention_months (3) keeps "
        "no customer-level data that old, so it is not built; raise retention_months to build it."
    )
    assert retention.apply(load_params(DATASET, "1998-06", root), root) == []  # off: nothing removed


# ---------------------------------------------------------------------------------------- audit


def test_an_audit_line_records_who_what_and_from_which_data(tmp_path: Path) -> None:
    root = params_project(tmp_path)
    source = root / "data" / "raw" / DATASET / "cdnow_transactions.txt"
    source.parent.mkdir(parents=True)
    content = b"x" * (1 << 20) + b"tail that the fingerprint does not read"
    source.write_bytes(content)
    params = load_params(DATASET, "1998-06", root)
    line = audit.record(
        audit.run_entry(params, "published", ["03_rfm.parquet"], seconds=1.5, root=root), root
    )
    audit.record({"action": "forget", "dataset": DATASET, "customers": ["ab" * 16]}, root)
    assert audit.read(root) == [line, audit.read(root)[1]]
    assert oct(mode_of(paths.audit_file(root))) == "0o600"
    assert line["user"] == getpass.getuser() and line["action"] == "run" and line["outcome"] == "published"
    assert dt.datetime.fromisoformat(line["time"]).tzinfo is not None
    assert line["params_sha256"] == audit.params_digest(load_params(DATASET, "1998-06", root))
    assert line["sources"]["transactions"] == {
        "path": "data/raw/cdnow/cdnow_transactions.txt",
        "format": "csv",
        "size": len(content),
        "mtime": dt.datetime.fromtimestamp(source.stat().st_mtime, dt.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "sha256_first_mb": hashlib.sha256(content[: 1 << 20]).hexdigest(),
    }
    assert line["privacy"] == {
        "customer_ids": "in clear",
        "products_encrypted": False,
        "exports_encrypted": False,
    }
    changed = with_privacy(root, "1998-06", "seed: 7\n")
    assert audit.params_digest(changed) != line["params_sha256"]
