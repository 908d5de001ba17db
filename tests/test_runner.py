"""The runner end to end on the tiny fixture period: products, HTML pages, index pages, accounting,
and a failure that names notebook and cell and leaves the published report untouched."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import cache

from conftest import DATASET, period_file, products, report_folder, restricted_folder


def tiny_rows(root: Path) -> pd.DataFrame:
    """The tiny source parsed independently of the pipeline (plain Python), as the oracle."""
    lines = (root / "data" / "raw" / DATASET / "cdnow_transactions.txt").read_text().splitlines()[1:]
    rows = [ln.split() for ln in lines if ln.strip()]
    return pd.DataFrame(rows, columns=["customer_id", "date", "cds", "dollars"]).astype({"dollars": float})


@pytest.fixture(scope="module")
def built(built_tiny: Path) -> Path:
    return built_tiny


def test_products_are_published_with_exact_accounting(built: Path) -> None:
    folder = products(built, "1998-06")
    oracle = tiny_rows(built)
    quality = json.loads((folder / "02_quality.json").read_text())
    zero = int((oracle["dollars"] == 0).sum())
    assert quality["rows_in"] == len(oracle)
    assert quality["rows_rejected"] == zero == quality["rejected_by_reason"]["zero_amount"]
    assert quality["rows_kept"] == len(oracle) - zero
    kept = pd.read_parquet(folder / "02_transactions.parquet")
    rejected = pd.read_parquet(folder / "02_transactions_rejected.parquet")
    assert len(kept) + len(rejected) == len(oracle)
    assert sorted(kept["source_row"].tolist() + rejected["source_row"].tolist()) == list(
        range(1, len(oracle) + 1)
    )
    assert kept["amount"].sum() == pytest.approx(oracle["dollars"].sum())
    assert kept["customer_id"].nunique() == oracle.loc[oracle["dollars"] != 0, "customer_id"].nunique()
    assert not list((built / "data" / "processed").glob(".staging/*/*")), "staging folders must be cleaned up"


def test_report_pages_hide_code_and_embed_images(built: Path) -> None:
    report = restricted_folder(built, "1998-06")  # the stage pages are the customer-level audience's
    run = json.loads((report_folder(built, "1998-06") / "run.json").read_text())
    stages = [s["notebook"] for s in run["stages"]]
    assert stages[:2] == ["01_ingest", "02_cleaning"]
    for stage in stages:
        page = (report / f"{stage}.html").read_text()
        assert "Traceback" not in page and "Error" not in re.sub(r"<(script|style)[\s\S]*?</\1>", "", page)
        assert "from helpers import" not in page, "code must be hidden"
        assert not re.search(r"<img[^>]+src=['\"](?!data:)", page), "images must be embedded"
    assert "data:image/png;base64," in (report / "02_cleaning.html").read_text()
    index = (report / "index.html").read_text()
    assert index == (report / "10_report.html").read_text()  # the full report is restricted/'s page
    for stage in stages[:-1]:
        assert f"{stage}.html" in index  # which links every stage's own page
    assert "<title>Customer report · CDNOW · 1998-06</title>" in index
    assert "../../../index.html" in index  # "All reports", three folders up from restricted/
    # The stakeholders' page is the same report without the cells that list customers.
    stakeholders = (report_folder(built, "1998-06") / "index.html").read_text()
    assert "<title>Customer report · CDNOW · 1998-06</title>" in stakeholders
    assert "../../index.html" in stakeholders and "03_rfm.html" not in stakeholders
    assert not list(report_folder(built, "1998-06").glob("[0-9][0-9]_*.html"))
    assert "<title>RFM segments · CDNOW · 1998-06</title>" in (report / "03_rfm.html").read_text()
    assert '<a href="index.html"' in (report / "03_rfm.html").read_text()  # each stage page links back
    assert run["skipped"] == {
        "04_behaviour": "no events or leads source",
        "05_voice": "no interactions or feedback source",
        "06_basket": "transactions have no product_id column",
    }
    top = (built / "reports" / "index.html").read_text()
    assert "cdnow/1998-06/index.html" in top


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_failure_names_notebook_and_cell_and_keeps_the_published_report(built: Path) -> None:
    report, folder = report_folder(built, "1998-06"), products(built, "1998-06")
    before = digest(report), digest(folder)
    params = period_file(built, "1998-06")
    original = params.read_text()

    def run_with(extra: str) -> subprocess.CompletedProcess:
        params.write_text(original + extra)
        try:
            return subprocess.run(
                [sys.executable, "-m", "helpers", "run", "--period", "1998-06"],
                capture_output=True,
                text=True,
                env={**os.environ, "CA_PROJECT_ROOT": str(built)},
                timeout=600,
            )
        finally:
            params.write_text(original)

    # A source that is not there stops the run before it builds anything: a params mistake.
    done = run_with("sources:\n  transactions:\n    path: data/raw/missing.txt\n")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "error: data/raw/missing.txt: file not found; put the file there or fix 'sources.transactions.path' "
        "in params.\n"
    )
    # A failure inside a notebook (DuckDB out of memory while reading) names notebook, cell and line. (The
    # history cache is cleared so that the source is read again: its copy would be reused.)
    cache.clear(DATASET, built)
    done = run_with('engine:\n  memory_limit: "1MB"\n')
    assert done.returncode == 1
    failed = built / "reports" / ".failed" / DATASET / "1998-06" / "notebooks" / "01_ingest.ipynb"
    assert (
        "01_ingest.ipynb failed in cell 6 (ingested = cache.ingested(con, params)): "
        "IngestError: data/raw/cdnow/cdnow_transactions.txt: cannot be read (Out of Memory Error"
    ) in done.stdout
    assert (
        f"The executed notebook is saved at {failed}; the published report of cdnow 1998-06 is unchanged."
        in done.stdout
    )
    assert failed.is_file()
    assert "Traceback" not in done.stderr
    assert (digest(report), digest(folder)) == before


def test_a_relative_project_root_reaches_the_kernels(tiny_project: Path) -> None:
    """CA_PROJECT_ROOT given relative to where the command runs: the kernels, which run in the
    notebooks' folder, still find the project (they used to look for params under notebooks/). 01 and
    02 show it: the later notebooks are taken out, so their stages are skipped."""
    for notebook in (tiny_project / "notebooks").glob("*.ipynb"):
        if not notebook.name.startswith(("01_", "02_")):
            notebook.unlink()
    done = subprocess.run(
        [sys.executable, "-m", "helpers", "run", "--period", "1998-06"],
        capture_output=True,
        text=True,
        cwd=tiny_project.parent,
        env={**os.environ, "CA_PROJECT_ROOT": tiny_project.name},
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "01_ingest" in done.stdout and "02_cleaning" in done.stdout and "FAILED" not in done.stdout
    assert "03_rfm skipped: no notebook 03_rfm.ipynb in notebooks/" in done.stdout


def test_each_stage_waits_for_the_stages_whose_products_it_reads() -> None:
    from helpers import catalog
    from helpers.runner import waits_for

    everything = catalog.STAGES
    stage = {s.number: s for s in everything}
    assert waits_for(stage["02"], everything) == {"01_ingest"}
    assert waits_for(stage["07"], everything) == {"02_cleaning"}  # CLV reads only 02: free to run next to 03
    # 08 and 09 read the clean customer attributes (02) and the visits (04) and voice (05) when the
    # dataset has them; 09 also the next best products (06).
    assert waits_for(stage["08"], everything) == {"02_cleaning", "03_rfm", "04_behaviour", "05_voice"}
    assert waits_for(stage["09"], everything) == {
        "02_cleaning",
        "03_rfm",
        "04_behaviour",
        "05_voice",
        "06_basket",
        "07_clv",
        "08_clustering",
    }
    assert waits_for(stage["10"], everything) == {
        "02_cleaning",  # the clean customer attributes too, for retention by acquisition channel
        "03_rfm",
        "04_behaviour",  # the funnel, activity and pipeline when the dataset has events or leads
        "05_voice",  # its satisfaction, complaint and churn tables, when the dataset has them
        "06_basket",  # what is bought together, when the orders have product ids
        "07_clv",
        "08_clustering",
        "09_scoring",
    }
    subset = [stage["09"], stage["10"]]  # a re-run of 09 and 10: the other products are already there
    assert waits_for(stage["09"], subset) == set() and waits_for(stage["10"], subset) == {"09_scoring"}


def test_second_kernel_only_for_small_periods_with_shared_kernels(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from helpers.config import EngineConfig, RunnerConfig
    from helpers.runner import parallel_allowed, parallel_possible

    def possible(backend: str = "duckdb", **runner) -> bool:
        settings = SimpleNamespace(runner=RunnerConfig(**runner), engine=EngineConfig(backend=backend))
        return parallel_possible(settings)

    # Whether the second kernel starts beside the first at all (it is shut down after 01 if not allowed).
    assert possible() and not possible("spark")
    assert not possible(parallel_max_rows=0) and not possible(shared_kernel=False)

    def allowed(rows: int | None, backend: str = "duckdb", **runner) -> bool:
        folder = tmp_path / f"{rows}-{backend}-{sorted(runner.items())}"
        folder.mkdir()
        if rows is not None:
            (folder / "01_ingest.json").write_text(json.dumps({"rows_read": rows}))
        settings = SimpleNamespace(runner=RunnerConfig(**runner), engine=EngineConfig(backend=backend))
        return parallel_allowed(settings, folder)

    assert allowed(69_659) and allowed(20_000_000)  # 10M orders side by side: 2.47 GB peak
    assert not allowed(20_000_001)  # two working sets of a big period at once would double the peak memory
    assert not allowed(10, parallel_max_rows=0) and not allowed(10, shared_kernel=False)
    assert not allowed(None)  # 01 did not run and left no facts: one stage at a time
    assert not allowed(69_659, backend="spark")  # a second kernel would start a second Spark driver


def test_clv_ran_next_to_rfm_and_clustering_and_scoring_and_the_report_after_it(built: Path) -> None:
    def span(stage: str) -> tuple[str, str]:
        meta = json.loads((restricted_folder(built, "1998-06") / "notebooks" / f"{stage}.ipynb").read_text())
        return meta["metadata"]["papermill"]["start_time"], meta["metadata"]["papermill"]["end_time"]

    names = ["01_ingest", "02_cleaning", "03_rfm", "07_clv", "08_clustering", "09_scoring", "10_report"]
    times = {stage: span(stage) for stage in names}
    assert times["07_clv"][0] >= times["02_cleaning"][1]  # it starts once its input exists
    # It runs in the second kernel, beside 03 and 08 in the first (how far they overlap in time depends
    # on how fast the second kernel starts on a busy machine: the lane is what the runner decides).
    run = json.loads((report_folder(built, "1998-06") / "run.json").read_text())
    lanes = {s["notebook"]: s["lane"] for s in run["stages"]}
    assert lanes == {**dict.fromkeys(names, "lane-1"), "07_clv": "lane-2"}
    for first, second in [
        ("01_ingest", "02_cleaning"),
        ("02_cleaning", "03_rfm"),
        ("03_rfm", "08_clustering"),
        ("08_clustering", "09_scoring"),
        ("07_clv", "09_scoring"),  # scoring may weigh CLV columns
    ]:
        assert times[second][0] >= times[first][1]
    assert times["10_report"][0] >= max(times["09_scoring"][1], times["07_clv"][1])


def test_a_failure_in_the_second_kernel_stops_the_run_before_the_report(tiny_project: Path) -> None:
    import nbformat

    from helpers import runner

    clv_notebook = tiny_project / "notebooks" / "07_clv.ipynb"
    nb = nbformat.read(clv_notebook, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell('raise RuntimeError("planted in 07")'))
    nbformat.write(nb, clv_notebook)
    result = runner.run_period(DATASET, "1998-06", root=tiny_project, log=lambda _: None)
    assert not result.ok
    assert result.message.startswith(
        '07_clv.ipynb failed in cell 5 (raise RuntimeError("planted in 07")): '
        "RuntimeError: planted in 07. The executed notebook is saved at "
    )
    finished = {s.notebook for s in result.stages}
    assert {"01_ingest", "02_cleaning"} <= finished and "07_clv" not in finished
    assert "10_report" not in finished  # nothing starts after a failure; the report needs 07
    assert result.failed_notebook.is_file() and not report_folder(tiny_project, "1998-06").exists()


def test_running_out_of_duckdb_memory_names_the_params_key_to_raise(tiny_project: Path) -> None:
    from helpers import runner
    from helpers.config import MEMORY_LIMIT_HINT

    params = period_file(tiny_project, "1998-06")
    params.write_text(params.read_text() + 'engine:\n  memory_limit: "1MB"\n')
    result = runner.run_period(DATASET, "1998-06", root=tiny_project, log=lambda _: None)
    assert not result.ok and result.message.count(MEMORY_LIMIT_HINT) == 1
    assert result.message.startswith(
        "01_ingest.ipynb failed in cell 6 (ingested = cache.ingested(con, params)): "
        "IngestError: data/raw/cdnow/cdnow_transactions.txt: cannot be read (Out of Memory Error"
    )
    assert "delimiter" not in result.message  # not blamed on the file's format


def test_duckdb_out_of_memory_in_a_later_stage_gets_the_same_advice(tiny_project: Path) -> None:
    import nbformat

    from helpers import runner
    from helpers.config import MEMORY_LIMIT_HINT

    rfm_notebook = tiny_project / "notebooks" / "03_rfm.ipynb"
    nb = nbformat.read(rfm_notebook, as_version=4)
    nb.cells.insert(
        3,
        nbformat.v4.new_code_cell(  # a query far bigger than a 1 MB limit
            'engine.connect(params.engine.model_copy(update={"memory_limit": "1MB"})).raw_sql(\n'
            '    "SELECT sum(i) FROM (SELECT i FROM range(3000000) t(i) ORDER BY random())").fetchall()'
        ),
    )
    nbformat.write(nb, rfm_notebook)
    result = runner.run_period(DATASET, "1998-06", root=tiny_project, log=lambda _: None)
    assert not result.ok and result.message.startswith("03_rfm.ipynb failed in cell 5 (engine.connect(")
    assert "OutOfMemoryException: Out of Memory Error: " in result.message
    assert result.message.count(MEMORY_LIMIT_HINT) == 1 and "SET memory_limit" not in result.message


def test_notebooks_on_a_shared_kernel_reuse_one_connected_client_and_keep_their_own_outputs(
    tmp_path: Path,
) -> None:
    """papermill gets the same client for every notebook of a kernel (a new one waits 0.2 s for stray
    output each time); each executed notebook holds its own outputs only, a failure included."""
    import nbformat

    from helpers import runner

    def notebook(name: str, *sources: str) -> Path:
        nb = nbformat.v4.new_notebook(
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
        )
        nb.cells = [
            nbformat.v4.new_code_cell('label = "?"', metadata={"tags": ["parameters"]}),
            *(nbformat.v4.new_code_cell(source) for source in sources),
        ]
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, path)
        return path

    first = notebook("first", "print('first', label)", "import sys; print('to stderr', file=sys.stderr)")
    second = notebook("second", "print('second', label)")
    failing = notebook("failing", "print('before')", "1 / 0")
    kernel = runner.SharedKernel("python3", tmp_path)
    try:
        outputs = {}
        for path, label in ((first, "a"), (second, "b"), (failing, "c"), (second, "d")):
            executed = tmp_path / f"{path.stem}-{label}-out.ipynb"
            try:
                runner._execute(path, executed, {"label": label}, "python3", 60, kernel)
            except runner.NotebookFailed as exc:
                assert "failing.ipynb failed in cell 4 (1 / 0): ZeroDivisionError" in str(
                    exc
                )  # after the injected parameters
            cells = nbformat.read(executed, as_version=4).cells
            outputs[f"{path.stem}-{label}"] = [
                "".join(o.get("text", "")) or o.get("ename", "")
                for cell in cells
                if cell.cell_type == "code"
                for o in cell.outputs
            ]
        assert kernel.manager.client() is kernel.manager.client()
    finally:
        kernel.close()
    assert outputs == {
        "first-a": ["first a\n", "to stderr\n"],
        "second-b": ["second b\n"],
        "failing-c": ["before\n", "ZeroDivisionError"],
        "second-d": ["second d\n"],
    }


def test_a_failure_quotes_the_line_of_the_cell_that_raised() -> None:
    from helpers.runner import raising_line

    source = "import json\nx = 1\njson.loads(\n    '{bad')\ny = 2"
    traceback = [  # as IPython colours it: the cell's frame, then the library's
        "\x1b[31mJSONDecodeError\x1b[39m                           Traceback (most recent call last)",
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[7]\x1b[39m\x1b[32m, line 3\x1b[39m\n"
        "\x1b[32m----> \x1b[39m3 json.loads(",
        "\x1b[36mFile \x1b[39m\x1b[32mjson/__init__.py:346\x1b[39m, in loads\n"
        "--> 346 return _default_decoder.decode(s)",
    ]
    assert raising_line(source, traceback) == "json.loads("
    assert (
        raising_line("# a comment\nraise SystemExit", []) == "raise SystemExit"
    )  # no frame: first code line


def test_the_stakeholders_page_leaves_out_what_the_kernel_wrote_to_stderr(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from helpers import runner

    warning = "/srv/x/.venv/lib/python3.11/site-packages/ibis/__init__.py:1: DeprecationWarning: old"
    cell = new_code_cell(
        "print('figure')",
        outputs=[
            new_output("stream", name="stdout", text="Orders: 12\n"),
            new_output("stream", name="stderr", text=warning),
        ],
    )
    notebook = new_notebook(cells=[cell])
    stakeholders = runner.export_html(notebook, tmp_path / "index.html", for_stakeholders=True).read_text()
    analysts = runner.export_html(notebook, tmp_path / "stage.html").read_text()
    assert "Orders: 12" in stakeholders and "DeprecationWarning" not in stakeholders
    assert "Orders: 12" in analysts and "DeprecationWarning" in analysts
    assert len(notebook.cells[0].outputs) == 2  # the notebook itself keeps both
    nbformat.validate(notebook)


def kept_kernel_processes() -> dict[str, int]:
    """The lanes the runner keeps between periods (``kept_kernels``) and their kernels' process ids."""
    from helpers import runner

    lanes = runner._kept_lanes.values()
    return {lane.name: lane.kernel.result().manager.provisioner.process.pid for lane in lanes}


