"""Run one period: validate params, execute the numbered notebooks with papermill into a staging
folder, export each to HTML with code hidden, then publish products and report by renaming the
staging folders into place. A failure leaves the last published report of the period untouched.

Everything runs in one Python process through the papermill and nbconvert APIs (one CLI call per
notebook pays papermill's and nbconvert's import cost every time).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import html
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from helpers import paths
from helpers.config import MEMORY_LIMIT_HINT, OUT_OF_MEMORY, load_params

STAGING = ".staging"
TEMPLATES = Path(__file__).parent / "templates"  # nbconvert template "offline": lab without CDN scripts
FAILED = ".failed"
RUN_FILE = "run.json"
REPORT_NOTEBOOK = "07_report"
HEADLINE_FILE = "07_headline.json"  # written by notebook 07: the KPIs shown in reports/index.html


@dataclass
class StageResult:
    notebook: str
    seconds: float
    html: str


@dataclass
class RunResult:
    period: str
    ok: bool
    stages: list[StageResult] = field(default_factory=list)
    report: Path | None = None
    failed_notebook: Path | None = None
    message: str = ""


class NotebookFailed(RuntimeError):
    """A notebook raised: names the notebook, the cell and where the executed copy was saved."""


def stage_notebooks(root: Path | None = None, only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks (``01_ingest.ipynb`` …) in order; ``only`` keeps those whose number
    or name is listed."""
    found = sorted(p for p in paths.notebooks_dir(root).glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [p for p in found if p.stem[:2] in only or p.stem in only]
    return found


@contextmanager
def period_lock(period: str, root: Path | None = None) -> Iterator[None]:
    """One run per period at a time; different periods run side by side."""
    lock_dir = paths.reports_root(root) / ".locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{period}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(
                f"period {period} is already being built by another run; wait for it to finish."
            ) from None
        yield


def export_html(notebook: Path, target: Path) -> Path:
    """The executed notebook as a stand-alone page that works offline: code hidden, figures embedded
    as base64 PNG, no script fetched from the internet."""
    import nbformat

    body, _ = _html_exporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    target.write_text(body, encoding="utf-8")
    return target


@functools.lru_cache(maxsize=1)
def _html_exporter():
    """One exporter for every page of a process: a fresh one compiles its templates again on first
    use (a stage page: 0.3 s with a fresh exporter, 0.15 s with a used one)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="offline",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


# The kernel only talks to this process on loopback; its TCP-encryption notice is noise here.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]


def release_free_memory() -> None:
    """Hand the heap this process has freed back to the system (glibc's ``malloc_trim``; nothing
    elsewhere): freed pandas frames otherwise stay counted in the process's memory."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


# What every notebook imports first (ibis, DuckDB, pandas, matplotlib).
WARM_UP = "import helpers.engine, helpers.plots"


def _lane_kernel_manager(kernel_name: str):
    """A kernel manager whose ``client()`` gives papermill the same connected client for every
    notebook. A fresh client waits for the kernel's answer and then 0.2 s more for stray output
    (jupyter_client's wait_for_ready): 1.2 s of idle time on the six stages of the first kernel.
    Messages left from an earlier notebook are skipped, since nbclient keeps only replies to its
    own requests."""
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager

    class ReusedClient(AsyncKernelClient):
        ready = False

        def start_channels(self, *args, **kwargs) -> None:  # no heartbeat (see SharedKernel); once
            if not self.channels_running:
                super().start_channels(shell=True, iopub=True, stdin=False, hb=False, control=True)

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            if not self.ready:
                await AsyncKernelClient.wait_for_ready(self, timeout)
                self.ready = True

    class LaneKernelManager(AsyncKernelManager):
        reused = None

        def client(self, **kwargs) -> ReusedClient:
            if self.reused is None:
                self.reused = super().client(**kwargs)
            return self.reused

    return LaneKernelManager(kernel_name=kernel_name, client_factory=ReusedClient)


