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
import re
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from helpers import catalog, labels, paths
from helpers.catalog import Stage
from helpers.config import MEMORY_LIMIT_HINT, OUT_OF_MEMORY, Params, list_datasets, list_periods, load_params
from helpers.privacy import audiences, audit, guard, permissions, retention

STAGING = ".staging"
TEMPLATES = Path(__file__).parent / "templates"  # nbconvert template "offline": lab without CDN scripts
FAILED = ".failed"
RUN_FILE = "run.json"
SEPARATOR = "+"  # between a period's label and a run's token in staging folder names (never in a label)


@dataclass
class StageResult:
    notebook: str
    seconds: float
    html: str
    lane: str = "lane-1"  # the kernel it ran in: lane-2 is the second kernel


@dataclass
class RunResult:
    dataset: str
    period: str
    ok: bool
    stages: list[StageResult] = field(default_factory=list)
    report: Path | None = None
    failed_notebook: Path | None = None
    message: str = ""


class UsageError(ValueError):
    """The command asks for something this period cannot do (an unknown stage, --only on a period never
    built); the message says what to run instead."""


class NotebookFailed(RuntimeError):
    """A notebook raised: names the notebook, the cell and where the executed copy was saved."""


@dataclass
class Plan:
    """The stages one run executes (in flow order, with their notebooks), the stages it skips and why,
    and what ``--only`` added downstream."""

    run: list[tuple[Stage, Path]]
    skipped: list[tuple[Stage, str]]
    downstream: list[Stage] = field(default_factory=list)

    def lines(self, label: str) -> list[str]:
        """The run log's lines about the plan: one per skipped stage, and what --only re-runs."""
        out = [f"[{label}] {stage.notebook} skipped: {reason}" for stage, reason in self.skipped]
        if self.downstream:
            selected = [s.notebook for s, _ in self.run if s not in self.downstream]
            out.append(
                f"[{label}] re-running {', '.join(selected)} and the stages downstream of "
                f"{'it' if len(selected) == 1 else 'them'}: {', '.join(s.notebook for s in self.downstream)}"
            )
        return out


def plan_stages(params: Params, root: Path | None = None, only: list[str] | None = None) -> Plan:
    """Which stages of the catalog run for this period: each whose notebook is in ``notebooks/`` and
    whose sources are configured, unless a stage it cannot do without is skipped. ``only`` (numbers or
    names) keeps those stages and every stage downstream of them, whose products would otherwise
    stay stale."""
    folder = paths.notebooks_dir(root)
    runnable: list[tuple[Stage, Path]] = []
    skipped: list[tuple[Stage, str]] = []
    for stage in catalog.STAGES:
        notebook = folder / f"{stage.notebook}.ipynb"
        reason = catalog.missing_need(params, stage)
        if reason is None and not notebook.is_file():
            reason = f"no notebook {notebook.name} in {folder.name}/"
        if reason is None:
            lost = [
                s.notebook
                for s, _ in skipped
                if any(
                    required and catalog.writer_of(ref) is s for ref, required in stage.refs("reads").items()
                )
            ]
            if lost:
                reason = f"it needs the products of {', '.join(lost)}, which is skipped"
        if reason is None:
            runnable.append((stage, notebook))
        else:
            skipped.append((stage, reason))
    if not only:
        return Plan(runnable, skipped)
    try:
        selected = [catalog.stage(name) for name in only]
    except catalog.CatalogError as exc:
        raise UsageError(f"--only: {exc}") from None
    not_running = [s.notebook for s in selected if s not in [r for r, _ in runnable]]
    if not_running:
        reasons = dict((s.notebook, why) for s, why in skipped)
        raise UsageError(
            f"--only names {', '.join(not_running)}, which cannot run for this period "
            f"({'; '.join(reasons.get(n, 'unknown') for n in not_running)})."
        )
    later = catalog.downstream(selected)
    keep = [(s, nb) for s, nb in runnable if s in selected or s in later]
    return Plan(keep, [], [s for s, _ in keep if s in later])


def run_label(dataset: str, period: str) -> str:
    """How the run log names a build: ``cdnow 1998-06``."""
    return f"{dataset} {period}"


@contextmanager
def period_lock(dataset: str, period: str, root: Path | None = None) -> Iterator[None]:
    """One run per period of a dataset at a time; different periods run side by side."""
    lock_dir = paths.reports_root(root) / ".locks" / dataset
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{period}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(
                f"period {period} of {dataset} is already being built by another run; wait for it to finish."
            ) from None
        yield


