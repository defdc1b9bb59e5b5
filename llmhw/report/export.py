"""``--export DIR``: the study's tables (pandas CSV, Parquet when pyarrow is installed) and plots.

``trials.csv`` / ``pareto.csv`` have the columns the search writes to ``outputs/<study>/``
(``llmhw.search.output``): number, state, feasible, reference, ``objective.<name>``, ``dim.<name>``,
every metric, ``violation.<name>``, ``design.<key>``.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from .data import StudyData
from .plots import write_study_plots


def have_pyarrow() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


def parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding mixed types (numbers and strings) as strings, so Arrow can type them."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            kinds = {type(v) for v in out[c] if v is not None and not (isinstance(v, float) and pd.isna(v))}
            if len(kinds) > 1 or (kinds and not kinds <= {str, bool}):
                out[c] = [None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in out[c]]
    return out


def write_tables(data: StudyData, outdir: Path) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (("trials", data.df), ("pareto", data.front)):
        path = outdir / f"{name}.csv"
        frame.to_csv(path, index=False)
        written.append(path)
        if have_pyarrow():
            pq = outdir / f"{name}.parquet"
            parquet_safe(frame).to_parquet(pq, index=False)
            written.append(pq)
    return written


def export(data: StudyData, outdir: str | Path, force: bool = False) -> list[Path]:
    """Every export file of one study in ``outdir``: written aside, then moved into place; existing
    files are refused unless ``force``, and symbolic links are replaced, never followed."""
    from llmhw.outfiles import staged
    outdir = Path(outdir)
    with staged(outdir, force=force, flag="--export") as tmp:
        names = [p.name for p in write_tables(data, tmp) + write_study_plots(data, tmp)]
    return [outdir / n for n in names]
