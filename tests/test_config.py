"""Params: every committed file validates; mistakes fail with one sentence naming file and key."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import config
from helpers.config import ParamsError, load_params

from conftest import DATASET, REPO, cdnow_head, defaults_text

COMMITTED = [(d, p) for d in config.list_datasets(REPO) for p in config.list_periods(d, REPO)]


@pytest.mark.parametrize(("dataset", "period"), COMMITTED, ids=[f"{d}-{p}" for d, p in COMMITTED])
def test_every_committed_period_validates(dataset: str, period: str) -> None:
    params = load_params(dataset, period, REPO)
    start, end = config.month_window(period)
    assert (params.dataset, params.period, params.period_start, params.period_end) == (
        dataset,
        period,
        start,
        end,
    )


def test_the_cdnow_months_are_all_there() -> None:
    assert DATASET in config.list_datasets(REPO)
    months = [f"1997-{m:02d}" for m in range(4, 13)] + [f"1998-{m:02d}" for m in range(1, 7)]
    assert config.list_periods(DATASET, REPO)[: len(months)] == months  # a user may add later ones
    params = load_params(DATASET, root=REPO)  # the dataset's default period
    assert (params.dataset, params.period, params.dataset_title) == ("cdnow", "1998-06", "CDNOW")


def test_as_of_is_the_last_day_and_the_cutoff_the_next_midnight() -> None:
    params = load_params(DATASET, "1998-02", REPO)
    assert params.as_of == dt.date(1998, 2, 28)
    assert params.as_of_exclusive == dt.datetime(1998, 3, 1)


def _project_with(
    tmp_path: Path, period_text: str, defaults_extra: str = "", dataset_extra: str = ""
) -> Path:
    (tmp_path / "params" / DATASET).mkdir(parents=True)
    (tmp_path / "params" / "defaults.yaml").write_text(defaults_text() + defaults_extra)
    dataset = (REPO / "params" / DATASET / "dataset.yaml").read_text() + dataset_extra
    (tmp_path / "params" / DATASET / "dataset.yaml").write_text(dataset)
    (tmp_path / "params" / DATASET / "1998-06.yaml").write_text(period_text)
    (tmp_path / "data" / "raw" / DATASET).mkdir(parents=True)
    (tmp_path / "data" / "raw" / DATASET / "cdnow_transactions.txt").write_text(cdnow_head(20))
    return tmp_path


BASE = 'period: "1998-06"\nperiod_start: 1998-06-01\nperiod_end: 1998-06-30\n'


@pytest.mark.parametrize(
    ("period_text", "expected"),
    [
        (
            BASE + "cleaning:\n  retruns: net\n",
            "1998-06.yaml: unknown setting 'cleaning.retruns'; check its spelling",
        ),
        (BASE + "seed: lots\n", "1998-06.yaml: setting 'seed' is invalid (got 'lots')"),
        (
            BASE + "behaviour:\n  churn_window_days: 90\n",
            "1998-06.yaml: setting 'behaviour.churn_window_days' is now 'churn.window_days' (one setting "
            "for both uses); rename it.",
        ),
        (
            'period: "1998-06"\nperiod_start: 1998-06-30\nperiod_end: 1998-06-01\n',
            "period_end 1998-06-01 is before period_start 1998-06-30",
        ),
        ('period: "1998-06"\nperiod_start: 1998-06-01\n', "1998-06.yaml: setting 'period_end' is required"),
        (
            'period: "1998-07"\nperiod_start: 1998-06-01\nperiod_end: 1998-06-30\n',
            "setting 'period' is '1998-07' but the file is for '1998-06'",
        ),
        (
            BASE + "cleaning:\n  returns: sometimes\n",
            "setting 'cleaning.returns' is invalid (got 'sometimes')",
        ),
        (
            BASE + "period_end: 1998-06-31\n",
            "1998-06.yaml: a value is invalid (day is out of range for month)",
        ),
        (BASE + "cleaning: [\n", "1998-06.yaml: not valid YAML at line"),
        (
            BASE + "sources:\n  transactions:\n    columns:\n      amount: null\n",
            "setting 'sources.transactions.columns.amount' is invalid",
        ),
    ],
)
def test_mistakes_fail_with_one_sentence_naming_file_and_key(
    tmp_path: Path, period_text: str, expected: str
) -> None:
    root = _project_with(tmp_path, period_text)
    with pytest.raises(ParamsError) as caught:
        load_params(DATASET, "1998-06", root)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message and message.count(". ") <= 1


def test_a_typo_in_defaults_blames_defaults(tmp_path: Path) -> None:
    root = _project_with(tmp_path, BASE, defaults_extra="engine_threads: 4\n")
    with pytest.raises(ParamsError, match=r"defaults\.yaml: unknown setting 'engine_threads'"):
        load_params(DATASET, "1998-06", root)


def test_a_missing_period_file_says_how_to_create_it(tmp_path: Path) -> None:
    root = _project_with(tmp_path, BASE)
    with pytest.raises(
        ParamsError,
        match=r"cdnow/1999-01\.yaml: file not found; create it with `python -m helpers new-period 1999-01 "
        r"--dataset cdnow`\.",
    ):
        load_params(DATASET, "1999-01", root)


def test_new_period_writes_a_valid_calendar_month(tmp_path: Path) -> None:
    root = _project_with(tmp_path, BASE)
    path = config.new_period_file("1998-07", DATASET, root)
    assert path == root / "params" / DATASET / "1998-07.yaml"
    params = load_params(DATASET, "1998-07", root)
    assert (params.period_start, params.period_end) == (dt.date(1998, 7, 1), dt.date(1998, 7, 31))
    with pytest.raises(ParamsError, match="already exists"):
        config.new_period_file("1998-07", DATASET, root)
    assert config.list_periods(DATASET, root) == ["1998-06", "1998-07"]
    with pytest.raises(ParamsError, match="'1998-7' is not a calendar month of the form YYYY-MM"):
        config.new_period_file("1998-7", DATASET, root)


def test_cli_reports_a_params_error_with_status_2_and_no_traceback(tmp_path: Path) -> None:
    root = _project_with(tmp_path, BASE + "cleaning:\n  retruns: net\n")
    done = subprocess.run(
        [sys.executable, "-m", "helpers", "validate", "--dataset", DATASET, "1998-06"],
        capture_output=True,
        text=True,
        env={"CA_PROJECT_ROOT": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: {root}/params/cdnow/1998-06.yaml: unknown setting 'cleaning.retruns'; "
        "check its spelling against params/defaults.yaml."
    ]


def test_cli_new_period_and_validate(tmp_path: Path) -> None:
    root = _project_with(tmp_path, BASE)
    env = {"CA_PROJECT_ROOT": str(root), "PATH": "/usr/bin:/bin"}
    made = subprocess.run(
        [sys.executable, "-m", "helpers", "new-period", "1998-07"], capture_output=True, text=True, env=env
    )
    assert made.returncode == 0, made.stderr
    checked = subprocess.run(
        [sys.executable, "-m", "helpers", "validate"], capture_output=True, text=True, env=env
    )
    assert checked.stdout.splitlines() == ["cdnow 1998-06: ok", "cdnow 1998-07: ok"]


def test_duckdb_gets_the_memory_limit_and_spills_outside_the_notebooks_folder(
    tmp_path: Path, monkeypatch
) -> None:
    import tempfile

    import duckdb

    from helpers import engine
    from helpers.config import EngineConfig

    def setting(con, name: str) -> str:
        return con.raw_sql(f"SELECT current_setting('{name}')").fetchone()[0]

    default = engine.connect(load_params(DATASET, "1998-06").engine)
    assert setting(default, "memory_limit") == "953.6 MiB"  # 1GB = 10^9 bytes, DuckDB prints binary units
    spill_root = Path(tempfile.gettempdir()) / "customer-analytics-duckdb"
    assert setting(default, "temp_directory") == str(
        spill_root / str(os.getpid())
    )  # this process's own folder, which only this user can enter (spilled rows are customer data)
    assert oct((spill_root / str(os.getpid())).stat().st_mode & 0o777) == "0o700"
    monkeypatch.setenv("CA_PROJECT_ROOT", str(tmp_path))
    chosen = engine.connect(EngineConfig(memory_limit="2GB", temp_directory="spill"))
    assert setting(chosen, "memory_limit") == "1.8 GiB"
    assert setting(chosen, "temp_directory") == str(tmp_path / "spill")  # relative: under the project root
    # What a killed kernel left (a pid that no longer runs) is deleted; a running process's folder stays.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (spill_root / dead.stdout.strip()).mkdir(parents=True, exist_ok=True)
    (spill_root / dead.stdout.strip() / "duckdb_temp_block-1.block").write_bytes(b"x")
    (spill_root / "1").mkdir(exist_ok=True)  # pid 1 always runs
    engine.connect(EngineConfig())
    assert not (spill_root / dead.stdout.strip()).exists() and (spill_root / "1").is_dir()
    (spill_root / "1").rmdir()
    own = duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert (
        setting(engine.connect(EngineConfig(memory_limit=None)), "memory_limit") == own
    )  # null: DuckDB's 80% of RAM


def test_a_table_materialised_on_disk_is_a_parquet_file_in_the_spill_folder(
    tmp_path: Path, monkeypatch
) -> None:
    import ibis

    from helpers import engine
    from helpers.config import EngineConfig

    monkeypatch.setenv("CA_PROJECT_ROOT", str(tmp_path))
    con = engine.connect(EngineConfig(temp_directory="spill"))
    source = ibis.memtable({"n": [3, 1, 2]})
    stored = engine.materialise(con, "numbers", source.mutate(twice=source.n * 2), on_disk=True)
    assert stored.order_by("n").to_pandas()["twice"].tolist() == [2, 4, 6]
    assert [p.name for p in (tmp_path / "spill").iterdir()] == [f"numbers-{os.getpid()}.parquet"]
    again = engine.materialise(
        con, "numbers", source.filter(source.n > 1), on_disk=True
    )  # a rerun overwrites
    assert sorted(again.to_pandas()["n"]) == [2, 3] and len(list((tmp_path / "spill").iterdir())) == 1


def test_the_auto_memory_limit_grows_with_the_orders_between_1gb_and_half_the_memory(
    tmp_path: Path, monkeypatch
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from helpers.config import TransactionSource, auto_memory_limit

    def source(name: str, fmt: str) -> TransactionSource:
        return TransactionSource(
            format=fmt, path=name, columns={"customer_id": "c", "order_ts": "t", "amount": "a"}
        )

    pq.write_table(pa.table({"c": list(range(1000))}), tmp_path / "orders.parquet")
    (tmp_path / "orders.csv").write_bytes(b"x" * 4000)
    assert (
        auto_memory_limit(source("orders.parquet", "parquet"), tmp_path) == "1.0GB"
    )  # 1,000 orders: the minimum
    assert (
        auto_memory_limit(source("missing.parquet", "parquet"), tmp_path) == "1.0GB"
    )  # ingest reports the missing file
    assert (
        load_params(DATASET, "1998-06").engine.memory_limit == "1.0GB"
    )  # the bundled data, through the params default
    monkeypatch.setattr("helpers.config.AUTO_MIN_BYTES", 0)  # to see the rule itself on a small file
    assert auto_memory_limit(source("orders.parquet", "parquet"), tmp_path) == f"{1000 * 80 / 1e9:.1f}GB"
    monkeypatch.setattr("helpers.config.AUTO_BYTES_PER_ORDER", 10_000_000)  # 1,000 orders x 10 MB = 10 GB
    assert auto_memory_limit(source("orders.parquet", "parquet"), tmp_path) == "10.0GB"
    assert (
        auto_memory_limit(source("orders.csv", "csv"), tmp_path) == "1.0GB"
    )  # 4,000 bytes / 40 = 100 rows x 10 MB
    monkeypatch.setattr(
        "helpers.config.AUTO_BYTES_PER_ORDER", 10**12
    )  # far beyond the machine: half its memory
    half = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    assert auto_memory_limit(source("orders.parquet", "parquet"), tmp_path) == f"{half / 1e9:.1f}GB"


@pytest.mark.parametrize(
    ("defaults_extra", "dataset_extra", "period_extra", "expected"),
    [
        (
            "",
            "",
            "default_dataset: cdnow\n",
            "cdnow/1998-06.yaml: setting 'default_dataset' does not belong here; it goes in "
            "params/defaults.yaml.",
        ),
        (
            "",
            "period_end: 1998-06-30\n",
            "",
            "cdnow/dataset.yaml: setting 'period_end' does not belong here; it goes in the period's own "
            "file.",
        ),
        (
            "sources: {}\n",
            "",
            "",
            "defaults.yaml: setting 'sources' does not belong here; it goes in the dataset's dataset.yaml.",
        ),
        (
            "",
            "",
            "default_period: 1998-05\n",
            "cdnow/1998-06.yaml: setting 'default_period' does not belong here; it goes in the dataset's "
            "dataset.yaml.",
        ),
        (
            "",
            "dataset: other\n",
            "",
            "cdnow/dataset.yaml: setting 'dataset' does not belong here; it goes in the folder name under "
            "params/",
        ),
        (
            "",
            "",
            "compare_with: 1998-01\n",
            "cdnow/1998-06.yaml: setting 'compare_with' names '1998-01', which is not a period of "
            "dataset cdnow",
        ),
        (
            "",
            "",
            "compare_with: 1998-06\n",
            "setting 'compare_with' is invalid: compare_with names the period itself",
        ),
        ("", "", 'compare_with: "no such"\n', "setting 'compare_with' is invalid (got 'no such')"),
        (
            "",
            "",
            "sources:\n  transactions:\n    delimeter: ','\n",
            "cdnow/1998-06.yaml: unknown setting 'sources.transactions.delimeter'; check its spelling "
            "against the "
            "source settings in README.md ('Your own dataset by hand').",
        ),
        (
            "",
            "sources:\n  transactions:\n    columns:\n      custome_id: x\n",
            "",
            "unknown setting 'sources.transactions.columns.custome_id'",
        ),
        (
            "",
            "titel: Shop\n",
            "",
            "cdnow/dataset.yaml: unknown setting 'titel'; check its spelling against params/defaults.yaml (a "
            "dataset.yaml may also set title, default_period and sources).",
        ),
        (
            "",
            "",
            "currency: EUR\n",
            "cdnow/1998-06.yaml: setting 'currency' does not belong here; it goes in the dataset's "
            "dataset.yaml.",
        ),
        (
            "",
            "currency: usd\n",
            "",
            "cdnow/dataset.yaml: setting 'currency' is invalid (got 'usd'): 'usd' is not an ISO 4217 "
            "currency code (three capital letters, e.g. USD).",
        ),
        ("", "report:\n  language: fr\n", "", "cdnow/dataset.yaml: setting 'report.language' is invalid"),
    ],
)
def test_a_setting_in_the_wrong_file_is_an_error_naming_where_it_goes(
    tmp_path: Path, defaults_extra: str, dataset_extra: str, period_extra: str, expected: str
) -> None:
    root = _project_with(tmp_path, BASE + period_extra, defaults_extra, dataset_extra)
    with pytest.raises(ParamsError) as caught:
        load_params(DATASET, "1998-06", root)
    assert expected in str(caught.value)


def test_compare_with_never_names_a_later_period_and_default_period_must_exist(tmp_path: Path) -> None:
    root = _project_with(tmp_path, BASE)
    config.new_period_file("1998-07", DATASET, root)
    (root / "params" / DATASET / "1998-06.yaml").write_text(BASE + "compare_with: 1998-07\n")
    with pytest.raises(
        ParamsError,
        match=r"cdnow/1998-06\.yaml: setting 'compare_with' names '1998-07', which ends "
        r"after 1998-06; a period is compared with an earlier one",
    ):
        load_params(DATASET, "1998-06", root)
    dataset = root / "params" / DATASET / "dataset.yaml"
    dataset.write_text(dataset.read_text().replace('default_period: "1998-06"', 'default_period: "1998-6"'))
    with pytest.raises(
        ParamsError,
        match=r"cdnow/dataset\.yaml: setting 'default_period' names '1998-6', which is "
        r"not a period of dataset cdnow; name one of its periods: 1998-06, 1998-07",
    ):
        load_params(DATASET, root=root)


def test_compare_with_names_a_period_of_the_same_dataset_or_null(tmp_path: Path) -> None:
    root = _project_with(tmp_path, BASE + "compare_with: 1998-05\n")
    config.new_period_file("1998-05", DATASET, root)
    assert load_params(DATASET, "1998-06", root).compare_with == "1998-05"
    (root / "params" / DATASET / "1998-06.yaml").write_text(BASE + "compare_with: null\n")
    assert load_params(DATASET, "1998-06", root).compare_with is None
    (root / "params" / DATASET / "1998-06.yaml").write_text(BASE)
    assert load_params(DATASET, "1998-06", root).compare_with == config.LATEST


def test_an_unknown_dataset_names_the_datasets_there_are(tmp_path: Path) -> None:
    root = _project_with(tmp_path, BASE)
    with pytest.raises(
        ParamsError, match=r"params/shop/dataset\.yaml: file not found; the datasets are cdnow; create"
    ):
        load_params("shop", "1998-06", root)
    with pytest.raises(ParamsError, match=r"dataset 'My Shop' is not a dataset name"):
        load_params("My Shop", "1998-06", root)


def model_defaults(model: type) -> dict:
    """Every setting of a params model that has a default, nested as in the YAML."""
    from pydantic import BaseModel

    found = {}
    for name, info in model.model_fields.items():
        if info.is_required():
            continue
        value = info.get_default(call_default_factory=True)
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        elif isinstance(value, list):
            value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
        found[name] = value
    return found


def as_yaml_values(value):
    """A default as YAML reads it back: tuples as lists."""
    if isinstance(value, dict):
        return {k: as_yaml_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_yaml_values(v) for v in value]
    return value


def test_defaults_yaml_states_exactly_the_models_defaults() -> None:
    """The params model is the only statement of defaults: params/defaults.yaml lists every setting
    that has a default with that very value (plus default_dataset, which only the project knows), and
    names no source."""
    import yaml

    written = yaml.safe_load((REPO / "params" / "defaults.yaml").read_text())
    expected = as_yaml_values(model_defaults(config.Params))
    for section in ("dataset", *config.DATASET_KEYS):  # per dataset, never in defaults.yaml
        expected.pop(section, None)
    expected["default_dataset"] = written.get("default_dataset")
    assert "sources" not in written
    assert as_yaml_values(written) == expected


def test_a_datasets_currency_and_language() -> None:
    assert (config.Params.model_fields["currency"].default, config.ReportConfig().language) == ("USD", "en")
