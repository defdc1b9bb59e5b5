"""A study's definition: its inputs, name, stored attributes, and the resume check (issue 4).

A study is self-describing: its user attributes hold the full text of every input file (hardware,
system, model, constants, space overlay, enqueued designs), the fidelity mode, workload, mapping
mode, objectives, constraints, the space, the sampler and the tool version — so
``search.py --study NAME`` rebuilds everything from the study alone. Resuming with inputs that differ
from the stored ones is refused with the differences shown (unless forced).

Stored study user attributes (JSON):

- ``llmhw``: ``{"identity": {...}, "run": {...}, "history": [...]}`` — identity = what must match to
  resume (input texts, compat, workload, mapping, objectives, limits); run = sampler, seed, batch
  size, trials budget, versions;
- for people and dashboards: ``model``, ``workload``, ``fidelity``, ``objectives``, ``constraints``,
  ``space`` (dimension list), ``tool_version``.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import optuna

from llmhw import __version__
from llmhw.config import (HardwareConfig, SystemConfig, load_yaml_text, validate_constants,
                          validate_hardware, validate_model, validate_system)
from llmhw.config.loader import read_text
from llmhw.errors import ConfigError, UsageError
from llmhw.fidelity import DEFAULT_COMPAT, Fidelity

from .constraints import ConstraintSet, parse_limits
from .objectives import DEFAULT_OBJECTIVES, Objective, parse_objectives
from .overlay import SpaceFile, apply, parse_space_text
from .space import MAPPING, SearchSpace

ATTR = "llmhw"


@dataclass(frozen=True)
class InputText:
    path: str
    text: str

    @classmethod
    def read(cls, path: str | Path) -> "InputText":
        return cls(str(path), read_text(path))


@dataclass(frozen=True)
class StudyInputs:
    """Everything that defines a study's problem (must match to resume it)."""
    hw: InputText
    system: InputText
    model: InputText
    constants: InputText
    space: InputText | None
    enqueue: InputText | None
    compat: str | None          # None: the system file's ``compat`` or the default
    workload: tuple[int, int]
    mapping: str
    objectives: tuple[str, ...]
    limits: dict = field(default_factory=dict)
    serving: dict | None = None  # --serving (docs/serving.md §1): a serving block over the files' ones

    def identity(self) -> dict:
        d = asdict(self)
        d["workload"] = list(self.workload)
        d["objectives"] = list(self.objectives)
        return d

    @classmethod
    def from_identity(cls, d: dict) -> "StudyInputs":
        def it(x):
            return None if x is None else InputText(x["path"], x["text"])
        return cls(hw=it(d["hw"]), system=it(d["system"]), model=it(d["model"]),
                   constants=it(d["constants"]), space=it(d.get("space")),
                   enqueue=it(d.get("enqueue")), compat=d.get("compat"),
                   workload=(int(d["workload"][0]), int(d["workload"][1])), mapping=d["mapping"],
                   objectives=tuple(d["objectives"]), limits=dict(d.get("limits") or {}),
                   serving=d.get("serving"))


@dataclass
class Setup:
    """The problem built from :class:`StudyInputs` (files parsed, validated, overlaid)."""
    inputs: StudyInputs
    hw: HardwareConfig
    system: SystemConfig
    model: dict
    constants: dict
    fidelity: Fidelity
    space: SearchSpace
    objectives: list[Objective]
    constraints: ConstraintSet
    space_file: SpaceFile | None
    references: list[tuple[str, dict]]  # enqueued designs (name, params)
    notes: tuple[str, ...] = ()         # said on the run's header and by --check

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]

    @property
    def model_name(self) -> str:
        return str(self.model.get("name") or Path(self.inputs.model.path).stem)


def parse_model_text(model: InputText) -> dict:
    raw = load_yaml_text(model.text, model.path)
    validate_model(raw, model.path)
    from llmhw.config.validate import concrete_model
    return concrete_model(raw["Model"], model.path)