NOTES_TAG = "notes"  # a notebook cell with this tag is for analysts: it is left out of the page


def export_html(
    notebook,
    target: Path,
    title: str | None = None,
    links: list[tuple[str, str]] | None = None,
    language: str = "en",
    for_stakeholders: bool = False,
) -> Path:
    """The executed notebook (a file, or a notebook already read) as a stand-alone page that works
    offline: code hidden, cells tagged ``notes`` left out, figures embedded as base64 PNG, no script
    fetched from the internet; ``title`` for the browser tab, ``links`` (label, relative href) in a bar
    at the top of the page and ``language`` as the page's language (its ``lang``). A stakeholders' page
    (``for_stakeholders``) also leaves out what the kernel wrote to stderr (a library's warning,
    with a path on the server, is not for them; the analysts' pages keep it)."""
    import nbformat

    node = nbformat.read(notebook, as_version=4) if isinstance(notebook, (str, Path)) else notebook
    if for_stakeholders:
        node = without_stderr(node)
    if title:
        node.metadata["title"] = title
    node.metadata["ca_links"] = [list(link) for link in links or []]
    exporter = _html_exporter()
    with _EXPORT_LOCK:
        exporter.language_code = language
        body, _ = exporter.from_notebook_node(node)
    target.write_text(body, encoding="utf-8")
    return target


def without_stderr(node):
    """A copy of the notebook without the outputs its kernel wrote to stderr."""
    import copy

    node = copy.deepcopy(node)
    for cell in node.cells:
        if cell.get("outputs"):
            cell.outputs = [
                out
                for out in cell.outputs
                if not (out.output_type == "stream" and out.get("name") == "stderr")
            ]
    return node


def page_language(params: Params, stage: Stage) -> str:
    """The language of a stage's page: the report's (report.language); the analysts' stage pages are
    in English."""
    return params.report.language if stage.number == catalog.REPORT_STAGE else "en"


def page_title(params: Params, stage: Stage) -> str:
    """A page's title: stage, dataset and period (the report's in its language)."""
    title = labels.stage_title(stage.title, page_language(params, stage))
    return f"{title} · {params.dataset_title} · {params.period}"


def page_links(stage: Stage, language: str = "en", depth: int = 0) -> list[tuple[str, str]]:
    """The bar at the top of a page: every other page of the period back to the report, and all reports
    (``depth``: how many folders the page is below the period's folder, e.g. 1 in restricted/)."""
    everything = (labels.t("all_reports", language), "../" * (2 + depth) + "index.html")
    if stage.number == catalog.REPORT_STAGE:
        return [everything]
    return [(labels.t("back_to_report", language), "index.html"), everything]


_EXPORT_LOCK = threading.Lock()  # the shared exporter's language is set for one page at a time


@functools.lru_cache(maxsize=1)
def _html_exporter():
    """One exporter for every page of a process: a fresh one compiles its templates again on first
    use (a stage page: 0.3 s with a fresh exporter, 0.15 s with a used one)."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        template_name="offline",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={NOTES_TAG}), enabled=True)
    return exporter


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


# What every notebook imports first (ibis, its DuckDB backend, pandas, matplotlib).
WARM_UP = "import helpers.engine, helpers.plots, ibis.backends.duckdb"
# The second kernel starts with the first and is idle until 02 has run: it also imports what the stages it
# usually takes need (07's purchase models, 08's and 09's scikit-learn), off the first kernel's path.
WARM_UP_SECOND = WARM_UP + ", helpers.clv, helpers.clustering, sklearn.ensemble, sklearn.inspection"


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

    def __init__(self, kernel_name: str, cwd: Path, warm_up: str = WARM_UP) -> None:
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
        self.client.execute(warm_up, silent=True, store_history=False)

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
        quoted = raising_line(exc.source, exc.traceback)
        detail = str(exc.evalue).strip()
        if (
            OUT_OF_MEMORY in detail and MEMORY_LIMIT_HINT not in detail
        ):  # DuckDB's own advice names SET statements
            detail = f"{detail.splitlines()[0]} {MEMORY_LIMIT_HINT}."
        raise NotebookFailed(
            f"{notebook.name} failed in cell {exc.cell_index + 1} ({shortened(quoted)}): "
            f"{exc.ename}: {detail}"
        ) from None
    except Exception as exc:  # the kernel died (out of memory, killed) or timed out
        raise NotebookFailed(
            f"{notebook.name} stopped: {type(exc).__name__}: {str(exc).strip()[:300]}"
        ) from None


def staging_folder(base: Path, dataset: str, period: str, token: str) -> Path:
    """A run's staging folder under ``base`` (data/processed or reports)."""
    return base / STAGING / dataset / f"{period}{SEPARATOR}{token}"


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
CELL_FRAME = re.compile(r"Cell In\[\d+\], line (\d+)")


