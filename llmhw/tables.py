"""Table formatting shared by the exhaustive mode (model.md §15).

Values print with the shortest round-trip representation of a double (``repr``), integers without
a decimal point, booleans as ``False``/``True``.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence


def fmt(value: Any) -> str:
    """§15: Python ``repr`` for floats (``321.29999999999995``, ``inf``), ``str`` for everything else."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_reference_csv(path, columns: Sequence[str], rows: Iterable[Sequence[Any]], trailing: bool) -> None:
    """Write a table in the reference's text form: fields joined by ", ".

    ``trailing=True`` is the hardware-table form (§15.1: every field, header included, followed by ", ");
    ``trailing=False`` the performance-table form (§15.2: no trailing separator).
    """
    with open(path, "w") as f:
        for fields in [columns, *rows]:
            cells = [fmt(v) for v in fields]
            f.write(", ".join(cells) + (", " if trailing else "") + "\n")


def read_reference_csv(path) -> list[dict[str, str]]:
    """Read a reference-style table (", "-separated, optional trailing separator) into dicts of strings."""
    with open(path) as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    sep = ", " if ", " in lines[0] else ","

    def split(line: str) -> list[str]:
        cells = line.split(sep)
        if cells and cells[-1].strip() == "":
            cells = cells[:-1]
        return [c.strip() for c in cells]

    header = split(lines[0])
    return [dict(zip(header, split(line))) for line in lines[1:]]