def build_setup(inputs: StudyInputs) -> Setup:
    hw_raw = load_yaml_text(inputs.hw.text, inputs.hw.path)
    validate_hardware(hw_raw, inputs.hw.path)
    sys_raw = load_yaml_text(inputs.system.text, inputs.system.path)
    validate_system(sys_raw, inputs.system.path)
    model = parse_model_text(inputs.model)
    constants = load_yaml_text(inputs.constants.text, inputs.constants.path)
    validate_constants(constants, inputs.constants.path)
    space_file = parse_space_text(inputs.space.text, inputs.space.path) if inputs.space else None
    hw_o, sys_o = apply(space_file, hw_raw, sys_raw)
    if space_file is not None:  # an error here comes from the overlay: name its key in the space file
        for section, validate, tree in (("hardware", validate_hardware, hw_o), ("system", validate_system, sys_o)):
            try:
                validate(tree, space_file.path)
            except ConfigError as exc:
                raise ConfigError(exc.file, f"{section}.{exc.key_path}" if exc.key_path else section,
                                  exc.value, exc.allowed, exc.problem) from None
    compat = inputs.compat or sys_o.get("compat") or DEFAULT_COMPAT
    fidelity = Fidelity.from_compat(compat)
    objectives = parse_objectives(list(inputs.objectives))
    from .serving_space import serving_space
    space = serving_space(hw_o, sys_o, model, inputs.workload, space_file, inputs.limits, inputs.serving,
                          file=space_file.path if space_file else inputs.system.path)
    if space is not None and not fidelity.serving_model:
        raise UsageError(f"serving studies (a serving: section) run in corrected mode only, not {compat!r} "
                         "(docs/serving.md)")
    if space is None:
        space = SearchSpace(hw_o, sys_o, model, inputs.workload, inputs.mapping,
                            best_for=objectives[0].name,
                            file=space_file.path if space_file else inputs.hw.path)
    slo = space.slo_limits() if hasattr(space, "slo_limits") else {}   # serving: the SLO is a constraint too
    constraints = ConstraintSet(parse_limits({**slo, **inputs.limits}))
    references, ignored = parse_enqueue(inputs.enqueue, space) if inputs.enqueue else ([], ())
    notes = (f"mapping {inputs.mapping}: the reference designs' {', '.join(ignored)} are ignored (the mapping "
             "is not a dimension of this space)",) if ignored else ()
    hw = HardwareConfig(path=inputs.hw.path, text=inputs.hw.text, raw=hw_o)
    system = SystemConfig(path=inputs.system.path, text=inputs.system.text, raw=sys_o)
    return Setup(inputs, hw, system, model, constants, fidelity, space, objectives, constraints,
                 space_file, references, notes)


#: mapping keys a reference design may give (as for the explicit mapping)
ENQUEUE_MAPPING_KEYS = ("p", "micro_batch", "prefill_micro_batch")


def parse_enqueue(enq: InputText, space: SearchSpace) -> tuple[list[tuple[str, dict]], tuple[str, ...]]:
    """Known designs from ``--enqueue FILE.yaml`` and the mapping keys ignored (not dimensions of the space:
    the evaluator chooses the mapping, or the system fixes it)::

        designs:
          - name: tpuv5p
            values: {Chip.sram: 300.0e+6, Chip.hbm_channels: 48, system.num_servers: 4,
                     batch: 64, p: 1, micro_batch: 8, prefill_micro_batch: 1}
    """
    raw = load_yaml_text(enq.text, enq.path)
    designs = raw.get("designs")
    if not isinstance(designs, list) or not designs:
        raise ConfigError(enq.path, "designs", designs, problem="missing or empty",
                          allowed="a list of {name, values} mappings")
    mapping_dims = {d.path[0] for d in space.dims if d.section == MAPPING}
    out, ignored = [], []
    for i, d in enumerate(designs):
        where = f"designs[{i}]"
        if not isinstance(d, dict) or not isinstance(d.get("values"), dict):
            raise ConfigError(enq.path, where, d, problem="each design needs a 'values' mapping",
                              allowed="{name: ..., values: {dimension: value}}")
        name = str(d.get("name") or f"design{i}")
        values = dict(d["values"])
        for key in ENQUEUE_MAPPING_KEYS:
            if key in values and key not in mapping_dims:
                del values[key]
                ignored.append(key)
        out.append((name, space.encode(values, file=enq.path)))
    return out, tuple(dict.fromkeys(ignored))