def raising_line(source: str, traceback: list[str]) -> str:
    """The cell's line that raised (the last frame of the cell in IPython's traceback), stripped; the
    cell's first line of code when the traceback does not say (a syntax error, a dead kernel)."""
    frames = CELL_FRAME.findall(ANSI_ESCAPE.sub("", "\n".join(traceback or [])))
    lines = source.splitlines()
    if frames and 0 < int(frames[-1]) <= len(lines) and lines[int(frames[-1]) - 1].strip():
        return lines[int(frames[-1]) - 1].strip()
    return next((ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), "")


def shortened(text: str, limit: int = 100) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def remove_stale_staging(dataset: str, period: str, root: Path) -> list[Path]:
    """Remove what killed runs of this period left behind: staging folders, and an old published copy
    caught mid-swap (put back first if the swap never finished). Called while holding the period's
    lock, so no live run owns them; other periods' and other datasets' folders are left alone."""
    stale = []
    for base in (paths.processed_root(root), paths.reports_root(root)):
        home = base / dataset
        old = sorted(home.glob(f".old-{period}{SEPARATOR}*"), key=lambda p: p.stat().st_mtime)
        if old and not (home / period).exists():
            old.pop().rename(home / period)
        stale += sorted((base / STAGING / dataset).glob(f"{period}{SEPARATOR}*")) + old
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


