"""Faults: runs killed between notebooks and inside a cell, two periods built at once, a second run of
the same period refused, a rerun that must give byte-identical Parquet products, and a missing or
corrupt earlier product.

The project is the tiny fixture project. Its period 1998-06 reads the orders from the session's
PostgreSQL server (``format: sql``), which also gives an honest slow cell: while the test holds an
exclusive lock on the table, notebook 01's read waits inside its cell until the lock is released or
the run is killed. The test proves where the run was when it killed it: the database shows notebook
01's query waiting on the lock. (The runner writes an executed notebook once it has finished, not
after every cell: that per-cell save cost 3 s of a 28 s CDNOW run.)

Runs are real ``python -m helpers run`` processes in their own session; a kill is SIGKILL to that
process group. The kernel runs in a session of its own (jupyter_client starts it so), so it is not
killed with the group: the test checks that it exits by itself once its parent is gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import nbformat
import pyarrow.parquet as pq
import pytest

from helpers import engine, io, runner

from conftest import DATASET, cdnow_head, make_project, period_file, products, report_folder

pytest.register_assert_rewrite("pg_server")
pytest_plugins = ["pg_server"]  # the session's PostgreSQL server (fixture ``postgres``)

from pg_server import READER_PASSWORD, PgServer, load_cdnow  # noqa: E402

URL_ENV = "CA_FAULTS_PG_URL"
TABLE = "faults_orders"
SQL_PERIOD, CSV_PERIOD = "1998-06", "1998-05"
PERIODS = ("1998-03", "1998-04", CSV_PERIOD, SQL_PERIOD)
# The faults are about the runner, not the stages: the project holds notebooks 01-02 only (ingest,
# cleaning; the runner skips the stages whose notebook is absent), still a real multi-notebook run;
# tests/test_privacy.py builds every stage.
KEPT_NOTEBOOKS = ("01_ingest.ipynb", "02_cleaning.ipynb")
WAIT = 300  # seconds: the most any single wait below may take on a loaded machine before failing


# ------------------------------------------------------------------------------------ processes


class Run:
    """``python -m helpers run`` in its own session, its stdout read line by line in a thread."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "helpers", "run", *args],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.seen: dict[str, float] = {}  # line -> when it was printed (monotonic clock)
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._errors: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self._error_reader = threading.Thread(
            target=lambda: self._errors.extend(self.proc.stderr), daemon=True
        )
        self._error_reader.start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.seen.setdefault(line.rstrip("\n"), time.monotonic())
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def stderr(self) -> str:
        return "".join(self._errors)

    def wait_for_line(self, text: str) -> float:
        """Block until the run prints a line containing ``text``; when it printed it."""
        deadline = time.monotonic() + WAIT
        while not any(text in line for line in self.lines):
            line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"the run ended before printing {text!r}: {self.lines} {self.stderr()}"
            self.lines.append(line)
        return next(when for line, when in self.seen.items() if text in line)

    def finish(self) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=WAIT)
        while (line := self._queue.get(timeout=WAIT)) is not None:
            self.lines.append(line)
        self._error_reader.join(timeout=WAIT)
        return code, "\n".join(self.lines), self.stderr()

    def descendants(self) -> set[int]:
        found, todo = set(), [self.proc.pid]
        while todo:
            pid = todo.pop()
            for children in Path(f"/proc/{pid}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    for child in map(int, children.read_text().split()):
                        if child not in found:
                            found.add(child)
                            todo.append(child)
        return found

    def kill(self) -> None:
        """SIGKILL the run's process group; its kernel (another session) must then exit by itself."""
        kernels = {pid: started(pid) for pid in self.descendants()}
        assert kernels, "the run had started a kernel"
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=WAIT)
        try:
            wait_until(
                lambda: not any(alive(pid, since) for pid, since in kernels.items()),
                "the orphaned kernel to exit",
            )
        finally:  # never leave a process of ours behind (checked by start time: a pid can be reused)
            for pid, since in kernels.items():
                if alive(pid, since):
                    os.kill(pid, signal.SIGKILL)


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return []