class SharedKernel:
    """One kernel for every notebook of a run; its user namespace is cleared before each notebook,
    while imported modules stay loaded. (Each notebook still runs alone under nbval in the tests,
    which would catch a notebook that relied on another's variables.)"""

    def __init__(self, kernel_name: str, cwd: Path) -> None:
        from jupyter_client.blocking import BlockingKernelClient
        from jupyter_client.utils import run_sync

        self._run_sync = run_sync
        self.manager = _lane_kernel_manager(kernel_name)
        run_sync(self.manager.start_kernel)(cwd=str(cwd), extra_arguments=KERNEL_ARGUMENTS)
        # The client papermill will use, connected and checked now, before the imports below keep
        # the kernel busy. No heartbeat: its one-second limit declares a kernel that is still importing
        # on a busy machine dead ("Kernel died before replying to kernel_info"), as when two periods
        # start at once.
        notebooks_client = self.manager.client()
        notebooks_client.start_channels()
        self.client = BlockingKernelClient()  # for the warm-up and the resets between notebooks
        self.client.load_connection_info(self.manager.get_connection_info())
        self.client.start_channels(hb=False)
        try:
            run_sync(notebooks_client.wait_for_ready)(timeout=120)
        except RuntimeError:
            alive = run_sync(self.manager.is_alive)()
            self.close()
            raise RuntimeError(
                f"the {kernel_name} kernel "
                f"{'did not answer within 120 s' if alive else 'died while starting'}; "
                f"check that `python -m ipykernel` runs in this environment."
            ) from None
        # Start the notebooks' common imports now, while this process loads papermill and reads the first
        # notebook; the first notebook's requests queue behind it.
        self.client.execute(WARM_UP, silent=True, store_history=False)

    def reset(self) -> None:
        # After the reset's garbage collection, what is left (imported modules, mostly) is moved out of
        # the collector's view (gc.freeze): every later full collection, the next reset's included,
        # then walks only the objects created since (0.15 s each instead of 0.3 s on CDNOW). The heap
        # the last notebook freed goes back to the system, so the next one starts from what is in use.
        self.client.execute_interactive(
            "get_ipython().run_line_magic('reset', '-f'); import gc; gc.freeze(); del gc; "
            "from helpers.runner import release_free_memory as _release; _release(); "
            "del _release",
            timeout=120,
        )

    def close(self) -> None:
        self.client.stop_channels()
        if self.manager.reused is not None:
            self.manager.reused.stop_channels()
        self._run_sync(self.manager.shutdown_kernel)(now=True)


