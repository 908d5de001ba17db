"""`python -m helpers validate` checks, without running anything, that each source is there and holds
the mapped columns, and that the score's indicators name columns that exist (and the status rules
are consistent)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.checks import check_period
from helpers.config import ParamsError, load_params
from helpers.ingest import IngestError

from conftest import DATASET, cdnow_head, params_project


def project(tmp_path: Path, period_extra: str = "", dataset_extra: str = "") -> Path:
    root = params_project(tmp_path, period_extra, dataset_extra)
    raw = root / "data" / "raw" / DATASET
    raw.mkdir(parents=True)
    (raw / "cdnow_transactions.txt").write_text(cdnow_head(20))
    return root


def validate(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CA_PROJECT_ROOT": str(root)}
    return subprocess.run(
        [sys.executable, "-m", "helpers", "validate"], capture_output=True, text=True, env=env
    )


def test_a_valid_project_validates(tmp_path: Path) -> None:
    done = validate(project(tmp_path))
    assert (done.returncode, done.stdout) == (0, "cdnow 1998-06: ok\n")


@pytest.mark.parametrize(
    ("period_extra", "message"),
    [
        (
            "sources:\n  transactions:\n    path: data/raw/cdnow/gone.txt\n",
            "data/raw/cdnow/gone.txt: file not found; put the file there or fix 'sources.transactions.path' "
            "in params.",
        ),
        (
            "sources:\n  transactions:\n    columns:\n      amount: dollars\n",
            "data/raw/cdnow/cdnow_transactions.txt: column 'dollars' (mapped to amount) is not in the "
            "source; columns "
            "found: customer_id, date, number_of_cds, dollar_value. Fix "
            "'sources.transactions.columns.amount' in "
            "params.",
        ),
        (
            "sources:\n  transactions:\n    columns:\n      amount: {expression: 'dollar_value * rate'}\n",
            "column 'rate' (in the expression for amount) is not in the source",
        ),
        (
            "sources:\n  transactions:\n    format: sql\n    path: null\n    url_env: CA_NOT_SET_URL\n    "
            "table: t\n",
            "CA_NOT_SET_URL:t: environment variable CA_NOT_SET_URL is not set; export it with the database "
            "URL",
        ),
    ],
)
def test_a_source_that_is_missing_or_lacks_a_mapped_column_is_one_sentence(
    tmp_path: Path, period_extra: str, message: str
) -> None:
    root = project(tmp_path, period_extra=period_extra)
    os.environ.pop("CA_NOT_SET_URL", None)
    with pytest.raises(IngestError) as caught:
        check_period(load_params(DATASET, "1998-06", root), root)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    done = validate(root)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and message in done.stderr


@pytest.mark.parametrize(
    ("period_extra", "message"),
    [
        (
            "status:\n  active_within_gaps: 4\n",
            "params/cdnow/1998-06.yaml: setting 'status' is invalid: at_risk_within_gaps (3) must be above "
            "active_within_gaps (4).",
        ),
        (
            "scoring:\n  weights: {recency_days: 0.5, frequency_orders: 0, monetary_total: 0, "
            "avg_order_value: 0, "
            "tenure_days: 0, loyalty_points: 0.5}\n",
            "params/cdnow/1998-06.yaml: setting 'scoring.weights' names ['loyalty_points'], which the "
            "scoring stage "
            "does not have; use some of recency_days, frequency_orders,",
        ),
        (
            "actions:\n  lists:\n    vip: {filter: \"segment == 'At Risk' and clv > 'high'\"}\n",
            "params/cdnow/1998-06.yaml: setting 'actions.lists.vip.filter' \"segment == 'At Risk' and clv > "
            "'high'\": 'clv > 'high'' compares number with text.",
        ),
        (
            "actions:\n  lists:\n    vip: {filter: \"segment == 'At Risk' or status == 'new'\"}\n",
            "no customer has segment 'At Risk'; the segment values are Champions, Loyal Customers,",
        ),
        (
            "actions:\n  lists:\n    vip: {filter: \"status in ('at-risk', 'new')\"}\n",
            "no customer has status 'at-risk'; the status values are potential, new, active, at risk, "
            "lapsed, churned.",
        ),
        (
            'actions:\n  lists:\n    vip: {filter: "loyalty > 3"}\n',
            "setting 'actions.lists.vip.filter' 'loyalty > 3': there is no column 'loyalty'; use one of",
        ),
        (
            "actions:\n  contacted: {winback: data/raw/cdnow/sent.csv}\n",
            "setting 'actions.contacted' names ['winback'], which are not lists of actions.lists; use some "
            "of win_back, birthday,",
        ),
    ],
)
def test_rules_naming_columns_that_do_not_exist_are_one_sentence(
    tmp_path: Path, period_extra: str, message: str
) -> None:
    root = project(tmp_path, period_extra=period_extra)
    with pytest.raises(ParamsError) as caught:
        check_period(load_params(DATASET, "1998-06", root), root)
    assert message in str(caught.value)
    done = validate(root)
    assert done.returncode == 2 and message in done.stderr


def test_every_configured_source_is_checked_before_a_run(tmp_path: Path) -> None:
    """A source of another kind whose file lacks a mapped column, attribute or stage column: one sentence
    naming the file, the column and the setting."""
    root = project(tmp_path)
    (root / "data" / "raw" / DATASET / "leads.csv").write_text("lead,created,won\nL1,2024-01-01,2024-02-01\n")
    dataset = root / "params" / DATASET / "dataset.yaml"
    base = dataset.read_text()
    for block, message in [
        (
            "  leads:\n    format: csv\n    path: data/raw/cdnow/leads.csv\n    columns: {lead_id: lead}\n"
            "    stage_columns: {lead: created, contract: signed}\n",
            "column 'signed' (mapped to contract) is not in the source; columns found: lead, created, won. "
            "Fix 'sources.leads.stage_columns.contract' in params.",
        ),
        (
            "  customers:\n    format: csv\n    path: data/raw/cdnow/leads.csv\n"
            "    columns: {customer_id: id}\n",
            "column 'id' (mapped to customer_id) is not in the source; columns found: lead, created, won. "
            "Fix 'sources.customers.columns.customer_id' in params.",
        ),
    ]:
        dataset.write_text(base.replace("\ncleaning:", f"\n{block}\ncleaning:", 1))
        with pytest.raises(IngestError, match=re.escape(message)):
            check_period(load_params(DATASET, "1998-06", root), root)
