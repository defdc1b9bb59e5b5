"""``--validate FILE``: calibrate the evaluator once against measured hardware, predict every measured point
and report the error (docs/validation.md)."""
from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("validation against measured hardware (docs/validation.md)")
    g.add_argument("--validate", metavar="FILE",
                   help="fit the efficiency parameters to a measurement file (validation/*.yaml), predict every "
                        "point and write outputs/validate/<stem>/ (validation.csv, fit.yaml, validation.png)")


def run(args: argparse.Namespace) -> int:
    # imported here: scipy, matplotlib and rich are not needed to build the parser (every command pays for that)
    from rich.console import Console

    from ..calibration.fit import FITTED, fit
    from ..calibration.measurements import load_measurements
    from ..calibration.predict import CALL_OVERHEAD, load_machine, predict_gemm, predict_point, with_parameters
    from ..calibration.report import (Prediction, error_table, fit_yaml_text, microbenchmark_table,
                                      parameter_table, write_csv, write_plot)
    from ..workload.stack import Stack
    console = Console()
    meas = load_measurements(args.validate)
    machine = load_machine(meas)
    result = fit(machine, meas)
    system = with_parameters(machine.system, result.values)
    predictions = [Prediction(p, predict_point(machine, system, p)) for p in meas.points]
    gemm_s = [predict_gemm(system, g, result.values[CALL_OVERHEAD]) for g in meas.gemm]

    out = Path(args.outputs) / "validate" / meas.stem
    out.mkdir(parents=True, exist_ok=True)
    fitted = {p.key[len("stack."):] for p in FITTED if p.key.startswith("stack.")}
    fixed = {f.name: getattr(system.stack, f.name) for f in fields(Stack) if f.name not in fitted
             and getattr(system.stack, f.name) != f.default}
    (out / "fit.yaml").write_text(fit_yaml_text(meas, result, fixed))
    written = [write_csv(out / "validation.csv", predictions), out / "fit.yaml",
               write_plot(out / "validation.png", meas, predictions)]

    console.print(parameter_table(result))
    console.print(microbenchmark_table(meas, gemm_s))
    console.print(error_table(meas, predictions))
    if not result.success:
        console.print(f"[yellow]the fit did not converge: {result.message}[/yellow]")
    for path in written:
        console.print(f"wrote {path}")
    return 0
