"""``search.py --exhaustive``: the reference's ``main.py`` equivalent (model.md §0, §15).

Hardware phase: every chip × package × server of the hardware file → ``<out>/<stem>/<stem>.csv`` (valid
servers, §15.1) and ``<stem>_invalid.csv`` (every invalid chip, package and server with its reason and
violation amounts). With ``--model`` (and without ``--hardware-only``) the software phase follows:
``<model>.csv`` (§15.2 performance table) and ``<model>_optima.csv`` (per server × system × goal × batch).
"""
from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from rich.console import Console
from rich.table import Table

from .. import paths
from ..config import load_constants, load_hardware, load_model, load_system
from ..fidelity import Fidelity
from ..hardware.constants import load_constants_dict
from ..exhaustive.csv_format import write_hardware_tables
from ..exhaustive.hardware_phase import HardwarePhase, hardware_phase
from ..exhaustive.hardware_table import TABLE_FORMATS


@contextmanager
def server_bar(console: Console, total: int, show: bool = True) -> Iterator[Callable[[int], None] | None]:
    """A transient progress bar over ``total`` server slots: yields its ``advance(n)``, or None where no
    bar would be drawn (``show`` off, output not a terminal or notebook; rich.progress is not even imported)."""
    if not (show and (console.is_terminal or console.is_jupyter)):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    with Progress(TextColumn("[bold]hardware[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("servers"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("hw", total=total)
        yield lambda n: bar.advance(task, n)


def run_hardware_phase(hw, k, fidelity: Fidelity, console: Console,
                       show_progress: bool = True) -> tuple[HardwarePhase, float]:
    """Build every server of a loaded hardware config with a progress bar; returns the phase and CPU seconds."""
    cpu0 = time.process_time()
    with server_bar(console, len(hw.chips) * len(hw.packages) * len(hw.servers), show_progress) as advance:
        phase = hardware_phase(hw.chips, hw.packages, hw.servers, k, fidelity, progress=advance)
    return phase, time.process_time() - cpu0


def hardware_summary(phase: HardwarePhase, stem: str, cpu_s: float) -> Table:
    c = phase.counts
    table = Table(title=f"hardware phase: {stem}", show_header=True, header_style="bold")
    table.add_column("level")
    table.add_column("built", justify="right")
    table.add_column("valid", justify="right")
    table.add_column("invalid", justify="right")
    for level in ("chips", "packages", "servers"):
        table.add_row(level, str(c[level]), str(c[f"{level}_valid"]), str(c[level] - c[f"{level}_valid"]))
    table.caption = f"{cpu_s:.2f} s CPU"
    return table


def top_reasons(phase: HardwarePhase, n: int = 5) -> list[tuple[str, int]]:
    """The most frequent violated constraints among invalid designs."""
    counter: Counter[str] = Counter()
    for rec in phase.invalid:
        counter.update(rec.violations.keys())
    return counter.most_common(n)


def resolve_fidelity(cli_compat: str | None, system_raw: dict | None) -> Fidelity:
    """``--compat`` wins over the system file's ``compat:`` key; the default is ``corrected``."""
    if cli_compat:
        return Fidelity.from_compat(cli_compat)
    return Fidelity.from_compat((system_raw or {}).get("compat"))


def run(args) -> int:
    console = Console(highlight=False)     # as the other commands: no repr highlighting (its regexes cost ~1 %)
    hw_path = Path(args.hw)
    stem = hw_path.stem
    out_dir = Path(args.outputs) / stem
    hw = load_hardware(hw_path)
    k = load_constants_dict(load_constants(args.constants or paths.DEFAULT_CONSTANTS))
    software = not args.hardware_only and bool(args.model)
    system = model = None
    if software:
        model = load_model(args.model, model_dir=paths.MODEL_DIR)
        sys_path = args.sys
        if sys_path is None:
            sys_path, fell_back = paths.default_system_for(hw_path)
            if fell_back:
                console.print(f"[yellow]no inputs/software/system/{stem}.yaml: using {sys_path}[/]")
        system = load_system(sys_path)
    fidelity = resolve_fidelity(args.compat, system.raw if system else None)

    phase, hw_cpu = run_hardware_phase(hw, k, fidelity, console)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = write_hardware_tables(out_dir, stem, phase, TABLE_FORMATS[args.hw_table_format])

    console.print(hardware_summary(phase, stem, hw_cpu))
    for name, count in top_reasons(phase):
        console.print(f"  [yellow]{count:5d}[/] invalid designs violate [bold]{name}[/]")
    if software:
        from .software import run_software_phase   # not imported for --hardware-only (numpy, perf)
        written += run_software_phase(phase, system, model, k, fidelity, out_dir, console)
    elif not args.hardware_only:
        console.print("[dim]no --model given: hardware phase only[/]")
    console.print(f"compat: [bold]{fidelity.compat}[/]")
    for path in written:
        console.print(f"wrote [cyan]{path}[/]")
    return 0
