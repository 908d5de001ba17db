"""Reading and writing data products: Parquet for tables, JSON for small facts, with clear errors
naming the stage to re-run when a product is missing or unreadable."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from helpers import engine
from helpers.catalog import ProductError, stage_of_file
from helpers.privacy import encryption
from helpers.privacy.encryption import EncryptionError, protection_of


def _stage_for(path: Path) -> str:
    """The notebook that writes a product file (from the stage catalog), for messages."""
    stage = stage_of_file(Path(path).name)
    return stage.notebook if stage else "the stage that writes it"


def require(path: Path) -> Path:
    """Fail with one sentence naming the stage to re-run when a product does not exist."""
    if not Path(path).is_file():
        raise ProductError(f"{path}: product not found; run notebook {_stage_for(Path(path))} first.")
    return Path(path)


def read_arrow(path: Path):
    """A product as an Arrow table, decrypted when it is encrypted (the key named in the file)."""
    require(path)
    try:
        if encryption.encrypted_kind(Path(path)) == "parquet":
            return encryption.read_parquet(Path(path))
        return pq.read_table(path)
    except EncryptionError:
        raise
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise ProductError(
            f"{path}: product is unreadable ({type(exc).__name__}); re-run notebook {_stage_for(Path(path))}."
        ) from None


def read_parquet(path: Path) -> pd.DataFrame:
    """A product as a pandas frame (for customer-level work, small by construction)."""
    return read_arrow(path).to_pandas()


def read_optional(path: Path | None) -> pd.DataFrame | None:
    """A product that an optional stage or source writes (clusters, customer attributes), or None."""
    return read_parquet(path) if path is not None and Path(path).is_file() else None


def write_parquet(frame: pd.DataFrame, path: Path, sort_by: list[str] | None = None) -> Path:
    """Write a frame sorted by ``sort_by`` without the pandas index, so reruns give identical bytes
    (identical content when the path asks for encryption: each file gets a fresh key and nonces)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if sort_by:
        frame = frame.sort_values(sort_by, kind="mergesort")
    protection = protection_of(path)
    if protection is not None:
        import pyarrow as pa

        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        return encryption.write_parquet([table], table.schema, path, protection)
    frame.reset_index(drop=True).to_parquet(path, index=False)
    return path


def _arrow(ids: pd.Series):
    """The Arrow array behind an id column (pandas' default string columns), or None."""
    array = getattr(ids.array, "_pa_array", None)
    return array.combine_chunks() if array is not None and hasattr(array, "combine_chunks") else array


def ids_increasing(ids: pd.Series) -> bool:
    """True when every id is greater than the one before it (so each is unique). On Arrow strings
    compared in Arrow: 1M ids in 14 ms, where pandas' check first copies them to Python strings (0.17 s)."""
    array = _arrow(ids)
    if array is None:
        return bool(ids.is_monotonic_increasing and ids.is_unique)
    import pyarrow.compute as pc

    return len(array) < 2 or (array.null_count == 0 and bool(pc.all(pc.less(array[:-1], array[1:])).as_py()))


def join_by_id(
    left: pd.DataFrame, right: pd.DataFrame, columns: list[str], id_column: str = "customer_id"
) -> pd.DataFrame:
    """``right``'s ``columns`` attached to ``left`` by id (a left join, left's rows and order). When both
    list the same increasing ids (products are written in id order) the columns are attached by
    position: 1M customers in 0.02 s instead of 0.4 s for the merge."""
    left_ids, right_ids = _arrow(left[id_column]), _arrow(right[id_column])
    if (
        left_ids is not None
        and right_ids is not None
        and not set(columns) & set(left.columns)
        and left_ids.equals(right_ids)
        and ids_increasing(left[id_column])
    ):
        return left.reset_index(drop=True).assign(**{c: right[c].array for c in columns})
    return left.merge(right[[id_column, *columns]], on=id_column, how="left")


def largest_first(
    frame: pd.DataFrame, column: str, n: int | None = None, id_column: str = "customer_id"
) -> pd.DataFrame:
    """The rows from the largest ``column`` to the smallest, ties by ``id_column`` ascending, missing
    values last (``sort_values([column, id_column], ascending=[False, True])``); the first ``n`` only
    when given. A frame already in id order (products are written so) needs only a stable sort of
    the numbers, not a sort on text: 1M customers 1.3 s -> 0.3 s."""
    if not ids_increasing(frame[id_column]):
        ordered = frame.sort_values([column, id_column], ascending=[False, True], kind="mergesort")
        return ordered if n is None else ordered.head(n)
    order = np.argsort(
        -frame[column].to_numpy(dtype="float64", na_value=np.nan), kind="stable"
    )  # NaN sorts last
    return frame.iloc[order if n is None else order[:n]]


def write_table(table: Any, path: Path) -> Path:
    """Write an engine (Ibis) table to Parquet without passing through pandas; the expression's own
    ``order_by`` fixes the row order, so reruns give identical files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    protection = protection_of(path)
    if protection is not None:  # streamed from the engine in batches into the encrypted writer
        import warnings

        with warnings.catch_warnings():  # ibis 12 still calls DuckDB's deprecated fetch_record_batch
            warnings.simplefilter("ignore", DeprecationWarning)
            batches = table.to_pyarrow_batches()
            return encryption.write_parquet(batches, batches.schema, path, protection)
    tmp = path.with_name(f".{path.name}.tmp")
    engine.write_parquet_file(table, tmp)
    tmp.replace(path)
    return path


def read_optional_table(con: Any, path: Path | None) -> Any:
    """An optional product (a source the dataset may not have) as an engine table, or None."""
    return read_table(con, path) if path is not None and Path(path).is_file() else None


def read_table(con: Any, path: Path) -> Any:
    """An earlier stage's Parquet product as an engine (Ibis) table, with a clear error if it is
    missing or damaged. An encrypted product (which the engines cannot read) is decrypted by pyarrow
    into memory and handed to the engine as an Arrow table."""
    require(path)
    if encryption.encrypted_kind(Path(path)) == "parquet":
        from helpers.engine import from_arrow

        return from_arrow(con, read_arrow(path), Path(path).stem)
    try:
        table = con.read_parquet(path)
        table.limit(1).execute()  # a damaged file fails here, not in the middle of a later stage
    except Exception as exc:  # the engines raise several types for a damaged file
        raise ProductError(
            f"{path}: product is unreadable ({type(exc).__name__}); re-run notebook {_stage_for(Path(path))}."
        ) from None
    return table


def _plain(value: Any) -> Any:
    """JSON-safe version of numpy/pandas scalars and dates; NaN becomes null."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def write_json(data: dict[str, Any], path: Path) -> Path:
    """Facts as sorted, indented JSON; encrypted (Fernet) when the path asks for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_plain(data), indent=2, sort_keys=True) + "\n"
    protection = protection_of(path)
    if protection is not None:
        return encryption.write_sealed(text.encode("utf-8"), path, protection)
    path.write_text(text, encoding="utf-8")
    return path


def read_json(path: Path) -> dict[str, Any]:
    """A JSON product (decrypted when it is encrypted)."""
    require(path)
    try:
        return json.loads(encryption.read_bytes(Path(path)).decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ProductError(
            f"{path}: product is not valid JSON; re-run notebook {_stage_for(Path(path))}."
        ) from None