def started(pid: int) -> str:
    """The process's start time (field 22 of /proc/<pid>/stat): with the pid, it names one process."""
    fields = _stat(pid)
    return fields[19] if fields else ""


def alive(pid: int, since: str) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[19] == since and fields[0] not in "ZX"


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# ------------------------------------------------------------------------------------ the project


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def published(root: Path) -> dict[str, dict[str, str]]:
    """Checksums of every published product and page, per folder."""
    folders = [products(root, p) for p in PERIODS] + [report_folder(root, p) for p in PERIODS]
    found = {str(f.relative_to(root)): digest(f) for f in folders if f.is_dir()}
    index = root / "reports" / "index.html"
    found["reports/index.html"] = {"index.html": hashlib.sha256(index.read_bytes()).hexdigest()}
    return found


def assert_readable(root: Path) -> None:
    """Every published product and page opens: Parquet, JSON, notebooks, HTML."""
    for period in PERIODS:
        for path in products(root, period).glob("*"):
            if path.suffix == ".parquet":
                pq.read_table(path)
            elif path.suffix == ".json":
                json.loads(path.read_text())
        for path in report_folder(root, period).rglob("*"):
            if path.suffix == ".ipynb":
                nbformat.read(path, as_version=4)
            elif path.suffix == ".html":
                assert path.read_text().rstrip().endswith("</html>"), path


def staging(root: Path, period: str) -> list[Path]:
    pattern = f"{period}{runner.SEPARATOR}*"
    return sorted((root / "data" / "processed" / runner.STAGING / DATASET).glob(pattern)) + sorted(
        (root / "reports" / runner.STAGING / DATASET).glob(pattern)
    )


@contextlib.contextmanager
def table_locked(server: PgServer) -> Iterator[None]:
    """Hold an exclusive lock on the orders table: every read of it waits until the block ends."""
    with server.reader() as db:
        db.autocommit = False
        db.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            db.rollback()


def waiting_on_lock(server: PgServer) -> bool:
    with server.admin() as db:
        return (
            db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE %s",
                [f"%{TABLE}%"],
            ).fetchone()[0]
            > 0
        )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, postgres: PgServer) -> tuple[Path, dict[str, str]]:
    """Tiny project with 1998-06 built from PostgreSQL and 1998-05 from the CSV file, both published
    before the faults start."""
    root = make_project(tmp_path_factory.mktemp("faults") / "project", periods=PERIODS)
    for notebook in (root / "notebooks").glob("*.ipynb"):
        if notebook.name not in KEPT_NOTEBOOKS:
            notebook.unlink()
    load_cdnow(postgres, cdnow_head(), table=TABLE)
    with period_file(root, SQL_PERIOD).open("a") as params:
        params.write(
            f"sources:\n  transactions:\n    format: sql\n    path: null\n    url_env: {URL_ENV}\n"
            f"    table: {TABLE}\n    columns:\n      order_ts: order_date\n"
        )
    env = {**os.environ, "CA_PROJECT_ROOT": str(root), URL_ENV: postgres.url(), "PYTHONUNBUFFERED": "1"}
    builds = [Run(env, "--period", SQL_PERIOD), Run(env, "--period", CSV_PERIOD)]
    for build in builds:
        code, out, err = build.finish()
        assert code == 0, out + err
    return root, env


# ------------------------------------------------------------------------------------ the faults


def test_kill_between_notebooks_keeps_every_published_report(project, postgres: PgServer) -> None:
    root, env = project
    before = published(root)
    run = Run(env, "--period", SQL_PERIOD)  # every notebook: a plain `make report`, killed after the first
    run.wait_for_line(f"[{DATASET} {SQL_PERIOD}] 01_ingest")  # 01 is built and exported, 02 is starting
    run.kill()
    assert any((p / "01_transactions.parquet").is_file() for p in staging(root, SQL_PERIOD)), (
        "the killed run had built 01 in its staging folder"
    )
    assert published(root) == before
    assert_readable(root)


