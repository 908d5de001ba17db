"""A subject access request: ``python -m helpers access --dataset D --customer-id X --out F``.

Every published period of the dataset is searched like ``forget`` searches it (the id, its pseudonym
under each period's key, encrypted files decrypted); the customer's rows of every table product are
written to one JSON file readable by its owner only, with the list of the other files (pages, exports,
notebooks) that mention them. Nothing is changed.
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers import paths
from helpers.privacy import forget


def customer_rows(path: Path, forms: set[str]) -> list[dict]:
    """The rows of a Parquet product in which any text column holds one of ``forms``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from helpers.io import read_arrow

    table = read_arrow(path)
    values = pa.array(sorted(forms), pa.string())
    mask = None
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            hit = pc.fill_null(pc.is_in(column, value_set=values.cast(column.type)), False)
            mask = hit if mask is None else pc.or_(mask, hit)
    if mask is None:
        return []
    return table.filter(mask).to_pylist()


def report(dataset: str, customer_ids: list[str], root: Path | None = None) -> dict:
    """What the project holds about the customers: their rows per period and product, and the other
    files that mention them."""
    from helpers.schema import normalised_ids

    ids = sorted({i for i in normalised_ids(customer_ids) if i is not None})
    forms = forget.customer_forms(ids, dataset, root)
    base = root or paths.project_root()
    found: dict = {"dataset": dataset, "customer_ids": ids, "periods": {}}
    for period, folders in sorted(forget.dataset_folders(dataset, root)["published"].items()):
        held = forget.files_holding(folders, forms)
        if not held:
            continue
        entry = found["periods"].setdefault(period, {"rows": {}, "other_files": []})
        for path in held:
            if path.suffix == ".parquet":
                entry["rows"][path.name] = customer_rows(path, forms)
            else:
                entry["other_files"].append(str(path.relative_to(base)))
    return found


def write(found: dict, target: Path) -> Path:
    """The answer as JSON in a file only its owner can read."""
    from helpers.privacy.permissions import write_private

    text = json.dumps(found, indent=2, default=str, ensure_ascii=False) + "\n"
    return write_private(target, text.encode("utf-8"))