def declared_parameters(notebook: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged 'parameters' (only those are passed to it)."""
    import ast

    import nbformat

    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            tree = ast.parse(cell.source)
            return {
                target.id
                for node in tree.body
                if isinstance(node, ast.Assign)
                for target in node.targets
                if isinstance(target, ast.Name)
            }
    return set()


def _execute(
    notebook: Path,
    output: Path,
    parameters: dict[str, str],
    kernel: str,
    timeout: int,
    shared: SharedKernel | None = None,
) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    if shared is not None:
        shared.reset()
    declared = declared_parameters(notebook)
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters={name: value for name, value in parameters.items() if name in declared},
            kernel_name=kernel,
            progress_bar=False,
            # A shared kernel already runs in the notebooks' folder; papermill's cwd would chdir this
            # whole process, which two lanes must not do at once. A fresh kernel is started there.
            cwd=None if shared is not None else str(notebook.parent),
            execution_timeout=timeout,
            report_mode=False,
            extra_arguments=KERNEL_ARGUMENTS,
            # Write the executed notebook once, at the end (or at a failing cell), not after every cell:
            # papermill's per-cell save re-serialises and re-validates the whole notebook, images
            # included, twice a cell (about 3 s of a 28 s CDNOW run).
            request_save_on_cell_execute=False,
            **({"km": shared.manager} if shared is not None else {}),
        )
    except PapermillExecutionError as exc:
        first_line = next(
            (ln.strip() for ln in exc.source.splitlines() if ln.strip() and not ln.startswith("#")), ""
        )
        detail = str(exc.evalue).strip()
        if (
            OUT_OF_MEMORY in detail and MEMORY_LIMIT_HINT not in detail
        ):  # DuckDB's own advice names SET statements
            detail = f"{detail.splitlines()[0]} {MEMORY_LIMIT_HINT}."
        raise NotebookFailed(
            f"{notebook.name} failed in cell {exc.cell_index + 1} ({first_line[:60]}): {exc.ename}: {detail}"
        ) from None
    except Exception as exc:  # the kernel died (out of memory, killed) or timed out
        raise NotebookFailed(
            f"{notebook.name} stopped: {type(exc).__name__}: {str(exc).strip()[:300]}"
        ) from None


def remove_stale_staging(period: str, root: Path) -> list[Path]:
    """Remove what killed runs of this period left behind: staging folders, and an old published copy
    caught mid-swap (put back first if the swap never finished). Called while holding the period's
    lock, so no live run owns them; other periods' folders are left alone."""
    stale = []
    for base in (paths.processed_root(root), paths.reports_root(root)):
        old = sorted(base.glob(f".old-{period}-*"), key=lambda p: p.stat().st_mtime)
        if old and not (base / period).exists():
            old.pop().rename(base / period)
        stale += sorted((base / STAGING).glob(f"{period}-*")) + old
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


def _publish(staging: Path, final: Path, token: str) -> None:
    """Swap a fully built folder into place; the old one is removed only after the swap."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.with_name(f".old-{final.name}-{token}")
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


# What each stage reads (DESIGN.md's flow of one period), by number. A stage starts once those of them
# that run in this build have finished; a numbered notebook not listed waits for every one before it.
STAGE_INPUTS = {"02": {"01"}, "03": {"02"}, "04": {"01", "03"}, "05": {"01", "03", "04"}, "06": {"02"}}


def stage_inputs(notebook: Path, notebooks: list[Path]) -> set[str]:
    """The stems of the notebooks in ``notebooks`` that ``notebook`` must wait for."""
    number = notebook.stem[:2]
    earlier = {p.stem[:2] for p in notebooks if p.stem[:2] < number}
    needs = STAGE_INPUTS.get(number, earlier) & earlier
    return {p.stem for p in notebooks if p.stem[:2] in needs}


class Lane:
    """One thread that runs notebooks one after another in its own kernel (or a fresh kernel per
    notebook when kernels are not shared). The kernel is started, used and shut down on the lane's
    own thread, so each kernel client stays on one event loop."""

    def __init__(self, name: str, kernel_name: str, cwd: Path, shared: bool) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.kernel = self.pool.submit(SharedKernel, kernel_name, cwd) if shared else None

    def run(self, notebook: Path, executed: Path, parameters: dict[str, str], kernel_name: str, timeout: int):
        """Start executing ``notebook`` on this lane; returns its future."""
        return self.pool.submit(
            lambda: _execute(
                notebook,
                executed,
                parameters,
                kernel_name,
                timeout,
                self.kernel.result() if self.kernel else None,
            )
        )

    def close(self) -> None:
        if self.kernel is not None:
            self.pool.submit(self._close_kernel).result()
        self.pool.shutdown()

    def _close_kernel(self) -> None:
        if self.kernel.exception() is None:  # a kernel that failed to start has nothing to shut down
            self.kernel.result().close()


def parallel_allowed(params, products_stage: Path) -> bool:
    """Two stages at once (a second kernel) only with shared kernels and a period of at most
    ``runner.parallel_max_rows`` ingested rows: each stage holds its own working set in memory."""
    facts = products_stage / "01_ingest.json"
    if not params.runner.shared_kernel or params.runner.parallel_max_rows == 0 or not facts.is_file():
        return False
    return int(json.loads(facts.read_text()).get("rows_read", 0)) <= params.runner.parallel_max_rows


def _run_notebooks(
    notebooks: list[Path],
    report_stage: Path,
    products_stage: Path,
    params,
    result: RunResult,
    log: Callable[[str], None],
) -> tuple[Path, str] | None:
    """Execute the notebooks, each once the stages it reads have finished, and export each to HTML;
    returns the first failure as (notebook, message), after the notebooks still running have ended.

    One lane (kernel) runs the stages in order. After 01, when the period is small enough
    (``parallel_allowed``), a second lane starts its kernel and takes any stage whose inputs are ready
    while the first is busy: on the default stages, 06_clv (which reads only 02) runs next to
    03-05. A page is exported in a background thread while the kernels run (the kernels are other
    processes); every export has finished when this returns."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    runner = params.runner
    cwd = notebooks[0].parent
    lanes = [Lane("lane-1", runner.kernel_name, cwd, runner.shared_kernel)]
    parameters = {
        "period": params.period,
        "products_dir": str(products_stage),
        "report_dir": str(report_stage),
    }
    pending, running = list(notebooks), {}  # running: future -> (notebook, lane, start time)
    failure, second_lane = None, False
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-html") as exporter:
            exports = []
            while pending or running:
                busy = {lane for _, lane, _ in running.values()}
                idle = (
                    [lane for lane in lanes if lane not in busy] if failure is None else []
                )  # no new starts after a failure
                for lane in idle:
                    blocked = {p.stem for p in pending} | {nb.stem for nb, _, _ in running.values()}
                    ready = next((nb for nb in pending if not stage_inputs(nb, notebooks) & blocked), None)
                    if ready is None:
                        if lane is not lanes[0] and len(pending) < len(lanes):
                            # Every notebook left waits for a running one, whose lane will take it:
                            # this kernel's memory is freed now (10M orders: 07 peaked at 2.14 GB
                            # instead of 3.23 GB next to the idle kernel that had run 06).
                            lanes.remove(lane)
                            lane.close()
                        break
                    pending.remove(ready)
                    future = lane.run(
                        ready,
                        report_stage / "notebooks" / ready.name,
                        parameters,
                        runner.kernel_name,
                        runner.cell_timeout_seconds,
                    )
                    running[future] = (ready, lane, time.perf_counter())
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: running[f][0].name):
                    notebook, lane, t0 = running.pop(future)
                    try:
                        future.result()
                    except NotebookFailed as exc:
                        failure = failure or (notebook, str(exc))
                        continue
                    executed = report_stage / "notebooks" / notebook.name
                    page = report_stage / f"{notebook.stem}.html"
                    exports.append(
                        exporter.submit(_export_page, executed, page, notebook.stem == REPORT_NOTEBOOK)
                    )
                    seconds = time.perf_counter() - t0
                    result.stages.append(StageResult(notebook.stem, round(seconds, 2), page.name))
                    log(f"[{params.period}] {notebook.stem:<16} {seconds:6.1f} s")
                    if not second_lane and pending and parallel_allowed(params, products_stage):
                        second_lane = True
                        lanes.append(Lane("lane-2", runner.kernel_name, cwd, runner.shared_kernel))
            for export in exports:
                export.result()  # an export error stops the run here, before anything is published
    finally:
        for lane in lanes:
            lane.close()
    result.stages.sort(key=lambda s: s.notebook)
    return failure