def test_periods_built_together_hand_their_kernels_on(tiny_project: Path, built: Path) -> None:
    """Inside ``kept_kernels`` (a `run` of several periods), a period whose notebook fails shuts its
    kernels down (none is handed on); the next period starts new ones, and the period after it runs in
    those two kernels, cleared, and both publish the same products as periods built with kernels of
    their own."""
    import nbformat

    from helpers import runner

    with runner.kept_kernels():
        ingest_notebook = tiny_project / "notebooks" / "01_ingest.ipynb"
        original = ingest_notebook.read_text()
        planted = nbformat.read(ingest_notebook, as_version=4)
        planted.cells.insert(3, nbformat.v4.new_code_cell('raise RuntimeError("planted in 01")'))
        nbformat.write(planted, ingest_notebook)
        try:
            failed = runner.run_period(DATASET, "1998-05", root=tiny_project, log=lambda _: None)
        finally:
            ingest_notebook.write_text(original)
        assert not failed.ok and "planted in 01" in failed.message
        assert kept_kernel_processes() == {}
        assert runner.run_period(DATASET, "1998-05", root=tiny_project, log=lambda _: None).ok
        first = kept_kernel_processes()
        assert sorted(first) == ["lane-1", "lane-2"]
        assert runner.run_period(DATASET, "1998-06", root=tiny_project, log=lambda _: None).ok
        assert kept_kernel_processes() == first
        lanes = json.loads((report_folder(tiny_project, "1998-06") / "run.json").read_text())["stages"]
        assert {s["notebook"] for s in lanes if s["lane"] == "lane-2"} == {"07_clv"}
    assert runner._kept_lanes is None
    for period in ("1998-05", "1998-06"):
        assert digest(products(tiny_project, period)) == digest(products(built, period))
