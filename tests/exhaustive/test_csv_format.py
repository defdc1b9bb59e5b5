"""The optima CSV is the text :mod:`csv` writes for the same rows (floats by repr, \\r\\n line ends), byte for byte."""
from __future__ import annotations

import csv
import math
import random

from llmhw.exhaustive.csv_format import OPTIMA_COLUMNS, float_texts, write_optima_csv

SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, 321.29999999999995]


def _rows(rng, n):
    rows = []
    for i in range(n):
        row = {c: rng.choice(SPECIAL) if rng.random() < 0.2 else rng.random() * 10.0 ** rng.randint(-30, 30)
               for c in OPTIMA_COLUMNS[11:]}
        row.update(server=i // 7, system=rng.randrange(6), num_servers=rng.choice((4, 8)), input_len=256,
                   output_len=64, opt_goal=rng.choice(("prefill_lat", "generate_tco")), batch=2 ** rng.randrange(9),
                   t=rng.choice((4, 8, 2.0, 1.5)), p=rng.randrange(1, 9), micro_batch=1, prefill_micro_batch=2)
        if rng.random() < 0.3:                        # values repeat across rows, as in an optima table
            row["prefill_sec"] = rows[-1]["prefill_sec"] if rows else 1.0
        rows.append({c: row[c] for c in OPTIMA_COLUMNS})
    return rows


def _table(rows):
    return {c: [r[c] for r in rows] for c in OPTIMA_COLUMNS}


def _csv_module_text(tmp_path, rows):
    path = tmp_path / "expected.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(OPTIMA_COLUMNS)
        w.writerows([[r[c] for c in OPTIMA_COLUMNS] for r in rows])
    return path.read_bytes()


def test_optima_csv_is_the_csv_module_text(tmp_path):
    rng = random.Random(3)
    for n in (0, 1, 500):
        rows = _rows(rng, n)
        write_optima_csv(tmp_path / "got.csv", _table(rows))
        assert (tmp_path / "got.csv").read_bytes() == _csv_module_text(tmp_path, rows)


def test_cells_needing_quotes_or_empty_cells_match_the_csv_module(tmp_path):
    rows = _rows(random.Random(4), 20)
    rows[3]["opt_goal"] = 'a,"b"'
    rows[5]["prefill_sec"] = None
    for variant in (rows, rows[4:]):
        write_optima_csv(tmp_path / "got.csv", _table(variant))
        assert (tmp_path / "got.csv").read_bytes() == _csv_module_text(tmp_path, variant)


def test_float_texts_are_repr_with_signed_zero_kept():
    values = [0.0, -0.0, 0.0, math.nan, 1e16, 0.1, 0.1, -math.inf]
    assert float_texts(values) == ["0.0", "-0.0", "0.0", "nan", "1e+16", "0.1", "0.1", "-inf"]


AWKWARD = [5e-324, 2.2250738585072014e-308, 2.225073858507201e-308, 1e16, 9999999999999998.0, 1e-5, 0.0001,
           -0.0, 0.0, math.nan, math.inf, -math.inf, 1e22, 1.7976931348623157e308, 0.1 + 0.2, 1 / 3, 123456789012345680.0]


def test_float_texts_equal_repr_on_awkward_doubles():
    values = AWKWARD + AWKWARD[::-1]
    assert float_texts(values) == [repr(v) for v in values]


def test_numpy_columns_print_as_their_python_values(tmp_path):
    """The optima table may hand numbers over as int64 / float64 arrays: the file is the lists' text."""
    import numpy as np

    rng = random.Random(6)
    rows = _rows(rng, 300)
    for i, v in enumerate(AWKWARD):
        rows[i]["prefill_sec"] = v
    table = _table(rows)
    arrays = {c: (np.asarray(v, dtype=np.float64) if c in OPTIMA_COLUMNS[11:] else
                  np.asarray(v, dtype=np.int64) if all(type(x) is int for x in v) else v) for c, v in table.items()}
    assert isinstance(arrays["server"], np.ndarray) and isinstance(arrays["prefill_sec"], np.ndarray)
    write_optima_csv(tmp_path / "got.csv", arrays)
    assert (tmp_path / "got.csv").read_bytes() == _csv_module_text(tmp_path, rows)
    rows[7]["opt_goal"] = "a,b"                       # quoting: the csv module path, with the arrays' values
    write_optima_csv(tmp_path / "got.csv", dict(arrays, opt_goal=[r["opt_goal"] for r in rows]))
    assert (tmp_path / "got.csv").read_bytes() == _csv_module_text(tmp_path, rows)