def _export_page(executed: Path, page: Path, landing: bool) -> None:
    """One stage's HTML page; the stakeholder page is also the period's landing page (index.html)."""
    export_html(executed, page)
    if landing:
        shutil.copyfile(page, page.with_name("index.html"))


def run_period(
    period: str | None = None,
    root: Path | None = None,
    only: list[str] | None = None,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Build one period's products and report; returns what happened (never raises for a notebook
    failure: the result says which notebook and cell failed and where the executed copy is)."""
    root = Path(root).resolve() if root else paths.project_root()
    if os.environ.get("CA_PROJECT_ROOT"):
        # The kernels inherit it but run in the notebooks' folder: a relative root would point elsewhere.
        os.environ["CA_PROJECT_ROOT"] = str(Path(os.environ["CA_PROJECT_ROOT"]).resolve())
    params = load_params(period, root)
    period = params.period
    notebooks = stage_notebooks(root, only)
    if not notebooks:
        raise RuntimeError(f"no numbered notebooks found in {paths.notebooks_dir(root)}.")
    token = f"{os.getpid()}-{time.time_ns()}"
    products_final = paths.processed_dir(period, root)
    report_final = paths.report_dir(period, root)
    products_stage = paths.processed_root(root) / STAGING / f"{period}-{token}"
    report_stage = paths.reports_root(root) / STAGING / f"{period}-{token}"
    result = RunResult(period=period, ok=False)
    with period_lock(period, root):
        remove_stale_staging(period, root)
        if only and products_final.is_dir():
            # Re-running some stages: start from the last published build, replace what is re-run.
            shutil.copytree(products_final, products_stage)
            if report_final.is_dir():
                shutil.copytree(report_final, report_stage)
        products_stage.mkdir(parents=True, exist_ok=True)
        (report_stage / "notebooks").mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        log(f"[{period}] building {len(notebooks)} notebooks")
        failure = _run_notebooks(notebooks, report_stage, products_stage, params, result, log)
        if failure is not None:
            failed = paths.reports_root(root) / FAILED / period
            shutil.rmtree(failed, ignore_errors=True)
            failed.parent.mkdir(parents=True, exist_ok=True)
            report_stage.rename(failed)
            shutil.rmtree(products_stage, ignore_errors=True)
            result.failed_notebook = failed / "notebooks" / failure[0].name
            saved = (
                f"The executed notebook is saved at {result.failed_notebook}"
                if result.failed_notebook.is_file()
                else "Its kernel stopped before the notebook could be saved"
            )
            result.message = f"{failure[1]} {saved}; the published report of {period} is unchanged."

            log(f"[{period}] FAILED {result.message}")
            return result
        if only and (report_stage / RUN_FILE).is_file():  # keep the timings of stages not re-run
            earlier = json.loads((report_stage / RUN_FILE).read_text()).get("stages", [])
            rerun = {s.notebook for s in result.stages}
            result.stages = [StageResult(**s) for s in earlier if s["notebook"] not in rerun] + result.stages
            result.stages.sort(key=lambda s: s.notebook)
        run_facts = {
            "period": period,
            "period_start": params.period_start,
            "period_end": params.period_end,
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started, 2),
            "stages": [s.__dict__ for s in result.stages],
        }
        if (products_stage / HEADLINE_FILE).is_file():
            run_facts["headline"] = json.loads((products_stage / HEADLINE_FILE).read_text())
        (report_stage / RUN_FILE).write_text(json.dumps(run_facts, indent=2, default=str) + "\n")
        if not any(s.notebook == REPORT_NOTEBOOK for s in result.stages):
            write_period_index(report_stage, products_stage, run_facts)
        _publish(products_stage, products_final, token)
        _publish(report_stage, report_final, token)
        shutil.rmtree(paths.reports_root(root) / FAILED / period, ignore_errors=True)
    write_reports_index(root)
    result.ok = True
    result.report = report_final / "index.html"
    log(f"[{period}] done in {run_facts['seconds']:.1f} s: {result.report}")
    return result


# ------------------------------------------------------------------------------------ index pages

PAGE_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:960px;margin:2rem auto;padding:0
1rem;color:#1f2933}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}table{border-collapse:collapse;margin:.5rem 0}
td,th{border-bottom:1px solid #d9e2ec;padding:.35rem .8rem;text-align:left}th{background:#f0f4f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}a{color:#0b69a3}.muted{color:#627d98}
"""


