"""Shared fixtures: small hand-built sources, and a tiny copy of the project that runs the real
notebooks on the first few hundred CDNOW customers (the 'tiny fixture period')."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from helpers import config, engine

REPO = Path(__file__).resolve().parents[1]
DATASET = "cdnow"
CDNOW = REPO / "data" / "raw" / DATASET / "cdnow_transactions.txt"
TINY_CUSTOMERS = 400  # CDNOW customers 00001..00400: about 1,200 rows, ~110 repeat buyers


def cdnow_head(max_customer: int = TINY_CUSTOMERS) -> str:
    """The CDNOW log restricted to its first customers, in the original whitespace format."""
    if not CDNOW.is_file():
        raise FileNotFoundError(f"{CDNOW} is missing; run `make data` first.")
    lines = CDNOW.read_text().splitlines()
    kept = [lines[0]] + [ln for ln in lines[1:] if ln.split() and int(ln.split()[0]) <= max_customer]
    return "\n".join(kept) + "\n"


def defaults_text() -> str:
    """The committed params/defaults.yaml with cdnow as the default dataset (whatever a user made the
    default in their checkout: test projects hold cdnow only)."""
    text = (REPO / "params" / "defaults.yaml").read_text()
    return re.sub(r"^default_dataset: *\S+", "default_dataset: cdnow", text, count=1, flags=re.M)


def make_project(folder: Path, periods: tuple[str, ...] = ("1998-05", "1998-06")) -> Path:
    """A copy of the project (params, notebooks) whose dataset cdnow has the tiny CDNOW extract as its
    data and ``periods`` as its periods."""
    (folder / "params" / DATASET).mkdir(parents=True)
    (folder / "params" / "defaults.yaml").write_text(defaults_text())
    shutil.copyfile(REPO / "params" / DATASET / "dataset.yaml", folder / "params" / DATASET / "dataset.yaml")
    for period in periods:
        config.new_period_file(period, DATASET, root=folder)
    shutil.copytree(
        REPO / "notebooks", folder / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    raw = folder / "data" / "raw" / DATASET
    raw.mkdir(parents=True)
    (raw / "cdnow_transactions.txt").write_text(cdnow_head())
    return folder


JUNE = 'period: "1998-06"\nperiod_start: 1998-06-01\nperiod_end: 1998-06-30\n'


def params_project(
    root: Path, period_extra: str = "", dataset_extra: str = "", defaults_extra: str = ""
) -> Path:
    """A project holding only params: the committed defaults and cdnow's dataset.yaml (each with
    ``*_extra`` appended) and the period 1998-06 with ``period_extra``."""
    (root / "params" / DATASET).mkdir(parents=True)
    (root / "params" / "defaults.yaml").write_text(defaults_text() + defaults_extra)
    dataset = (REPO / "params" / DATASET / "dataset.yaml").read_text() + dataset_extra
    (root / "params" / DATASET / "dataset.yaml").write_text(dataset)
    (root / "params" / DATASET / "1998-06.yaml").write_text(JUNE + period_extra)
    return root


def period_file(root: Path, period: str, dataset: str = DATASET) -> Path:
    """A period's params file in a test project."""
    return root / "params" / dataset / f"{period}.yaml"


def products(root: Path, period: str, dataset: str = DATASET) -> Path:
    """A period's published products folder in a test project."""
    return root / "data" / "processed" / dataset / period


def report_folder(root: Path, period: str, dataset: str = DATASET) -> Path:
    """A period's published report folder in a test project."""
    return root / "reports" / dataset / period


RESTRICTED = "restricted"  # the customer-level audience's folder by default (report.audiences.crm)


def restricted_folder(root: Path, period: str, dataset: str = DATASET) -> Path:
    """A period's published customer-level folder (stage pages, notebooks, exports, the full page)."""
    return report_folder(root, period, dataset) / RESTRICTED


@pytest.fixture
def tiny_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "project")
    monkeypatch.setenv("CA_PROJECT_ROOT", str(root))
    return root


MIRROR = "mirror"  # a second dataset: CDNOW's tiny extract with the same ids and labels, amounts x 3
MIRROR_FACTOR = 3
CATALOG_LOG = "catalog_access.jsonl"  # what every notebook of the built project asked the catalog for


def add_mirror_dataset(root: Path, periods: tuple[str, ...] = ("1998-05", "1998-06")) -> None:
    """A second dataset beside cdnow whose customer ids and period labels are the same but whose every
    amount is three times cdnow's: anything that mixed the two would show in its numbers."""
    folder = root / "params" / MIRROR
    folder.mkdir(parents=True)
    text = (root / "params" / DATASET / "dataset.yaml").read_text()
    text = text.replace('title: "CDNOW"', 'title: "Mirror shop"').replace(
        f"data/raw/{DATASET}/", f"data/raw/{MIRROR}/"
    )
    (folder / "dataset.yaml").write_text(text)
    for period in periods:
        config.new_period_file(period, MIRROR, root=root)
    lines = (root / "data" / "raw" / DATASET / "cdnow_transactions.txt").read_text().splitlines()
    rows = [line.split() for line in lines[1:]]
    scaled = [lines[0]] + [" ".join([*r[:3], f"{float(r[3]) * MIRROR_FACTOR:.2f}"]) for r in rows]
    (root / "data" / "raw" / MIRROR).mkdir(parents=True)
    (root / "data" / "raw" / MIRROR / "cdnow_transactions.txt").write_text("\n".join(scaled) + "\n")


