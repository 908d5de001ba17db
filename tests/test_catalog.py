"""The stage catalog: its table against what the notebooks really open, datasets that never touch each
other, ``--only`` re-running everything downstream, and a skipped stage leaving no trace on the page."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import catalog, runner
from helpers.catalog import CatalogError
from helpers.config import load_params

from conftest import (
    CATALOG_LOG,
    DATASET,
    DEMO,
    DEMO_PERIOD,
    MIRROR,
    MIRROR_FACTOR,
    REPO,
    params_project,
    period_file,
    products,
    report_folder,
    restricted_folder,
)

# ------------------------------------------------------------------------------------ the table


def test_every_stage_reads_only_products_that_an_earlier_stage_writes() -> None:
    written: set[str] = set()
    for stage in catalog.STAGES:
        for ref in stage.refs("reads"):
            writer = catalog.writer_of(ref)
            assert writer is not None and writer.number < stage.number, f"{stage.notebook} reads {ref}"
        for ref in stage.refs("earlier"):
            assert catalog.writer_of(ref) is not None
        written |= set(stage.refs("writes"))
        for ref in (*stage.refs("reads"), *stage.refs("writes")):
            assert catalog.file_of(ref)
    assert len({s.number for s in catalog.STAGES}) == len(catalog.STAGES) == 10
    assert [s.notebook for s in catalog.STAGES] == [
        "01_ingest", "02_cleaning", "03_rfm", "04_behaviour", "05_voice", "06_basket", "07_clv",
        "08_clustering", "09_scoring", "10_report",
    ]  # fmt: skip
    files = [catalog.file_of(ref) for ref in written]
    assert len(files) == len(set(files)), "one product, one file"


def test_downstream_stages_follow_the_products() -> None:
    def after(number: str) -> list[str]:
        return [s.number for s in catalog.downstream([catalog.stage(number)])]

    assert after("08") == ["09", "10"]
    assert after("07") == ["09", "10"]
    assert after("03") == [
        "04",
        "05",
        "06",
        "08",
        "09",
        "10",
    ]  # CLV reads the clean orders, not the RFM table
    assert after("04") == after("05") == ["08", "09", "10"]  # clusters and scores may weigh visits, voice
    assert after("02") == ["03", "04", "05", "06", "07", "08", "09", "10"]
    assert after("10") == []


def test_the_stage_table_is_printed_by_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "helpers", "stages"], capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "01_ingest      needs transactions"
    assert "06_basket      needs transactions.product_id" in lines
    assert "               writes 07_clv.parquet, 07_model.json, 07_clv_holdout.parquet" in lines


def test_a_notebook_asking_for_an_undeclared_product_is_told_where_to_declare_it(tmp_path: Path) -> None:
    root = params_project(tmp_path)
    stage = catalog.open_stage("08", DATASET, "1998-06", str(tmp_path / "products"), root=root)
    with pytest.raises(
        CatalogError,
        match=r"08_clustering reads 'scores', which the stage catalog does not "
        r"declare; add it to the stage's reads in helpers/catalog\.py",
    ):
        stage.input("scores")
    with pytest.raises(CatalogError, match=r"08_clustering writes 'rfm', which the stage catalog"):
        stage.output("rfm")
    assert stage.input("clean:customers?") is None  # optional and absent
    with pytest.raises(
        catalog.ProductError,
        match=r"03_rfm\.parquet: product not found; run notebook 03_rfm "
        r"first\.",
    ):
        stage.input("rfm")
    assert stage.output("clusters") == tmp_path / "products" / "08_clusters.parquet"


def test_a_stage_is_skipped_when_its_sources_or_its_notebook_are_missing(tmp_path: Path) -> None:
    root = params_project(tmp_path)
    folder = root / "notebooks"
    folder.mkdir()
    for name in ["01_ingest", "02_cleaning", "03_rfm", "07_clv", "09_scoring", "10_report"]:
        (folder / f"{name}.ipynb").write_text("{}")
    params = load_params(DATASET, "1998-06", root)
    plan = runner.plan_stages(params, root)
    assert [s.notebook for s, _ in plan.run] == [
        "01_ingest",
        "02_cleaning",
        "03_rfm",
        "07_clv",
        "09_scoring",
        "10_report",
    ]
    assert {s.notebook: why for s, why in plan.skipped} == {
        "04_behaviour": "no events or leads source",
        "05_voice": "no interactions or feedback source",
        "06_basket": "transactions have no product_id column",
        "08_clustering": "no notebook 08_clustering.ipynb in notebooks/",
    }
    rerun = runner.plan_stages(params, root, only=["07"])
    assert [s.notebook for s, _ in rerun.run] == ["07_clv", "09_scoring", "10_report"]
    assert rerun.lines("cdnow 1998-06") == [
        "[cdnow 1998-06] re-running 07_clv and the stages downstream of it: 09_scoring, 10_report"
    ]
    with pytest.raises(
        runner.UsageError,
        match=r"--only names 08_clustering, which cannot run for this period "
        r"\(no notebook 08_clustering\.ipynb in notebooks/\)",
    ):
        runner.plan_stages(params, root, only=["08"])
    (folder / "03_rfm.ipynb").unlink()  # what needs the RFM table cannot run either
    skipped = {s.notebook: why for s, why in runner.plan_stages(params, root).skipped}
    assert skipped["09_scoring"] == "it needs the products of 03_rfm, which is skipped"
    assert skipped["10_report"] == "it needs the products of 03_rfm, which is skipped"


# ------------------------------------------------------------------------- against the notebooks


def accesses(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / CATALOG_LOG).read_text().splitlines()]


def test_the_catalog_matches_what_every_notebook_opens(built_tiny: Path) -> None:
    """Recorded while the tiny chain ran: every product a notebook asked for is declared by its stage,
    every product its stage must read or write was asked for, and the published folder holds exactly
    the files the stages that ran declare."""
    log = [a for a in accesses(built_tiny) if (a["dataset"], a["period"]) == (DATASET, "1998-06")]
    ran = sorted({a["stage"] for a in log})
    assert ran == ["01", "02", "03", "07", "08", "09", "10"]
    for number in ran:
        stage = catalog.stage(number)
        for mode, kind in (("read", "reads"), ("write", "writes"), ("earlier", "earlier")):
            asked = {a["product"] for a in log if a["stage"] == number and a["mode"] == mode}
            declared = stage.refs(kind)
            assert asked <= set(declared), f"{stage.notebook} {mode}s undeclared {asked - set(declared)}"
            if kind != "earlier":
                required = {ref for ref, needed in declared.items() if needed}
                assert required <= asked, f"{stage.notebook} declares but never {mode}s {required - asked}"
    written = {catalog.file_of(a["product"]) for a in log if a["mode"] == "write"}
    in_products = {p.name for p in products(built_tiny, "1998-06").iterdir()}
    in_report = {p.name for p in restricted_folder(built_tiny, "1998-06").iterdir()} & written
    assert in_products | in_report == written, "every published product file goes through the catalog"


# ------------------------------------------------------------------------------------ datasets


def test_two_datasets_with_the_same_ids_and_labels_never_touch_each_other(built_tiny: Path) -> None:
    """The mirror dataset shares cdnow's customer ids and period labels; cdnow 1998-05 was built before
    mirror 1998-06. Mirror's page is compared with nothing (its own 1998-05 was never built); cdnow's
    1998-06 is compared with cdnow's 1998-05; every number of mirror is three times cdnow's."""
    mirror, cdnow = products(built_tiny, "1998-06", MIRROR), products(built_tiny, "1998-06")
    mirror_orders = pd.read_parquet(mirror / "02_transactions.parquet")
    cdnow_orders = pd.read_parquet(cdnow / "02_transactions.parquet")
    assert set(mirror_orders["customer_id"]) == set(cdnow_orders["customer_id"])  # the same ids
    assert mirror_orders["amount"].sum() == pytest.approx(MIRROR_FACTOR * cdnow_orders["amount"].sum())
    mirror_rfm, cdnow_rfm = (
        pd.read_parquet(mirror / "03_rfm.parquet"),
        pd.read_parquet(cdnow / "03_rfm.parquet"),
    )
    assert mirror_rfm["monetary_total"].tolist() == pytest.approx(
        (MIRROR_FACTOR * cdnow_rfm["monetary_total"]).tolist()
    )
    mirror_page = (report_folder(built_tiny, "1998-06", MIRROR) / "index.html").read_text()
    assert "No earlier period of Mirror shop has been built, so no changes are shown." in mirror_page
    assert "Where this period's customers stood in" not in mirror_page  # no migration against cdnow's ids
    cdnow_page = (report_folder(built_tiny, "1998-06") / "index.html").read_text()
    assert "Compared with 1998-05, the latest earlier period of CDNOW." in cdnow_page
    assert "Where this period's customers stood in 1998-05 (rows)" in cdnow_page
    for a in accesses(built_tiny):
        assert a["mode"] != "earlier" or a["dataset"] == DATASET or not a["found"]
    index = (built_tiny / "reports" / "index.html").read_text()
    assert index.index("CDNOW") < index.index("Mirror shop")
    assert "cdnow/1998-06/index.html" in index and "mirror/1998-06/index.html" in index
    assert index.index("cdnow/1998-06/index.html") < index.index("cdnow/1998-05/index.html")  # newest first
    run = json.loads((report_folder(built_tiny, "1998-06", MIRROR) / "run.json").read_text())
    assert (run["dataset"], run["period"], run["title"]) == (MIRROR, "1998-06", "Mirror shop")


def copy_of(built: Path, tmp_path: Path) -> Path:
    """A copy of the built tiny project to change (the shared one must stay as built)."""
    root = tmp_path / "project"
    shutil.copytree(built, root, symlinks=True)
    return root


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "helpers", "run", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "CA_PROJECT_ROOT": str(root)},
        timeout=600,
    )


def started(root: Path, notebook: str) -> str:
    executed = restricted_folder(root, "1998-06") / "notebooks" / f"{notebook}.ipynb"
    return json.loads(executed.read_text())["metadata"]["papermill"]["start_time"]


def test_only_reruns_the_stage_and_everything_downstream_of_it(built_tiny: Path, tmp_path: Path) -> None:
    """``--only 08`` with a new k: clustering, scoring and the report run again and show the new
    clusters; the stages before it keep their products and pages."""
    root = copy_of(built_tiny, tmp_path)
    before = {
        name: started(root, name) for name in ["03_rfm", "07_clv", "08_clustering", "09_scoring", "10_report"]
    }
    rfm_bytes = (products(root, "1998-06") / "03_rfm.parquet").read_bytes()
    params = period_file(root, "1998-06")
    params.write_text(params.read_text() + "clustering:\n  k: 2\n")
    done = run(root, "--period", "1998-06", "--only", "08")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "[cdnow 1998-06] re-running 08_clustering and the stages downstream of it: 09_scoring, 10_report"
        in done.stdout
    )
    after = {name: started(root, name) for name in before}
    assert [n for n in before if after[n] != before[n]] == ["08_clustering", "09_scoring", "10_report"]
    assert (products(root, "1998-06") / "03_rfm.parquet").read_bytes() == rfm_bytes
    personas = pd.read_parquet(products(root, "1998-06") / "08_personas.parquet")
    assert len(personas) == 2
    names = set(pd.read_parquet(products(root, "1998-06") / "08_clusters.parquet")["cluster_name"])
    report_page = (report_folder(root, "1998-06") / "index.html").read_text()
    assert all(name in report_page for name in names)  # the published page shows the new clusters
    timings = json.loads((report_folder(root, "1998-06") / "run.json").read_text())["stages"]
    assert [s["notebook"] for s in timings] == [
        "01_ingest",
        "02_cleaning",
        "03_rfm",
        "07_clv",
        "08_clustering",
        "09_scoring",
        "10_report",
    ]


def test_only_is_refused_when_the_sources_changed_since_the_build(built_tiny: Path, tmp_path: Path) -> None:
    """The demo's feedback source taken out of dataset.yaml: ``--only 05`` would read 02's clean feedback
    of the old build and still show scores, so it is refused, naming the change, and nothing is touched."""
    import yaml

    root = copy_of(built_tiny, tmp_path)
    settings = root / "params" / DEMO / "dataset.yaml"
    dataset = yaml.safe_load(settings.read_text())
    del dataset["sources"]["feedback"]
    settings.write_text(yaml.safe_dump(dataset, allow_unicode=True))
    voice = (products(root, DEMO_PERIOD, DEMO) / "05_voice.json").read_bytes()
    done = run(root, "--dataset", DEMO, "--period", DEMO_PERIOD, "--only", "05")
    assert done.returncode != 0
    assert (
        f"--only cannot re-run stages of {DEMO} {DEMO_PERIOD}: its sources changed since it was built "
        f"(feedback removed in params/{DEMO}/dataset.yaml), so the stages not re-run hold products of the "
        "old sources; build it whole (without --only)."
    ) in " ".join((done.stdout + done.stderr).split())
    assert (products(root, DEMO_PERIOD, DEMO) / "05_voice.json").read_bytes() == voice


def test_a_skipped_stage_leaves_no_section_and_no_error(built_tiny: Path, tmp_path: Path) -> None:
    root = copy_of(built_tiny, tmp_path)
    (root / "notebooks" / "08_clustering.ipynb").unlink()
    shutil.rmtree(products(root, "1998-06"))
    shutil.rmtree(report_folder(root, "1998-06"))
    done = run(root, "--period", "1998-06")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "[cdnow 1998-06] 08_clustering skipped: no notebook 08_clustering.ipynb in notebooks/" in done.stdout
    )
    page = (report_folder(root, "1998-06") / "index.html").read_text()
    assert 'id="Clusters"' not in page and "#Clusters" not in page and "data-driven grouping" not in page
    assert 'id="Lifetime-value"' in page and "#Lifetime-value" in page
    assert (
        "08_clustering.html" not in page
        and not (restricted_folder(root, "1998-06") / "08_clustering.html").exists()
    )
    assert not re.search(r"Traceback|Error", page.split("</style>")[-1])
    assert not (products(root, "1998-06") / "08_clusters.parquet").exists()
    assert (products(root, "1998-06") / "09_scores.parquet").is_file()  # scoring ran without clusters


def test_the_compared_period_is_the_latest_built_one_of_the_dataset_with_ids_alike(tmp_path: Path) -> None:
    from helpers import config

    root = params_project(tmp_path)
    for period in ("1998-03", "1998-04", "1998-05"):
        config.new_period_file(period, DATASET, root)

    def build(period: str, dataset: str = DATASET, pseudonymised: bool = False) -> None:
        folder = products(root, period, dataset)
        folder.mkdir(parents=True)
        (folder / "10_headline.json").write_text("{}")
        (folder / "01_ingest.json").write_text(json.dumps({"customer_id_pseudonymised": pseudonymised}))

    def compared(period: str = "1998-06", extra: str = "") -> catalog.Comparison:
        if extra:
            period_file(root, period).write_text(period_file(root, period).read_text() + extra)
        return catalog.compared_period(load_params(DATASET, period, root), root)

    assert (
        compared("1998-03").sentence
        == "This is the first period of CDNOW: changes appear from the next period on."
    )
    assert compared().sentence == "No earlier period of CDNOW has been built, so no changes are shown."
    build("1998-05", MIRROR)  # another dataset's period with the same label is never looked at
    assert compared().label is None
    build("1998-03")
    build("1998-04")
    latest = compared()
    assert (latest.label, latest.params.period, latest.folder) == (
        "1998-04",
        "1998-04",
        products(root, "1998-04"),
    )
    assert latest.sentence == "Compared with 1998-04, the latest earlier period of CDNOW."
    build("1998-05", pseudonymised=True)  # later, but its ids are keyed hashes and this period's are not
    assert compared().label == "1998-04"
    explicit = compared(extra="compare_with: 1998-05\n")
    assert explicit.label is None and explicit.sentence == (
        "1998-05 was built with customer ids pseudonymised and this period with ids in clear, so the two "
        "cannot be compared and no changes are shown."
    )
    period_file(root, "1998-06").write_text(
        period_file(root, "1998-06").read_text().replace("1998-05", "1998-03")
    )
    assert (compared().label, compared().sentence) == ("1998-03", "Compared with 1998-03.")
    nothing = compared(extra="compare_with: null\n")
    assert (
        nothing.label is None
        and nothing.sentence == "This period is not compared with another (compare_with is null)."
    )