def test_kill_inside_a_cell_keeps_every_published_report(project, postgres: PgServer) -> None:
    root, env = project
    before = published(root)
    with table_locked(postgres):
        run = Run(env, "--period", SQL_PERIOD)
        wait_until(lambda: waiting_on_lock(postgres), "notebook 01 to wait on the locked table")
        run.kill()
    assert published(root) == before
    assert_readable(root)


def tiny_oracle(root: Path, period_end: str) -> dict[str, int]:
    """Rows kept and rejected for a period end, from the tiny source parsed in plain Python."""
    rows = [
        line.split()
        for line in (root / "data" / "raw" / DATASET / "cdnow_transactions.txt").read_text().splitlines()[1:]
    ]
    end = period_end.replace("-", "")
    zero = sum(float(r[3]) == 0 for r in rows)
    later = sum(float(r[3]) != 0 and r[1] > end for r in rows)
    return {
        "rows_in": len(rows),
        "zero_amount": zero,
        "after_as_of": later,
        "rows_kept": len(rows) - zero - later,
    }


def test_a_busy_night_of_concurrent_runs(project, postgres: PgServer) -> None:
    """A rebuild of 1998-06 waits inside notebook 01 (its table is locked). Meanwhile a second run of
    1998-06 is refused in one sentence; 1998-04 and 1998-03 build alongside (notebooks 01-02) with their
    own correct accounting; 1998-02, never built, is refused a re-run of 02 in one sentence. Released,
    the 1998-06 rebuild completes despite stale staging folders (left by the kills above, and one
    planted here), removes them, and publishes byte-identical Parquet products (notebooks 01-02 write
    row-level tables; tests/test_privacy.py reruns stages 03+)."""
    root, env = project
    before = published(root)
    planted = runner.staging_folder(root / "data" / "processed", DATASET, SQL_PERIOD, "1-1")
    (planted / "half").mkdir(parents=True)
    other = runner.staging_folder(
        root / "reports", DATASET, CSV_PERIOD, "1-1"
    )  # another period's: maybe live
    other.mkdir(parents=True)
    periods = {"1998-04": "19980430", "1998-03": "19980331"}
    missing = "1998-02"  # nothing published: there is no build to re-run 02 on
    period_file(root, missing).write_text(
        f'period: "{missing}"\nperiod_start: 1998-02-01\nperiod_end: 1998-02-28\n'
    )

    with table_locked(postgres):
        rebuild = Run(env, "--period", SQL_PERIOD)
        wait_until(lambda: waiting_on_lock(postgres), "the 1998-06 rebuild to wait on the locked table")
        second = subprocess.run(
            [sys.executable, "-m", "helpers", "run", "--period", SQL_PERIOD],
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT,
        )
        assert second.returncode == 1
        assert second.stderr == (
            f"error: period {SQL_PERIOD} of {DATASET} is already being built by another run; wait for it to "
            "finish.\n"
        )
        alongside = {period: Run(env, "--period", period) for period in periods}
        alongside[missing] = Run(env, "--period", missing, "--only", "02")
        finished = {period: run.finish() for period, run in alongside.items()}
        assert rebuild.proc.poll() is None, "the other periods built while 1998-06 was being built"
        assert {k: before[k] for k in before if SQL_PERIOD in k or CSV_PERIOD in k} == {
            k: v for k, v in published(root).items() if SQL_PERIOD in k or CSV_PERIOD in k
        }

    for period, end in periods.items():
        code, out, err = finished[period]
        assert code == 0, out + err
        quality = json.loads((products(root, period) / "02_quality.json").read_text())
        expected = tiny_oracle(root, end)
        assert (quality["rows_in"], quality["rows_kept"]) == (expected["rows_in"], expected["rows_kept"])
        assert quality["rejected_by_reason"]["after_as_of"] == expected["after_as_of"]
        assert quality["rejected_by_reason"]["zero_amount"] == expected["zero_amount"]
        assert json.loads((report_folder(root, period) / "run.json").read_text())["period"] == period
        assert staging(root, period) == []

    code, out, err = finished[missing]
    assert code == 2 and err == (
        f"error: period {missing} of {DATASET} has not been built yet, so there is nothing to re-run stages "
        "on; build it whole first (without --only).\n"
    )
    assert "Traceback" not in out + err
    assert not report_folder(root, missing).exists() and not products(root, missing).exists()

    code, out, err = rebuild.finish()
    assert code == 0, out + err
    assert staging(root, SQL_PERIOD) == [] and not planted.exists()
    assert other.is_dir(), "another period's staging folder is not this run's to remove"
    other.rmdir()
    after = published(root)
    key = f"data/processed/{DATASET}/{SQL_PERIOD}"
    parquet = sorted(name for name in before[key] if name.endswith(".parquet"))
    assert parquet == [
        "01_transactions.parquet",
        "02_transactions.parquet",
        "02_transactions_rejected.parquet",
    ]
    assert sorted(after[key]) == sorted(before[key])
    assert {n: after[key][n] for n in parquet} == {n: before[key][n] for n in parquet}, (
        "a rerun with the same inputs and params must give byte-identical Parquet products"
    )
    assert after[f"data/processed/{DATASET}/{CSV_PERIOD}"] == before[f"data/processed/{DATASET}/{CSV_PERIOD}"]
    index = (root / "reports" / "index.html").read_text()
    assert all(f"{DATASET}/{period}/index.html" in index for period in (*periods, CSV_PERIOD, SQL_PERIOD))
    assert_readable(root)
    # The database URL (with its password) came from the environment: nothing written anywhere holds it.
    secret = READER_PASSWORD.encode()
    assert not [
        p
        for p in [*(root / "data").rglob("*"), *(root / "reports").rglob("*")]
        if p.is_file() and secret in p.read_bytes()
    ]
    with pytest.raises(
        io.ProductError, match=r"01_transactions\.parquet: product not found; run notebook 01_ingest first\."
    ):
        io.read_table(engine.connect(), root / "nowhere" / "01_transactions.parquet")


