"""The exhaustive mode's files (model.md §15): the reference-style tables, the optima and invalid-design CSVs.

Values print with the shortest round-trip representation of a double (``repr``), integers without
a decimal point, booleans as ``False``/``True``. Column names are fixed by the reference tables.
"""
from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from llmhw.gc_pause import gc_paused

from .hardware_phase import HardwarePhase
from .hardware_table import hardware_row

OPTIMA_COLUMNS = ("server", "system", "num_servers", "input_len", "output_len", "opt_goal", "batch", "t", "p",
                  "micro_batch", "prefill_micro_batch", "prefill_sec", "decoding_sec", "prefill_throughput",
                  "generate_throughput", "prefill_utilization", "generate_utilization", "prefill_power_w",
                  "generate_power_w", "prefill_tco_per_token", "generate_tco_per_token")
PERFORMANCE_COLUMNS = ("opt_goal", "input_len", "output_len", "batch", "prefill_sec", "decoding_sec",
                       "tco_per_Mtoken", "prefill_io_sec", "prefill_compute_sec", "prefill_mem_sec",
                       "decoding_io_sec", "decoding_compute_sec", "decoding_mem_sec", "capex", "opex")


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


def write_invalid_csv(path: Path, phase: HardwarePhase) -> None:
    """One row per invalid chip/package/server: origin indices, reason, and every positive violation amount."""
    names = sorted({name for rec in phase.invalid for name in rec.violations})
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["level", "chip", "package", "server", "chip_id", "reason", *names])
        for rec in phase.invalid:
            w.writerow([rec.level, rec.chip, "" if rec.package is None else rec.package,
                        "" if rec.server is None else rec.server, rec.chip_id, rec.reason,
                        *[repr(rec.violations[n]) if n in rec.violations else "" for n in names]])


def write_hardware_tables(out_dir: Path, stem: str, phase: HardwarePhase, columns: Sequence[str]) -> list[Path]:
    """``<stem>.csv`` (§15.1, valid servers) and ``<stem>_invalid.csv``."""
    hw_csv = out_dir / f"{stem}.csv"
    rows = [hardware_row(s) for s in phase.servers]
    write_reference_csv(hw_csv, columns, ([r[c] for c in columns] for r in rows), trailing=True)
    invalid_csv = out_dir / f"{stem}_invalid.csv"
    write_invalid_csv(invalid_csv, phase)
    return [hw_csv, invalid_csv]


def write_optima_csv(path: Path, table: Mapping[str, Sequence[Any]]) -> None:
    """The optima table (columns in :data:`OPTIMA_COLUMNS` order): plain CSV, floats in shortest round-trip form.

    The text is what :mod:`csv` writes for these cells (``repr`` for a float, ``str`` for anything else,
    nothing for None, ``\\r\\n`` line ends), formed a column at a time: each distinct value is printed once
    (:func:`float_texts`; an optima table repeats most of its values). A column may be a list or a numpy
    array (int64 or float64: its values are those Python ints and floats). A cell :mod:`csv` would quote (a
    string with a comma, quote or line break) sends the whole table through :mod:`csv` instead.
    """
    columns = [_python_values(table[name]) if _numpy_kind(table[name]) is None else table[name]
               for name in OPTIMA_COLUMNS]
    with gc_paused(), open(path, "w", newline="") as f:     # one text per cell, no cycles (llmhw.gc_pause)
        texts = [column_texts(values) for values in columns]
        if any(t is None for t in texts):
            w = csv.writer(f)
            w.writerow(OPTIMA_COLUMNS)
            w.writerows(zip(*map(_python_values, columns)))
        else:
            f.write("\r\n".join([",".join(OPTIMA_COLUMNS), *map(",".join, zip(*texts)), ""]))


_CSV_SPECIAL = (",", '"', "\r", "\n")


def _numpy_kind(values: Any) -> str | None:
    """"f" for a float64 numpy array, "i" for an int64 one, None for anything else."""
    dtype = getattr(values, "dtype", None)
    if dtype is None or dtype.itemsize != 8 or dtype.kind not in "fi":
        return None
    return dtype.kind


def _python_values(values: Sequence[Any]) -> Sequence[Any]:
    """A numpy array's values as Python objects (a list as it is)."""
    return values.tolist() if hasattr(values, "tolist") else values


def column_texts(values: Sequence[Any]) -> list[str] | None:
    """The cells of one column as :mod:`csv` prints them; None if one would need quoting."""
    kind = _numpy_kind(values)
    if kind == "f":
        return float_texts(values)
    if kind == "i":
        return _distinct_texts(values, str)
    kinds = set(map(type, values))
    if kinds == {float}:
        return float_texts(values)
    if kinds <= {int}:
        text = {v: str(v) for v in set(values)}
        return list(map(text.__getitem__, values))
    texts = ["" if v is None else repr(v) if isinstance(v, float) else str(v) for v in values]
    if str in kinds and any(c in t for t in set(texts) for c in _CSV_SPECIAL):
        return None
    return texts


def float_texts(values: Sequence[float]) -> list[str]:
    """``repr`` of each float, each distinct value (by bit pattern: -0.0 is not 0.0) printed once."""
    import numpy as np          # not at module level: ``--hardware-only`` does not import numpy

    bits = np.asarray(values, dtype=np.float64).view(np.int64)
    return _distinct_texts(bits, repr, np.float64)


def _distinct_texts(values, text, view=None) -> list[str]:
    """``text`` of each value of an int64 array, each distinct one formed once (read as ``view`` if given)."""
    import numpy as np

    distinct, index = np.unique(values, return_inverse=True)
    texts = np.asarray(list(map(text, (distinct if view is None else distinct.view(view)).tolist())), dtype=object)
    return texts[index.reshape(-1)].tolist()


def write_parquet(path: Path, table: Sequence[dict[str, Any]] | Mapping[str, Sequence[Any]],
                  columns: Sequence[str]) -> Path | None:
    """A Parquet copy of a table (rows as dicts, or columns) when pyarrow is installed (optional dependency);
    None otherwise."""
    if importlib.util.find_spec("pyarrow") is None:
        return None
    import pandas as pd
    data = table if isinstance(table, Mapping) else list(table)
    pd.DataFrame(data, columns=list(columns)).to_parquet(path, index=False)
    return path


def write_software_tables(out_dir: Path, name: str, perf_rows: Sequence[dict[str, Any]],
                          optima: Mapping[str, Sequence[Any]]) -> list[Path]:
    """``<name>.csv`` (§15.2 performance table), ``<name>_optima.csv`` and their Parquet copies (pyarrow)."""
    perf_csv = out_dir / f"{name}.csv"
    write_reference_csv(perf_csv, PERFORMANCE_COLUMNS, ([r[c] for c in PERFORMANCE_COLUMNS] for r in perf_rows),
                        trailing=False)
    optima_csv = out_dir / f"{name}_optima.csv"
    write_optima_csv(optima_csv, optima)
    written = [perf_csv, optima_csv]
    for rows, cols, path in ((perf_rows, PERFORMANCE_COLUMNS, perf_csv), (optima, OPTIMA_COLUMNS, optima_csv)):
        pq = write_parquet(path.with_suffix(".parquet"), rows, cols)
        if pq:
            written.append(pq)
    return written