_NAME_RE = re.compile(r"[^A-Za-z0-9_.+=-]+")


def objectives_tag(objectives: Sequence[Objective]) -> str:
    """The objectives as a name part (``tco_per_mtoken_usd+ttft_s``); empty for the default objectives."""
    names = [o.name for o in objectives]
    default = [o.name for o in parse_objectives(list(DEFAULT_OBJECTIVES))]
    return "" if names == default else "+".join(names)


def study_name(inputs: StudyInputs, model_name: str, objectives: Sequence[Objective] = ()) -> str:
    """``<hw stem>[+<space stem>]-<model>-<P>x<G>[-best][-<objectives>]`` (file-name safe); the objectives
    part is left out for the default objectives."""
    name = Path(inputs.hw.path).stem
    if inputs.space:
        name += "+" + Path(inputs.space.path).stem
    name += f"-{model_name}-{inputs.workload[0]}x{inputs.workload[1]}"
    if inputs.mapping == "best":
        name += "-best"
    tag = objectives_tag(objectives) if objectives else ""
    if tag:
        name += "-" + tag
    return _NAME_RE.sub("_", name)


def objectives_given(setup: "Setup") -> list[str]:
    """Each objective as ``name↓``, with the name it was given as when that differs (an alias or prefix)."""
    out = []
    default = tuple(setup.inputs.objectives) == tuple(DEFAULT_OBJECTIVES)   # not given: nothing to say
    for given, o in zip(setup.inputs.objectives, setup.objectives):
        arrow = "↓" if o.direction == "minimize" else "↑"
        out.append(f"{o.name}{arrow}" + (f" (given as {given.strip()!r})" if given.strip() != o.name and not default
                                         else ""))
    return out


def check_study_name(name: str) -> str:
    if not name or _NAME_RE.search(name) or name.startswith("."):
        raise UsageError(f"study name {name!r}: use letters, digits and . _ + = - only")
    return name


def stored_identity(study: optuna.Study) -> dict | None:
    meta = study.user_attrs.get(ATTR)
    return None if not isinstance(meta, dict) else meta.get("identity")


def identity_diff(stored: dict, current: dict, max_lines: int = 40) -> list[str]:
    """Human-readable differences between two identities (empty when equal)."""
    lines: list[str] = []
    for key in sorted(set(stored) | set(current)):
        a, b = stored.get(key), current.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict) and "text" in a and "text" in b:
            if a["text"] != b["text"]:
                lines.append(f"{key}: file content differs ({a['path']} stored, {b['path']} now):")
                diff = list(difflib.unified_diff(a["text"].splitlines(), b["text"].splitlines(),
                                                 "stored", "now", n=0, lineterm=""))
                lines.extend("    " + d for d in diff[2:2 + max_lines])
            elif a["path"] != b["path"]:
                continue  # same content under another path: fine
        else:
            def short(x):
                if isinstance(x, dict) and "path" in x:
                    return x["path"]
                return x
            lines.append(f"{key}: stored {short(a)!r}, now {short(b)!r}")
    return lines


def study_attrs(setup: Setup, run: dict) -> dict[str, Any]:
    ident = setup.inputs.identity()
    return {
        ATTR: {"identity": ident, "run": run, "history": []},
        "model": setup.model_name,
        "workload": {"prefill_len": setup.inputs.workload[0], "decode_len": setup.inputs.workload[1]},
        "fidelity": setup.fidelity.compat,
        "mapping": setup.inputs.mapping,
        "objectives": [{"name": o.name, "direction": o.direction, "unit": o.unit}
                       for o in setup.objectives],
        "constraints": setup.constraints.describe(),
        "space": setup.space.describe(),
        "inputs": {k: (v["path"] if isinstance(v, dict) else v) for k, v in ident.items()
                   if isinstance(v, dict) and "path" in v},
        "tool_version": __version__,
        "optuna_version": optuna.__version__,
    }


def run_record(sampler: str, seed: int | None, batch_size: int, trials: int, sweep: bool | None = None) -> dict:
    return {"sampler": sampler, "seed": seed, "batch_size": batch_size, "trials": trials, "sweep": sweep,
            "tool_version": __version__, "optuna_version": optuna.__version__}
