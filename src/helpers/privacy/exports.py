"""What the exported lists need before they leave for a spreadsheet or a CRM: formulas defused (a
cell a spreadsheet would run), and encryption when ``privacy.encrypt_exports`` is on.

Formula injection (OWASP, "CSV injection"): a spreadsheet opening a CSV runs a cell that begins with
``=``, ``+``, ``-`` or ``@`` as a formula (``=HYPERLINK("http://x","y")`` becomes a live link), and a
leading tab or carriage return can hide such a start. Every text cell that begins with one of them gets
a leading ``'``, which spreadsheets show as text. Numbers are never touched (a negative amount is a
number column). ``privacy.escape_formulas: false`` writes the values verbatim, for a CRM import that
must receive them exactly (and never opens the file in a spreadsheet).
"""

from __future__ import annotations

import io as stdio
import os
import tempfile
from pathlib import Path

FORMULA_START = r"^[=+\-@\t\r]"
ESCAPE = "'"


def escape_formulas(table):
    """An Arrow table whose text cells that a spreadsheet would take for a formula start with ``'``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.match_substring_regex(column, FORMULA_START)
            quote, nothing = pa.scalar(ESCAPE, column.type), pa.scalar("", column.type)
            column = pc.if_else(risky, pc.binary_join_element_wise(quote, column, nothing), column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def csv_bytes(con, table) -> bytes:
    """The CSV file DuckDB writes for an Arrow table (the same bytes as an unencrypted export), written
    in memory-backed storage where there is one (Linux's /dev/shm), so the plaintext of an encrypted
    export never reaches a disk."""
    from helpers.privacy.encryption import memory_folder

    with tempfile.TemporaryDirectory(dir=memory_folder(), prefix="ca-export-") as folder:
        os.chmod(folder, 0o700)
        path = Path(folder) / "list.csv"
        con.from_arrow(table).write_csv(str(path), header=True)
        return path.read_bytes()


def xlsx_bytes(write_xlsx, frame, sheet: str) -> bytes:
    """An Excel book built in memory by ``write_xlsx`` (frame, target, sheet)."""
    buffer = stdio.BytesIO()
    write_xlsx(frame, buffer, sheet)
    return buffer.getvalue()
