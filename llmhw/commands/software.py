"""The exhaustive software phase (model.md §0, §12–§15): performance and optima tables for one model."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from rich.console import Console
from rich.table import Table

from ..config import expand_system
from ..fidelity import Fidelity
from ..exhaustive.csv_format import write_software_tables
from ..exhaustive.hardware_phase import HardwarePhase
from ..exhaustive.software_phase import software_phase


def performance_summary(rows: Sequence[dict[str, Any]], model_name: str, cpu_s: float, n_systems: int) -> Table:
    """Per goal and workload: the batch-8 row (the §15.2 target batch) of the chosen system."""
    table = Table(title=f"performance: {model_name} (batch 8 of each goal's chosen system)", header_style="bold")
    for col in ("goal", "P:G", "TTFT s", "decode s", "$/Mtoken", "capex $", "opex $"):
        table.add_column(col, justify="right" if col not in ("goal",) else "left")
    for r in rows:
        if r["batch"] == 8:
            table.add_row(r["opt_goal"], f"{r['input_len']}:{r['output_len']}", f"{r['prefill_sec']:.4g}",
                          f"{r['decoding_sec']:.4g}", f"{r['tco_per_Mtoken']:.4g}", f"{r['capex']:,.0f}",
                          f"{r['opex']:,.0f}")
    table.caption = f"{n_systems} valid server × system points, {cpu_s:.2f} s CPU"
    return table


def run_software_phase(phase: HardwarePhase, system, model: dict, k, fidelity: Fidelity, out_dir: Path,
                       console: Console) -> list[Path]:
    """Sweep every valid server × expanded system configuration; write ``<model>.csv`` and ``<model>_optima.csv``."""
    system_cfgs = expand_system(system.raw, model, file=system.path)
    name = str(model.get("name") or Path(str(system.path)).stem)
    cpu0 = time.process_time()
    with console.status(f"software phase: {len(phase.servers)} servers × {len(system_cfgs)} system configurations"):
        perf_rows, optima = software_phase(phase.servers, system_cfgs, model, fidelity, k)
    cpu_s = time.process_time() - cpu0
    written = write_software_tables(out_dir, name, perf_rows, optima)
    n_systems = len(set(zip(optima["server"], optima["system"])))
    console.print(performance_summary(perf_rows, name, cpu_s, n_systems))
    return written