DEMO, DEMO_PERIOD = "demo", "2024-12"  # a small demo shop: every source kind, ids pseudonymised
DEMO_CUSTOMERS, DEMO_SEED = 300, 7
DEMO_KEY_ENV, DEMO_KEY = "CA_TEST_DEMO_KEY", "demo-test-key-5b9d1c7e"


def add_demo_dataset(root: Path) -> None:
    """The demo shop's generator with 300 customers, its params as `make data` writes them, and customer
    ids pseudonymised (key from DEMO_KEY_ENV)."""
    from helpers import synth_shop

    shop = synth_shop.generate(DEMO_CUSTOMERS, DEMO_SEED)
    synth_shop.write(shop, root / "data" / "raw" / DEMO, DEMO_CUSTOMERS, DEMO_SEED)
    synth_shop.write_params(root / "params" / DEMO, f"data/raw/{DEMO}")
    with (root / "params" / DEMO / "dataset.yaml").open("a") as params:
        params.write(f"privacy:\n  pseudonymise_customer_id: true\n  key_env: {DEMO_KEY_ENV}\n")


@pytest.fixture(scope="session")
def built_tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project, built once by the runner and shared by the runner, catalog, sources and browser
    tests (tests that change it must work on a copy): cdnow 1998-05, then the mirror dataset's 1998-06
    (whose only earlier period is not built), then cdnow 1998-06 (compared with cdnow 1998-05), then
    the small demo shop's 2024-12. Every product a notebook asked the catalog for is logged in
    ``CATALOG_LOG``."""
    import os

    from helpers import catalog, runner

    root = make_project(tmp_path_factory.mktemp("built") / "project")
    add_mirror_dataset(root)
    add_demo_dataset(root)
    os.environ["CA_PROJECT_ROOT"] = str(root)
    os.environ[catalog.LOG_ENV] = str(root / CATALOG_LOG)
    os.environ[DEMO_KEY_ENV] = DEMO_KEY
    try:
        for dataset, period in [
            (DATASET, "1998-05"),
            (MIRROR, "1998-06"),
            (DATASET, "1998-06"),
            (DEMO, DEMO_PERIOD),
        ]:
            result = runner.run_period(dataset, period, root=root, log=lambda _: None)
            assert result.ok, result.message
    finally:
        del os.environ["CA_PROJECT_ROOT"]
        del os.environ[catalog.LOG_ENV]
        del os.environ[DEMO_KEY_ENV]
    return root


PLANTED_CUSTOMERS, PLANTED_SEED = 6000, 20240101  # the bundled seed; enough customers to measure effects


@pytest.fixture(scope="session")
def demo_planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo shop at 6,000 customers (the bundled data's seed, ids as the files hold them), its default
    period built by the runner: the tests that recover the generator's planted effects read its products
    and run the stage helpers on its clean sources."""
    import os

    from helpers import runner, synth_shop

    root = make_project(tmp_path_factory.mktemp("planted") / "project", periods=())
    shop = synth_shop.generate(PLANTED_CUSTOMERS, PLANTED_SEED)
    synth_shop.write(shop, root / "data" / "raw" / DEMO, PLANTED_CUSTOMERS, PLANTED_SEED)
    synth_shop.write_params(root / "params" / DEMO, f"data/raw/{DEMO}")
    os.environ["CA_PROJECT_ROOT"] = str(root)
    try:
        result = runner.run_period(DEMO, DEMO_PERIOD, root=root, log=lambda _: None)
    finally:
        del os.environ["CA_PROJECT_ROOT"]
    assert result.ok, result.message
    return root


@pytest.fixture
def con():
    return engine.connect()


SPARK_TEST_CONFIG = {"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"}


def run_on_spark(root: Path) -> None:
    """Set the project's cdnow dataset to the engine of the ``spark`` fixture (local[2], two
    partitions): a stage's ``engine.connect`` then reuses that session."""
    dataset = root / "params" / DATASET / "dataset.yaml"
    settings = ", ".join(f'"{k}": "{v}"' for k, v in SPARK_TEST_CONFIG.items())
    dataset.write_text(
        dataset.read_text()
        + f'\nengine:\n  backend: spark\n  spark_master: "local[2]"\n  spark_config: {{{settings}}}\n'
    )


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (two cores, two shuffle partitions) for every Spark test of the run:
    starting one takes about 10 s."""
    from helpers.config import EngineConfig

    con = engine.connect(
        EngineConfig(backend="spark", spark_master="local[2]", spark_config=SPARK_TEST_CONFIG)
    )
    yield con
    con._session.stop()


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
