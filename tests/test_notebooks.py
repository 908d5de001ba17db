"""Notebooks: committed clean (no outputs, python3 kernel, no definitions, a literal parameters cell),
and each one runs under nbval on the tiny fixture period, in chain order."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import DATASET, REPO, make_project, products

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def code_cells(path: Path) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_the_chain_starts_with_ingest_and_cleaning() -> None:
    names = [p.stem for p in NOTEBOOKS]
    assert names[:2] == ["01_ingest", "02_cleaning"]
    assert names == sorted(names) and len({n[:2] for n in names}) == len(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_the_python3_kernel(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in code_cells(path):
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs (nbstripout)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_definitions_and_a_literal_parameters_cell(path: Path) -> None:
    cells = code_cells(path)
    tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell must be tagged 'parameters'"
    params = ast.parse(tagged[0].source)
    assert {t.id for node in params.body for t in node.targets} >= {"dataset", "period", "products_dir"}
    for node in params.body:
        assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant), "literals only"
    for cell in cells:
        tree = ast.parse(cell.source)
        defined = [
            n
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
        ]
        assert not defined, f"{path.name}: move definitions into src/helpers/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_table_inside_a_block_is_displayed(path: Path) -> None:
    """Jupyter shows only a cell's last top-level expression: a table built inside an if or a for
    must go through display(), or its page silently lacks it (the cleaning page's implausible rows did)."""
    for cell in code_cells(path):
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, (ast.If, ast.For, ast.While, ast.With)):
                for inner in [*node.body, *getattr(node, "orelse", [])]:
                    call = inner.value if isinstance(inner, ast.Expr) else None
                    shown = ast.unparse(call) if isinstance(call, ast.Call) else ""
                    assert not shown.startswith(("plots.table(", "page.table(")), (
                        f"{path.name}: wrap `{shown[:60]}` in display(...)"
                    )


def test_every_notebook_runs_under_nbval_on_the_tiny_period(tmp_path: Path) -> None:
    """The notebooks as committed, run in order by nbval against a tiny project (its own params and
    data), which is how an analyst runs them from JupyterLab: default parameters, published folder."""
    root = make_project(tmp_path / "project")
    env = {**os.environ, "CA_PROJECT_ROOT": str(root)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            "-q",
            *[str(root / "notebooks" / p.name) for p in NOTEBOOKS],
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert (products(root, "1998-06") / "02_transactions.parquet").is_file()
    # Run by hand, the report writes its exports to data/interim/, never to the published reports/.
    assert (root / "data" / "interim" / DATASET / "1998-06" / "exports" / "churn_warning.csv").is_file()
    assert not (root / "reports").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_is_a_stage_of_the_catalog_and_opens_its_own_products(path: Path) -> None:
    from helpers import catalog

    stage = catalog.stage(path.stem)
    assert stage.notebook == path.stem
    sources = "\n".join(c.source for c in code_cells(path))
    assert f'catalog.open_stage("{stage.number}", dataset, period' in sources


PRODUCT_FILE = re.compile(r"\b\d\d_[a-z_]+\.(?:parquet|json)\b")


def test_no_product_file_name_is_spelled_outside_the_catalog() -> None:
    """Product paths come from helpers.catalog only: a file name typed elsewhere would drift from it."""
    places = [p for p in (REPO / "src" / "helpers").rglob("*.py") if p.name != "catalog.py"] + NOTEBOOKS
    found = {str(p.relative_to(REPO)): PRODUCT_FILE.findall(p.read_text()) for p in places}
    assert {name: names for name, names in found.items() if names} == {}
