"""``--compare A B ...``: the feasible fronts of several studies overlaid (e.g. two models, or
SRAM-only vs HBM chiplets).

The studies must optimise the same objectives (same names and directions; order may differ) for the
same workload (prefill:decode lengths): a $/Mtoken of a 20:8 chat turn is no match for one of a 2048:64
summary. Studies of different models are compared with a loud warning (which model serves a workload
more cheaply is a fair question, but their designs are not alternatives for one job).
The joint front is the feasible non-dominated set of the union of the studies' fronts; each study's
hypervolume is measured on *common* bounds (the range of the feasible trials of all the studies,
the search's normalisation otherwise), so the numbers compare across the studies.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from llmhw.errors import UsageError
from llmhw.search.objectives import Objective
from llmhw.search.pareto import front_mask, hypervolume, losses

from . import fmt
from .data import StudyData, finite, load_study_data, objective_columns
from .plots import STUDY_COLOURS, Group, points_group, pairwise_figure, pairwise_png, write_html


@dataclass
class Comparison:
    studies: list[StudyData]
    objectives: list[Objective]
    joint: pd.DataFrame          # the studies' front designs, column 'study', 'joint_front'
    summary: list[dict]
    warnings: list[str] = field(default_factory=list)

    def renderables(self, width: int | None = None) -> list:
        from rich.text import Text

        from .tables import compare_front_table, compare_summary_table
        return [*(Text(f"warning: {w}", style="bold yellow") for w in self.warnings),
                compare_summary_table(self.summary, len(self.objectives)),
                *compare_front_table(self.joint, self.objectives, width=width)]


def check_objectives(studies: Sequence[StudyData]) -> list[Objective]:
    """The first study's objectives if every study has the same (name, direction) set; else a one-line error."""
    def key(d: StudyData) -> set:
        return {(o.name, o.direction) for o in d.objectives}
    first = studies[0]
    if any(key(d) != key(first) for d in studies[1:]):
        desc = "; ".join(f"{d.name}: {', '.join(o.name + fmt.arrow(o.direction) for o in d.objectives)}"
                         for d in studies)
        raise UsageError(f"--compare needs studies with the same objectives, got {desc}")
    return list(first.objectives)


def workload_of(d: StudyData) -> str:
    w = d.attrs.get("workload")
    return f"{w.get('prefill_len')}:{w.get('decode_len')}" if isinstance(w, dict) else "?"


def check_comparable(studies: Sequence[StudyData]) -> list[str]:
    """Refuse studies of different workloads (one line showing each); a warning when the models differ."""
    desc = "; ".join(f"{d.name}: {d.attrs.get('model') or '?'} at {workload_of(d)}" for d in studies)
    if len({workload_of(d) for d in studies}) > 1:
        raise UsageError(f"--compare needs studies of one workload, got different workloads ({desc}): "
                         "their objective values measure different jobs")
    if len({str(d.attrs.get("model")) for d in studies}) > 1:
        return [f"the studies evaluate different models ({desc}): the fronts compare models serving one "
                "workload, not alternative designs for one model"]
    return []


def compare(names: Sequence[str], storage: str | None = None, studies_dir: str | Path | None = None) -> Comparison:
    kw = {} if studies_dir is None else {"studies_dir": studies_dir}
    studies = [load_study_data(n, storage, **kw) for n in names]
    objectives = check_objectives(studies)
    warnings = check_comparable(studies)
    cols = objective_columns(objectives)
    dirs = [o.direction for o in objectives]
    fronts = []
    for d in studies:
        f = d.front_designs().copy()
        f.insert(0, "study", d.name)
        fronts.append(f)
    joint = pd.concat(fronts, ignore_index=True) if fronts else pd.DataFrame()
    if not joint.empty:
        vals = joint[cols].to_numpy(dtype=float)
        joint["joint_front"] = front_mask(losses(vals, dirs))
        first = objectives[0]
        joint = joint.sort_values(cols[0], ascending=first.direction == "minimize", kind="stable")
        joint = joint.reset_index(drop=True)
    else:
        joint["joint_front"] = []
    # common bounds: every feasible trial of every study
    feas = []
    for d in studies:
        comp = d.complete()
        if not comp.empty:
            v = comp[comp["feasible"]][cols].to_numpy(dtype=float)
            feas.append(losses(v[finite(v)], dirs) if len(v) else np.zeros((0, len(cols))))
    allf = np.vstack(feas) if feas else np.zeros((0, len(cols)))
    lo, hi = (allf.min(axis=0), allf.max(axis=0)) if len(allf) else (None, None)
    summary = []
    n_joint = int(joint["joint_front"].sum()) if not joint.empty else 0
    for d in studies:
        comp = d.complete()
        fd = d.front_designs()
        hv = 0.0
        if lo is not None and not fd.empty:
            hv = hypervolume(losses(fd[cols].to_numpy(dtype=float), dirs), lo, hi)
        on = int(joint[(joint["study"] == d.name) & joint["joint_front"]].shape[0]) if not joint.empty else 0
        summary.append({"study": d.name, "model": d.attrs.get("model", ""), "workload": workload_of(d),
                        "complete": len(comp),
                        "feasible": int(comp["feasible"].sum()) if not comp.empty else 0,
                        "front_designs": len(fd), "hv": hv, "on_joint": on, "joint": n_joint})
    return Comparison(studies, objectives, joint, summary, warnings)


def compare_groups(c: Comparison) -> list[Group]:
    groups: list[Group] = []
    for i, d in enumerate(c.studies):
        colour = STUDY_COLOURS[i % len(STUDY_COLOURS)]
        comp = d.complete()
        if not comp.empty:
            numbers = set(d.front["number"]) if not d.front.empty else set()
            dominated = comp[comp["feasible"] & ~comp["number"].isin(numbers)]
            groups.append(points_group(dominated, c.objectives, f"{d.name}: feasible", colour, prefix=f"{d.name} ",
                                 size=4, opacity=0.18))
        groups.append(points_group(d.front_designs(), c.objectives, f"{d.name}: front ({len(d.front_designs())})",
                             colour, prefix=f"{d.name} ", size=8, opacity=0.95, edge="#ffffff"))
    if not c.joint.empty:
        jf = c.joint[c.joint["joint_front"]]
        groups.append(points_group(jf, c.objectives, f"joint front ({len(jf)})", "#000000", size=13, opacity=1.0,
                             hollow=True))
    return [g for g in groups if len(g.values)]


def write_compare(c: Comparison, outdir: Path) -> list[Path]:
    """compare.csv (the overlaid fronts), compare.html and compare.png in ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    title = "Fronts of " + " vs ".join(d.name for d in c.studies) + " (feasible)"
    groups = compare_groups(c)
    csv = outdir / "compare.csv"
    c.joint.to_csv(csv, index=False)
    html = write_html(outdir / "compare.html", [pairwise_figure(groups, c.objectives, title)], title)
    png = pairwise_png(outdir / "compare.png", groups, c.objectives, title)
    return [csv, html, png]