def _page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{PAGE_STYLE}</style></head><body>{body}</body></html>\n"
    )


def write_period_index(report: Path, products: Path, run_facts: dict) -> Path:
    """The period's landing page until notebook 07 writes its own: links to every stage page and
    the data-quality accounting."""
    period = run_facts["period"]
    rows = "".join(
        f"<tr><td><a href='{html.escape(s['html'])}'>{html.escape(s['notebook'])}</a></td>"
        f"<td class='num'>{s['seconds']:.1f} s</td></tr>"
        for s in run_facts["stages"]
    )
    body = [
        f"<h1>Customer analytics: {html.escape(period)}</h1>",
        f"<p class='muted'>Period {run_facts['period_start']} to {run_facts['period_end']}; "
        f"built {html.escape(run_facts['finished'])}. <a href='../index.html'>All periods</a></p>",
        "<h2>Stages</h2><table><tr><th>page</th><th>time</th></tr>" + rows + "</table>",
    ]
    quality_path = products / "02_quality.json"
    if quality_path.is_file():
        quality = json.loads(quality_path.read_text())
        lines = [("rows in the source", quality["rows_in"]), ("kept", quality["rows_kept"])]
        lines += [
            (f"rejected: {quality['reason_descriptions'][code]}", n)
            for code, n in quality["rejected_by_reason"].items()
            if n
        ]
        table = "".join(f"<tr><td>{html.escape(k)}</td><td class='num'>{v:,}</td></tr>" for k, v in lines)
        body.append(
            "<h2>Data quality</h2><table>" + table + "</table>"
            f"<p>{quality['rows_in']:,} rows in = {quality['rows_kept']:,} kept + "
            f"{quality['rows_rejected']:,} rejected.</p>"
        )
    target = report / "index.html"
    target.write_text(_page(f"Customer analytics {period}", "\n".join(body)), encoding="utf-8")
    return target


