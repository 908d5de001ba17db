"""Every path the project uses, anchored at the project root so a notebook runs the same from
JupyterLab, papermill or pytest."""

from __future__ import annotations

import os
from pathlib import Path

ROOT_MARKER = Path("params") / "defaults.yaml"


def project_root() -> Path:
    """The folder holding ``params/defaults.yaml``: ``$CA_PROJECT_ROOT`` if set, else the nearest
    parent of the working directory, else the checkout this package lives in."""
    env = os.environ.get("CA_PROJECT_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / ROOT_MARKER).is_file():
            return folder
    return Path(__file__).resolve().parents[2]


def params_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / "params"


def dataset_params_dir(dataset: str, root: Path | None = None) -> Path:
    """``params/<dataset>/``: the dataset's dataset.yaml and one file per period."""
    return params_dir(root) / dataset


def raw_dir(dataset: str | None = None, root: Path | None = None) -> Path:
    """``data/raw/`` or, for a dataset, ``data/raw/<dataset>/``: input files exactly as received."""
    folder = (root or project_root()) / "data" / "raw"
    return folder / dataset if dataset else folder


def processed_root(root: Path | None = None) -> Path:
    return (root or project_root()) / "data" / "processed"


def processed_dir(dataset: str, period: str, root: Path | None = None) -> Path:
    """Where the data products of one period of a dataset are published."""
    return processed_root(root) / dataset / period


def interim_root(root: Path | None = None) -> Path:
    return (root or project_root()) / "data" / "interim"


def interim_dir(dataset: str, period: str, root: Path | None = None) -> Path:
    """Where a report notebook run by hand (JupyterLab, papermill) writes what the runner would publish
    under reports/ (the exports): never a published folder."""
    return interim_root(root) / dataset / period


def reports_root(root: Path | None = None) -> Path:
    return (root or project_root()) / "reports"


def report_dir(dataset: str, period: str, root: Path | None = None) -> Path:
    """Where the HTML report of one period of a dataset is published."""
    return reports_root(root) / dataset / period


def notebooks_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / "notebooks"


def resolve(path: str | os.PathLike, root: Path | None = None) -> Path:
    """A path from a params file: absolute as given, relative to the project root otherwise."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else (root or project_root()) / path


def failed_dir(dataset: str, period: str, root: Path | None = None) -> Path:
    """Where the runner keeps the executed notebooks of a period's last failed run."""
    return reports_root(root) / ".failed" / dataset / period


def audit_file(root: Path | None = None) -> Path:
    """``reports/audit.jsonl``: one JSON line per run, erasure and retention action."""
    return reports_root(root) / "audit.jsonl"


def erasure_list(dataset: str, root: Path | None = None) -> Path:
    """``data/privacy/<dataset>/erased.txt``: keyed hashes of the customers erased from the dataset, left
    out by ingest on every later run."""
    return (root or project_root()) / "data" / "privacy" / dataset / "erased.txt"