def _publish(staging: Path, final: Path, token: str) -> None:
    """Swap a fully built folder into place; the old one is removed only after the swap."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.with_name(f".old-{final.name}{SEPARATOR}{token}")
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def waits_for(stage: Stage, planned: list[Stage]) -> set[str]:
    """The notebooks among ``planned`` that ``stage`` must wait for: those writing a product it reads
    (the catalog's reads, required or optional)."""
    return {other.notebook for other in planned if other is not stage and catalog.depends_on(stage, other)}


class Lane:
    """One thread that runs notebooks one after another in its own kernel (or a fresh kernel per
    notebook when kernels are not shared). The kernel is started, used and shut down on the lane's
    own thread, so each kernel client stays on one event loop."""

    def __init__(self, name: str, kernel_name: str, cwd: Path, shared: bool, warm_up: str = WARM_UP) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.name = name
        self.key = _lane_key(name, kernel_name, cwd, warm_up)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.kernel = self.pool.submit(SharedKernel, kernel_name, cwd, warm_up) if shared else None

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

    def cleared(self) -> bool:
        """Clear the kernel's namespace now (its memory goes back to the system); False when the kernel
        failed to start or no longer answers."""
        if self.kernel is None or self.kernel.exception() is not None:
            return False
        try:
            self.pool.submit(self.kernel.result().reset).result()
        except Exception:
            return False
        return True


def _lane_key(name: str, kernel_name: str, cwd: Path, warm_up: str) -> tuple:
    """What a kept kernel must share with the lane that would reuse it (the environment included: a
    kernel sees the variables it started with)."""
    return (name, kernel_name, str(cwd), warm_up, tuple(sorted(os.environ.items())))


_kept_lanes: dict[tuple, Lane] | None = None  # inside kept_kernels(): idle lanes, by Lane.key


@contextmanager
def kept_kernels() -> Iterator[None]:
    """Periods run inside this block, one after another, hand their kernels on to the next instead of
    shutting them down: each later period saves a kernel's start and its imports (about 2-3 s of
    CPU each, on the first kernel's path). A kernel is reused only by the same lane, kernel name,
    notebooks folder and environment variables as when it started, after its namespace is cleared (as
    between the notebooks of one period); never after a failed notebook, and never on Spark, whose
    session keeps the settings of the period that started it. All are shut down when the block ends."""
    global _kept_lanes
    outer, _kept_lanes = _kept_lanes, {} if _kept_lanes is None else _kept_lanes
    try:
        yield
    finally:
        if outer is None:
            lanes, _kept_lanes = list(_kept_lanes.values()), None
            for lane in lanes:
                lane.close()


def _lane(name: str, kernel_name: str, cwd: Path, shared: bool, warm_up: str = WARM_UP) -> Lane:
    """A kept lane of the same kind (``kept_kernels``), or a new one."""
    key = _lane_key(name, kernel_name, cwd, warm_up)
    if shared and _kept_lanes is not None and key in _kept_lanes:
        return _kept_lanes.pop(key)
    return Lane(name, kernel_name, cwd, shared, warm_up)


def _release(lane: Lane, keep: bool) -> None:
    """Hand ``lane`` on to the next period (``keep``, inside ``kept_kernels``, its namespace cleared) or
    shut it down."""
    if keep and _kept_lanes is not None and lane.key not in _kept_lanes and lane.cleared():
        _kept_lanes[lane.key] = lane
    else:
        lane.close()


def parallel_possible(params) -> bool:
    """Whether a second kernel may run stages at all: only with shared kernels, a non-zero
    ``runner.parallel_max_rows``, and never on Spark (a second kernel would start a second Spark driver,
    a JVM of about 10 s, while the one session already spreads each stage's work over the executors)."""
    runner = params.runner
    return runner.shared_kernel and runner.parallel_max_rows > 0 and params.engine.backend != "spark"


def parallel_allowed(params, products_stage: Path) -> bool:
    """Two stages at once (a second kernel) only when ``parallel_possible`` and for a period of at most
    ``runner.parallel_max_rows`` ingested rows: each stage holds its own working set in memory."""
    facts = products_stage / catalog.file_of("ingest_facts")
    if not parallel_possible(params) or not facts.is_file():
        return False
    from helpers import io

    return int(io.read_json(facts).get("rows_read", 0)) <= params.runner.parallel_max_rows


def _run_notebooks(
    planned: list[tuple[Stage, Path]],
    report_stage: Path,
    products_stage: Path,
    params: Params,
    result: RunResult,
    log: Callable[[str], None],
    depth: int = 0,
) -> tuple[Path, str] | None:
    """Execute the planned stages, each once the stages whose products it reads have finished, and
    export each to HTML; returns the first failure as (notebook, message), after the notebooks still
    running have ended. ``report_stage`` is the work folder of the report (the customer-level
    audience's), ``depth`` folders below the period's folder.

    One lane (kernel) runs the stages in order. A second lane starts its kernel at the same time (when
    ``parallel_possible``), warming up while the first runs 01 and 02 (CDNOW: 07 started 2.5 s after
    02 ended when the second kernel was started only after 01); after 01, when the period is small
    enough (``parallel_allowed``), it takes any stage whose inputs are ready while the first is busy
    (on the default stages, 07_clv, which reads only 02, runs next to 03 and 08); otherwise it is shut
    down before it ever holds data. A page is exported in a background thread while the kernels run
    (the kernels are other processes); every export has finished when this returns."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    runner = params.runner
    label = run_label(params.dataset, params.period)
    stages = [stage for stage, _ in planned]
    notebook_of = dict(planned)
    cwd = planned[0][1].parent
    keep = params.engine.backend != "spark"  # kernels handed on to the next period (kept_kernels)
    lanes = [_lane("lane-1", runner.kernel_name, cwd, runner.shared_kernel)]
    spare = (  # the second lane, until 01 says whether it may be used
        _lane("lane-2", runner.kernel_name, cwd, True, WARM_UP_SECOND)
        if parallel_possible(params) and len(stages) > 1
        else None
    )
    parameters = {
        "dataset": params.dataset,
        "period": params.period,
        "products_dir": str(products_stage),
        "report_dir": str(report_stage),
    }
    pending, running = list(stages), {}  # running: future -> (stage, lane, start time)
    failure = None
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-html") as exporter:
            exports = []
            while pending or running:
                busy = {lane for _, lane, _ in running.values()}
                idle = (
                    [lane for lane in lanes if lane not in busy] if failure is None else []
                )  # no new starts after a failure
                for lane in idle:
                    blocked = {s.notebook for s in pending} | {s.notebook for s, _, _ in running.values()}
                    ready = next((s for s in pending if not waits_for(s, stages) & blocked), None)
                    if ready is None:
                        if lane is not lanes[0] and len(pending) < len(lanes):
                            # Every stage left waits for a running one, whose lane will take it:
                            # this kernel's memory is freed now (10M orders: the report peaked at
                            # 2.14 GB instead of 3.23 GB next to the idle kernel that had run CLV).
                            lanes.remove(lane)
                            _release(lane, keep)
                        break
                    pending.remove(ready)
                    notebook = notebook_of[ready]
                    future = lane.run(
                        notebook,
                        report_stage / "notebooks" / notebook.name,
                        parameters,
                        runner.kernel_name,
                        runner.cell_timeout_seconds,
                    )
                    running[future] = (ready, lane, time.perf_counter())
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: running[f][0].number):
                    stage, lane, t0 = running.pop(future)
                    notebook = notebook_of[stage]
                    try:
                        future.result()
                    except NotebookFailed as exc:
                        failure = failure or (notebook, str(exc))
                        continue
                    executed = report_stage / "notebooks" / notebook.name
                    page = report_stage / f"{stage.notebook}.html"
                    exports.append(exporter.submit(_export_page, executed, page, params, stage, depth))
                    seconds = time.perf_counter() - t0
                    result.stages.append(StageResult(stage.notebook, round(seconds, 2), page.name, lane.name))
                    log(f"[{label}] {stage.notebook:<16} {seconds:6.1f} s")
                    if spare is not None:
                        if pending and parallel_allowed(params, products_stage):
                            lanes.append(spare)
                        else:
                            _release(spare, keep)
                        spare = None
            for export in exports:
                export.result()  # an export error stops the run here, before anything is published
    finally:
        for lane in lanes + ([spare] if spare is not None else []):
            _release(lane, keep and failure is None)
    result.stages.sort(key=lambda s: s.notebook)
    return failure


def _export_page(executed: Path, page: Path, params: Params, stage: Stage, depth: int = 0) -> None:
    """One stage's HTML page; the report's page is also the landing page (index.html) of its folder."""
    language = page_language(params, stage)
    report = stage.number == catalog.REPORT_STAGE
    export_html(
        executed, page, page_title(params, stage), page_links(stage, language, depth), language, report
    )
    if report:
        shutil.copyfile(page, page.with_name("index.html"))


def _aggregate_pages(layout: audiences.Layout, params: Params, run_facts: dict, products: Path) -> list[Path]:
    """The landing page of each aggregate audience (stakeholders): the report's page without the
    cells that show individual customers, or, when the report stage did not run, the list of stages
    (linking to the customer-level audience's stage pages) with the data-quality accounting."""
    import nbformat

    report = catalog.stage(catalog.REPORT_STAGE)
    executed = layout.work / "notebooks" / f"{report.notebook}.ipynb"
    written = []
    for folder in layout.aggregate.values():
        folder.mkdir(parents=True, exist_ok=True)
        depth = layout.depth(folder)
        target = folder / "index.html"
        if executed.is_file():
            language = page_language(params, report)
            node = audiences.aggregate_notebook(
                nbformat.read(executed, as_version=4), audiences.restricted_note(params)
            )
            export_html(
                node, target, page_title(params, report), page_links(report, language, depth), language, True
            )
        else:
            prefix = (
                "../" * depth + str(layout.work.relative_to(layout.root)) + "/"
                if layout.work_published
                else None
            )
            write_period_index(folder, products, run_facts, prefix, depth)
        written.append(target)
    return written


def run_period(
    dataset: str | None = None,
    period: str | None = None,
    root: Path | None = None,
    only: list[str] | None = None,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Build one period's products and report; returns what happened (never raises for a notebook
    failure: the result says which notebook and cell failed and where the executed copy is).

    Privacy (``helpers.privacy``): the run first checks that its privacy settings can be honoured and
    refuses to start otherwise; products and the customer-level part of the report are written into
    folders closed to everyone but the owner (or ``privacy.group``) from the start; the stakeholders'
    page is exported without the cells that show individual customers; on failure a published build
    that contradicts today's settings is withdrawn; every run ends with a line in reports/audit.jsonl,
    and a successful one applies ``privacy.retention_months`` to the dataset's older periods."""
    root = Path(root).resolve() if root else paths.project_root()
    if os.environ.get("CA_PROJECT_ROOT"):
        # The kernels inherit it but run in the notebooks' folder: a relative root would point elsewhere.
        os.environ["CA_PROJECT_ROOT"] = str(Path(os.environ["CA_PROJECT_ROOT"]).resolve())
    params = load_params(dataset, period, root)
    dataset, period = params.dataset, params.period
    label = run_label(dataset, period)
    if params.report.language == "zh":
        from helpers import plots

        if plots.cjk_font() is None:
            raise RuntimeError(
                f"{label}: report.language is zh, but {plots.CJK_FONT_HINT}; nothing was built."
            )
    plan = plan_stages(params, root, only)
    if only and not catalog.is_built(dataset, period, root):
        raise UsageError(
            f"period {period} of {dataset} has not been built yet, so there is nothing to re-run stages on; "
            "build it whole first (without --only)."
        )
    if only and (changed := catalog.sources_changed_since_build(params, root)):
        raise UsageError(
            f"--only cannot re-run stages of {label}: its sources changed since it was built "
            f"({', '.join(changed)} in params/{dataset}/dataset.yaml), so the stages not re-run hold "
            "products of the old sources; build it whole (without --only)."
        )
    if not plan.run:
        raise RuntimeError(
            f"no stage can run for {label}: " + "; ".join(f"{s.notebook}: {why}" for s, why in plan.skipped)
        )
    token = f"{os.getpid()}-{time.time_ns()}"
    products_final = paths.processed_dir(dataset, period, root)
    report_final = paths.report_dir(dataset, period, root)
    products_stage = staging_folder(paths.processed_root(root), dataset, period, token)
    report_stage = staging_folder(paths.reports_root(root), dataset, period, token)
    result = RunResult(dataset=dataset, period=period, ok=False)
    modes = permissions.Modes.of(params.privacy)
    with period_lock(dataset, period, root):
        remove_stale_staging(dataset, period, root)
        if params.privacy.encrypt_products:
            # Products encrypted at rest: a history cache of an earlier run would keep the rows in clear
            # in data/interim. It goes first, even when the run is then refused.
            from helpers import cache

            cache.clear(dataset, root)
        try:
            guard.preflight(params, root)
            refusal = retention.refuse_expired(params, root)
        except guard.PrivacyError as exc:
            refusal = str(exc)
        if refusal:
            return _fail_closed(params, result, refusal, root, log, only)
        layout = audiences.layout(params, report_stage)
        if only and products_final.is_dir():
            # Re-running some stages: start from the last published build, replace what is re-run.
            shutil.copytree(products_final, products_stage)
            for stage, _ in plan.run:  # a re-run stage's optional products of last time must not linger
                for ref in stage.refs("writes"):
                    product, source = catalog.split_ref(ref)
                    if not product.in_report:
                        (products_stage / product.file_for(source)).unlink(missing_ok=True)
            published_work = report_final / layout.work.relative_to(report_stage)
            if layout.work_published and published_work.is_dir():
                shutil.copytree(published_work, layout.work)
            if (report_final / RUN_FILE).is_file():
                report_stage.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(report_final / RUN_FILE, report_stage / RUN_FILE)
        permissions.private_folder(products_stage, modes)  # closed before any notebook writes into them
        permissions.private_folder(layout.work, modes)
        (layout.work / "notebooks").mkdir(exist_ok=True)
        started = time.perf_counter()
        log(f"[{label}] building {len(plan.run)} notebooks")
        for line in plan.lines(label):
            log(line)
        failure = _run_notebooks(
            plan.run, layout.work, products_stage, params, result, log, layout.depth(layout.work)
        )
        if failure is not None:
            failed = paths.failed_dir(dataset, period, root)
            shutil.rmtree(failed, ignore_errors=True)
            failed.parent.mkdir(parents=True, exist_ok=True)
            layout.work.rename(failed)  # closed like the customer-level folder it was
            shutil.rmtree(report_stage, ignore_errors=True)
            shutil.rmtree(products_stage, ignore_errors=True)
            result.failed_notebook = failed / "notebooks" / failure[0].name
            saved = (
                f"The executed notebook is saved at {result.failed_notebook}"
                if result.failed_notebook.is_file()
                else "Its kernel stopped before the notebook could be saved"
            )
            withdrawn = guard.withdraw_contradicting(params, root)
            message = failure[1] if failure[1].endswith((".", "!", "?")) else f"{failure[1]}."
            if withdrawn:
                result.message = f"{message} {saved}; nothing was published. {' '.join(withdrawn)}"
            else:
                result.message = f"{message} {saved}; {_unchanged(report_final, label)}."
            _audit(params, "failed", [], result.message, withdrawn, root, only)
            if withdrawn:
                write_reports_index(root)
            log(f"[{label}] FAILED {result.message}")
            return result
        if only and (report_stage / RUN_FILE).is_file():  # keep the timings of stages not re-run
            earlier = json.loads((report_stage / RUN_FILE).read_text()).get("stages", [])
            rerun = {s.notebook for s in result.stages}
            result.stages = [StageResult(**s) for s in earlier if s["notebook"] not in rerun] + result.stages
            result.stages.sort(key=lambda s: s.notebook)
        run_facts = {
            "dataset": dataset,
            "title": params.dataset_title,
            "description": params.description,
            "period": period,
            "period_start": params.period_start,
            "period_end": params.period_end,
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started, 2),
            "stages": [s.__dict__ for s in result.stages],
            "skipped": {s.notebook: why for s, why in plan.skipped},
            "privacy": guard.facts_to_record(params, layout),
        }
        headline = products_stage / catalog.file_of("headline")
        if headline.is_file():
            run_facts["headline"] = json.loads(headline.read_text())
        report_stage.mkdir(parents=True, exist_ok=True)
        (report_stage / RUN_FILE).write_text(json.dumps(run_facts, indent=2, default=str) + "\n")
        if layout.work_published and not (layout.work / "index.html").is_file():
            write_period_index(layout.work, products_stage, run_facts, "", layout.depth(layout.work))
        _aggregate_pages(layout, params, run_facts, products_stage)
        _set_modes(layout, products_stage, modes)
        _publish(products_stage, products_final, token)
        _publish(report_stage, report_final, token)
        shutil.rmtree(paths.failed_dir(dataset, period, root), ignore_errors=True)
    write_reports_index(root)
    result.ok = True
    result.report = report_final / "index.html"
    published = sorted(p.name for p in products_final.iterdir() if p.is_file())
    _audit(params, "published", published, "", [], root, only, run_facts["seconds"])
    for line in retention.apply(params, root, log):
        audit.record(line, root)
    log(f"[{label}] done in {run_facts['seconds']:.1f} s: {result.report}")
    return result


def _unchanged(report_final: Path, label: str) -> str:
    return (
        f"the published report of {label} is unchanged"
        if report_final.is_dir()
        else f"nothing of {label} has been published"
    )


def _fail_closed(
    params: Params, result: RunResult, refusal: str, root: Path, log: Callable[[str], None], only
) -> RunResult:
    """A run refused because a privacy setting cannot be honoured: nothing is built or published, a
    published build that contradicts the settings is withdrawn, and the audit trail says so."""
    label = run_label(params.dataset, params.period)
    withdrawn = guard.withdraw_contradicting(params, root)
    refusal = refusal if refusal.endswith(".") else f"{refusal}."
    if withdrawn:
        result.message = f"{refusal} Nothing was built or published. {' '.join(withdrawn)}"
        write_reports_index(root)
    else:
        result.message = (
            f"{refusal} Nothing was built or published; "
            f"{_unchanged(paths.report_dir(params.dataset, params.period, root), label)}."
        )
    _audit(params, "refused", [], result.message, withdrawn, root, only)
    log(f"[{label}] FAILED {result.message}")
    return result


def _audit(
    params: Params,
    outcome: str,
    products: list[str],
    message: str,
    withdrawn: list[str],
    root: Path,
    only,
    seconds: float | None = None,
) -> None:
    audit.record(audit.run_entry(params, outcome, products, message, withdrawn, seconds, root, only), root)


def _set_modes(layout: audiences.Layout, products: Path, modes: permissions.Modes) -> None:
    """Before publishing: products and the customer-level report folder get the customer-level modes
    and group; the aggregate audiences' files are readable as the user's umask allows."""
    permissions.restrict_tree(products, modes)
    if not layout.work_published:
        shutil.rmtree(layout.work, ignore_errors=True)
    elif layout.work == layout.root:
        permissions.restrict_tree(layout.root, modes)
        return
    else:
        permissions.restrict_tree(layout.work, modes)
    permissions.open_tree(layout.root, skip={layout.work})


# ------------------------------------------------------------------------------------ index pages

PAGE_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:960px;margin:2rem auto;padding:0
1rem;color:#1f2933}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}table{border-collapse:collapse;margin:.5rem 0}
td,th{border-bottom:1px solid #d9e2ec;padding:.35rem .8rem;text-align:left}th{background:#f0f4f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}a{color:#0b69a3}.muted{color:#627d98}
.scroll{overflow-x:auto;max-width:100%}
"""


def _page(title: str, body: str, language: str = "en") -> str:
    return (
        f"<!DOCTYPE html><html lang='{language}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style></head><body>{body}</body></html>\n"
    )


def write_period_index(
    report: Path, products: Path, run_facts: dict, stage_prefix: str | None = "", depth: int = 0
) -> Path:
    """The period's landing page when the report stage did not run: the stages (linked to their pages
    under ``stage_prefix``; not linked when None) and the data-quality accounting. ``depth``: how many
    folders the page is below the period's folder."""
    label = f"{run_facts['title']} · {run_facts['period']}"

    def name(stage: dict) -> str:
        if stage_prefix is None:
            return html.escape(stage["notebook"])
        return f"<a href='{html.escape(stage_prefix + stage['html'])}'>{html.escape(stage['notebook'])}</a>"

    rows = "".join(
        f"<tr><td>{name(s)}</td><td class='num'>{s['seconds']:.1f} s</td></tr>" for s in run_facts["stages"]
    )
    body = [
        f"<h1>Customer analytics: {html.escape(label)}</h1>",
        f"<p class='muted'>Period {run_facts['period_start']} to {run_facts['period_end']}; "
        f"built {html.escape(run_facts['finished'])}. "
        f"<a href='{'../' * (2 + depth)}index.html'>All reports</a></p>",
        "<h2>Stages</h2><table><tr><th>page</th><th>time</th></tr>" + rows + "</table>",
    ]
    quality_path = products / catalog.file_of("quality")
    if quality_path.is_file():
        from helpers import io

        quality = io.read_json(quality_path)
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
    target.write_text(_page(f"Customer analytics · {label}", "\n".join(body)), encoding="utf-8")
    return target


HEADLINE_COLUMNS = [  # key of the headline's facts, its heading (helpers.labels)
    ("buyers", "index_buyers"),
    ("revenue", "index_revenue"),
    ("revenue_change", "index_change"),
    ("at_risk", "index_at_risk"),
    ("expected_clv", "index_clv"),
]
INDEX_HEADINGS = ("index_period", "index_window", "index_built")


def published_periods(root: Path | None = None) -> dict[str, list[dict]]:
    """Dataset -> the build facts (run.json) of its published periods, newest first (by period end)."""
    found: dict[str, list[dict]] = {}
    for run_file in paths.reports_root(root).glob(f"*/*/{RUN_FILE}"):
        if run_file.parent.parent.name.startswith("."):
            continue
        facts = json.loads(run_file.read_text())
        found.setdefault(run_file.parent.parent.name, []).append(facts)
    return {
        dataset: sorted(runs, key=lambda f: (str(f["period_end"]), f["period"]), reverse=True)
        for dataset, runs in sorted(found.items())
    }


def write_reports_index(root: Path | None = None) -> Path:
    """``reports/index.html``: every dataset with its published periods, newest first, each with a
    link and its headline numbers; datasets with params but nothing built yet are named too."""
    from helpers.config import read_defaults

    reports = paths.reports_root(root)
    defaults = read_defaults(root)
    project = defaults.get("project_name") or Params.model_fields["project_name"].default
    language = (defaults.get("report") or {}).get("language", "en")
    built = published_periods(root)
    sections = []
    for dataset in sorted(set(built) | set(list_datasets(root))):
        runs = built.get(dataset, [])
        title = runs[0].get("title", dataset) if runs else dataset
        heading = f"<h2 id='{html.escape(dataset)}'>{html.escape(title)}</h2>"
        if runs and runs[0].get("description"):  # e.g. that the dataset is synthetic
            heading += f"<p>{html.escape(runs[0]['description'])}</p>"
        if not runs:
            count = len(list_periods(dataset, root))
            sections.append(
                heading
                + f"<p class='muted'>{html.escape(labels.t('index_none_built', language, count=count))}</p>"
            )
            continue
        rows = []
        for facts in runs:
            published = facts.get("headline", {})
            headline = published.get("facts", published)
            cells = "".join(
                f"<td class='num'>{html.escape(str(headline.get(key, '–')))}</td>"
                for key, _ in HEADLINE_COLUMNS
            )
            link = f"{html.escape(dataset)}/{html.escape(facts['period'])}/index.html"
            rows.append(
                f"<tr><td><a href='{link}'>{html.escape(facts['period'])}</a></td>"
                f"<td>{facts['period_start']} to {facts['period_end']}</td>{cells}"
                f"<td class='muted'>{html.escape(facts['finished'])}</td></tr>"
            )
        period, window, built_at = (labels.t(key, language) for key in INDEX_HEADINGS)
        sections.append(
            heading
            + f"<div class='scroll'><table><tr><th>{html.escape(period)}</th><th>{html.escape(window)}</th>"
            + "".join(f"<th>{html.escape(labels.t(key, language))}</th>" for _, key in HEADLINE_COLUMNS)
            + f"<th>{html.escape(built_at)}</th></tr>"
            + "".join(rows)
            + "</table></div>"
        )
    title = labels.t("index_title", language, project=project)
    body = f"<h1>{html.escape(title)}</h1>" + (
        "".join(sections) if sections else f"<p>{html.escape(labels.t('index_no_dataset', language))}</p>"
    )
    target = reports / "index.html"
    reports.mkdir(parents=True, exist_ok=True)
    tmp = reports / f".index.html.{os.getpid()}"
    tmp.write_text(_page(title, body, language), encoding="utf-8")
    os.replace(tmp, target)
    return target