@pytest.mark.parametrize("content", [b"", b"PAR1 half a file"])
def test_corrupt_earlier_product_names_the_stage_to_rerun(tmp_path: Path, content: bytes) -> None:
    damaged = tmp_path / "01_transactions.parquet"
    damaged.write_bytes(content)
    with pytest.raises(
        io.ProductError,
        match=r"01_transactions\.parquet: product is unreadable \(.*\); "
        r"re-run notebook 01_ingest\.",
    ):
        io.read_table(engine.connect(), damaged).count().execute()


def test_stale_staging_is_removed_and_a_half_swapped_report_is_put_back(tmp_path: Path) -> None:
    """What a kill at the worst moment of publishing leaves (the old folder moved aside, the new one
    not yet in place) is repaired by the next run of the period before it starts."""
    root = tmp_path
    processed, reports = root / "data" / "processed" / DATASET, root / "reports"
    old = processed / f".old-1998-06{runner.SEPARATOR}7-7"
    old.mkdir(parents=True)
    (old / "01_transactions.parquet").write_text("last good")
    (processed / "1998-05").mkdir()
    garbage = processed / f".old-1998-05{runner.SEPARATOR}8-8"
    garbage.mkdir()  # 1998-05 is published: its old copy is only garbage
    stale = runner.staging_folder(reports, DATASET, "1998-06", "7-7")
    stale.mkdir(parents=True)
    other_period = runner.staging_folder(reports, DATASET, "1998-04", "9-9")
    other_period.mkdir(parents=True)  # another period: left alone
    other_dataset = runner.staging_folder(reports, "mirror", "1998-06", "7-7")
    other_dataset.mkdir(parents=True)  # the same period label of another dataset: left alone
    removed = runner.remove_stale_staging(DATASET, "1998-06", root)
    assert removed == [stale]
    assert (processed / "1998-06" / "01_transactions.parquet").read_text() == "last good"
    assert other_period.is_dir() and other_dataset.is_dir() and garbage.is_dir()
    assert runner.remove_stale_staging(DATASET, "1998-05", root) == [garbage]