HEADLINE_COLUMNS = [
    ("active_customers", "active customers"),
    ("revenue", "revenue"),
    ("revenue_change", "vs previous"),
    ("customers_at_risk", "at risk"),
    ("expected_clv", "expected CLV"),
]


def write_reports_index(root: Path | None = None) -> Path:
    """``reports/index.html``: every published period, newest first, with a link and its build facts."""
    reports = paths.reports_root(root)
    rows = []
    for run_file in sorted(reports.glob(f"*/{RUN_FILE}"), reverse=True):
        facts = json.loads(run_file.read_text())
        period = run_file.parent.name
        headline = facts.get("headline", {})
        cells = "".join(
            f"<td class='num'>{html.escape(str(headline.get(key, '')))}</td>" for key, _ in HEADLINE_COLUMNS
        )
        rows.append(
            f"<tr><td><a href='{html.escape(period)}/index.html'>{html.escape(period)}</a></td>"
            f"<td>{facts['period_start']} to {facts['period_end']}</td>{cells}"
            f"<td class='muted'>{html.escape(facts['finished'])}</td></tr>"
        )
    body = "<h1>Customer analytics reports</h1>" + (
        "<table><tr><th>period</th><th>window</th>"
        + "".join(f"<th>{html.escape(label)}</th>" for _, label in HEADLINE_COLUMNS)
        + "<th>built</th></tr>"
        + "".join(rows)
        + "</table>"
        if rows
        else "<p>No period has been built yet: run <code>make report</code>.</p>"
    )
    target = reports / "index.html"
    reports.mkdir(parents=True, exist_ok=True)
    tmp = reports / f".index.html.{os.getpid()}"
    tmp.write_text(_page("Customer analytics reports", body), encoding="utf-8")
    os.replace(tmp, target)
    return target
