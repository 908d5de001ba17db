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


def raw_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / "data" / "raw"


def processed_root(root: Path | None = None) -> Path:
    return (root or project_root()) / "data" / "processed"


def processed_dir(period: str, root: Path | None = None) -> Path:
    """Where the data products of one period are published."""
    return processed_root(root) / period


def products_dir(period: str, override: str | None = None, root: Path | None = None) -> Path:
    """Where a notebook reads and writes its period's products: the runner's staging folder when it
    passes one (``override``), the published folder otherwise (JupyterLab, a papermill run by hand)."""
    folder = Path(override) if override else processed_dir(period, root)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def reports_root(root: Path | None = None) -> Path:
    return (root or project_root()) / "reports"


def report_dir(period: str, root: Path | None = None) -> Path:
    """Where the HTML report of one period is published."""
    return reports_root(root) / period


def notebooks_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / "notebooks"


def resolve(path: str | os.PathLike, root: Path | None = None) -> Path:
    """A path from a params file: absolute as given, relative to the project root otherwise."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else (root or project_root()) / path
