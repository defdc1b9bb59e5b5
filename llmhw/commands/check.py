"""Validation of a search command before anything is opened or written, and ``--check`` (issue 6).

Every problem with the command line is reported as one line naming the flag (or file and key path),
the bad value and what is allowed, exit code 2 — and it is found *before* a storage is opened, so a
refused command never creates a database file or writes to a study:

- :func:`validate_flags` — numbers (``--trials``, ``--batch-size``, ``--jobs``, ``--seed``,
  ``--max-*``/``--min-*``), ``--objectives`` and ``--workload`` syntax, ``--study`` names,
  ``--storage`` URLs (:func:`validate_storage_url`), ``--outputs``;
- :func:`check_workload_fits` — the workload fits the memory of at least one system of the space
  (called by :func:`llmhw.commands.plan.build_plan`, which builds every study of the command);
- :func:`report` — what ``--check`` prints of the :class:`~llmhw.commands.plan.SearchPlan`: the
  studies, their dimensions and the size of the search space (number of points, or "continuous"),
  then exits 0 without running anything.
"""
from __future__ import annotations

import argparse
import difflib
import itertools
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from llmhw.errors import ConfigError, UsageError

SEED_MAX = 2 ** 32 - 1          # numpy's RandomState range (every Optuna sampler seeds one)
STUDY_NAME_MAX = 200            # <name>.db.lock and the -PxG suffix stay under 255 bytes
STORAGE_SCHEMES = ("sqlite:///PATH", "postgresql://USER@HOST/DB", "mysql://USER@HOST/DB", "journal:PATH")
_SERVER_SCHEMES = ("postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")
SQLITE_MAGIC = b"SQLite format 3\x00"
MEMORY_CHECK_COMBOS = 256       # hardware/system combinations built by the workload memory check


class FlagError(UsageError):
    """A bad command-line value: ``--flag PROBLEM, got VALUE (allowed: ...)``."""

    def __init__(self, flag: str, value: Any, problem: str, allowed: str = ""):
        self.flag, self.value, self.allowed, self.problem = flag, value, allowed, problem
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        msg = f"{flag} {problem}, got {shown}"
        if allowed:
            msg += f" (allowed: {allowed})"
        super().__init__(msg.replace("\n", " "))


def add_arguments(group: Any) -> None:
    group.add_argument("--check", action="store_true",
                       help="validate every input and flag, print the size of the search space, and "
                            "exit without running or writing anything")


# ------------------------------------------------------------------------------------ argparse
_CHOICE_RE = re.compile(r"argument (?P<flag>[-\w/]+): invalid choice: '?(?P<value>[^'(]*?)'? "
                        r"\(choose from (?P<choices>.*)\)$")


def argparse_hint(message: str, options: Sequence[str] = ()) -> str:
    """argparse's message with a did-you-mean for an invalid choice (``--sampler tp``) or an
    unknown flag (``--trails``)."""
    m = _CHOICE_RE.search(message)
    if not m:
        u = re.match(r"unrecognized arguments: (\S+)", message)
        if u and u.group(1).startswith("--") and options:
            flag = u.group(1).split("=", 1)[0]
            close = difflib.get_close_matches(flag, [o for o in options if o.startswith("--")], n=1, cutoff=0.7)
            if close:
                return f"{message} (did you mean {close[0]}?)"
        return message
    choices = [c.strip().strip("'\"") for c in m.group("choices").split(",")]
    close = difflib.get_close_matches(m.group("value"), choices, n=1, cutoff=0.5)
    if not close:
        close = [c for c in choices if c.startswith(m.group("value"))][:1] if m.group("value") else []
    if not close:
        return message
    return f"{message} (did you mean {close[0]!r}?)"


# ------------------------------------------------------------------------------------ flags
def _int_flag(args: argparse.Namespace, attr: str, low: int, high: int | None, allowed: str) -> None:
    value = getattr(args, attr, None)
    if value is None:
        return
    flag = "--" + attr.replace("_", "-")
    if isinstance(value, bool) or not isinstance(value, int):
        raise FlagError(flag, value, "must be an integer", allowed)
    if value < low:
        raise FlagError(flag, value, f"must be >= {low}", allowed)
    if high is not None and value > high:
        raise FlagError(flag, value, f"must be <= {high}", allowed)


def max_jobs() -> int:
    return max(64, 4 * (os.cpu_count() or 1))


def validate_flags(args: argparse.Namespace) -> None:
    """Every flag of a search command, before any file or storage is touched."""
    _int_flag(args, "trials", 1, None, "an integer >= 1: the number of COMPLETE trials the study holds when done")
    _int_flag(args, "batch_size", 1, 100_000, "an integer from 1 to 100000")
    _int_flag(args, "patience", 1, 100_000, "an integer from 1 to 100000 (batches)")
    jobs = getattr(args, "jobs", None)
    _int_flag(args, "jobs", 1, max_jobs(), f"an integer from 1 to {max_jobs()}")
    extra = max(0, (jobs or 1) - 1)
    _int_flag(args, "seed", 0, SEED_MAX - extra,
              f"an integer from 0 to {SEED_MAX - extra}" + (" (worker i uses seed + i)" if extra else ""))
    from llmhw.search.constraints import USER_LIMITS
    for attr, (_metric, kind, _name) in USER_LIMITS.items():
        value = getattr(args, attr, None)
        if value is None:
            continue
        flag = "--" + attr.replace("_", "-")
        if kind == "max":
            if not (math.isfinite(value) and value > 0):
                raise FlagError(flag, value, "must be a finite number > 0", "a finite number > 0 (a limit "
                                "of 0 would make every design infeasible)")
        elif not (math.isfinite(value) and value >= 0):
            raise FlagError(flag, value, "must be a finite number >= 0", "a finite number >= 0")
    objectives = getattr(args, "objectives", None)
    if objectives is not None:
        names = [s.strip() for s in objectives.split(",")]
        if not any(names):
            raise FlagError("--objectives", objectives, "names no metric",
                            "comma-separated metric names, e.g. tco_per_mtoken,tpot,throughput")
        if not all(names):
            raise FlagError("--objectives", objectives, "has an empty name between commas",
                            "comma-separated metric names, e.g. tco_per_mtoken,tpot,throughput")
        from llmhw.search.objectives import parse_objectives
        try:
            parse_objectives(names)   # unknown / ambiguous / repeated names, with did-you-mean
        except UsageError as exc:
            raise UsageError(f"--objectives: {exc}") from None
    workload = getattr(args, "workload", None)
    if workload is not None:
        parse_workload_flag(workload)
    study = getattr(args, "study", None)
    if study is not None:
        validate_study_name(study)
    storage = getattr(args, "storage", None)
    if storage is not None:
        validate_storage_url(storage)
    outputs = getattr(args, "outputs", None)
    if outputs:
        out = Path(outputs)
        if out.exists() and not out.is_dir():
            raise FlagError("--outputs", outputs, "exists and is not a directory", "a directory (created if missing)")
        parent = next((p for p in (out, *out.parents) if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise FlagError("--outputs", outputs, f"is inside a file ({parent})", "a directory (created if missing)")


def parse_workload_flag(text: str) -> tuple[int, int] | None:
    """``P:G`` (positive integers) or ``all`` (None)."""
    if text.strip().lower() == "all":
        return None
    allowed = "PREFILL:DECODE with positive integers (e.g. 256:64), or all"
    parts = text.split(":")
    if len(parts) != 2:
        raise FlagError("--workload", text, "needs two lengths separated by ':'", allowed)
    try:
        pair = (int(parts[0]), int(parts[1]))
    except ValueError:
        raise FlagError("--workload", text, "lengths must be integers", allowed) from None
    if pair[0] < 1 or pair[1] < 1:
        raise FlagError("--workload", text, "lengths must be >= 1", allowed)
    return pair


def validate_study_name(name: str) -> str:
    allowed = f"1 to {STUDY_NAME_MAX} letters, digits and . _ + = - (not starting with '.')"
    from llmhw.search.setup import check_study_name
    if len(name) > STUDY_NAME_MAX:
        raise FlagError("--study", name, "is too long", allowed)
    try:
        check_study_name(name)
    except UsageError:
        raise FlagError("--study", name, "is not usable as a file name", allowed) from None
    return name


def validate_storage_url(url: str) -> None:
    """A storage URL llmhw can open, checked without opening (nothing is created)."""
    from llmhw.study.storage import sqlite_query_refusal
    allowed = ", ".join(STORAGE_SCHEMES)
    if not isinstance(url, str) or not url.strip():
        raise FlagError("--storage", url, "is empty", allowed)
    if url.startswith("journal:"):
        path = url[len("journal:"):].removeprefix("//")
        if not path:
            raise FlagError("--storage", url, "names no file after journal:", allowed)
        _check_file_target(url, Path(path), sqlite=False)
        return
    scheme = url.split("://", 1)[0] if "://" in url else None
    if scheme is None:
        raise FlagError("--storage", url, "is not a storage URL", allowed)
    base = scheme.split("+", 1)[0].lower()
    if base == "sqlite":
        if not url.startswith("sqlite:///"):
            raise FlagError("--storage", url, "needs three slashes before a relative SQLite path, four "
                            "before an absolute one", "sqlite:///studies/x.db or sqlite:////abs/path/x.db")
        if "?" in url:
            raise FlagError("--storage", url, f"has a query string ({sqlite_query_refusal(url)})", "sqlite:///PATH")
        path = url[len("sqlite:///"):]
        if not path:
            raise FlagError("--storage", url, "names no database file", "sqlite:///PATH")
        if path == ":memory:" or path.startswith("file:"):
            return
        _check_file_target(url, Path(path), sqlite=True)
        return
    if base not in _SERVER_SCHEMES:
        close = difflib.get_close_matches(base, ["sqlite", *_SERVER_SCHEMES, "journal"], n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise FlagError("--storage", url, f"uses an unknown scheme {scheme!r}{hint}", allowed)
    rest = url.split("://", 1)[1]
    if not rest or rest.startswith("/"):
        raise FlagError("--storage", url, "names no server", "postgresql://USER[:PASSWORD]@HOST[:PORT]/DB")


def _check_file_target(url: str, path: Path, sqlite: bool) -> None:
    what = "an SQLite database file" if sqlite else "a journal file"
    if path.exists():
        if path.is_dir():
            raise FlagError("--storage", url, f"names a directory ({path})", f"{what} (created if missing)")
        if not os.access(path, os.R_OK):
            raise FlagError("--storage", url, f"names an unreadable file ({path})", f"a readable {what}")
        if sqlite and path.stat().st_size > 0:
            try:
                with open(path, "rb") as f:
                    head = f.read(len(SQLITE_MAGIC))
            except OSError as exc:
                raise FlagError("--storage", url, f"cannot be read ({path}: {exc.strerror or exc})", what) from None
            if head != SQLITE_MAGIC:
                raise FlagError("--storage", url, f"names a file that is not an SQLite database ({path})", what)
        return
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise FlagError("--storage", url, f"is inside a file ({parent})", f"{what} in a directory")


# ------------------------------------------------------------------------------------ preflight
@dataclass
class MemoryCheck:
    combos: int
    exact: bool
    fits: int                  # combinations where batch 1 fits the whole system
    max_memory: float          # bytes, largest system memory seen
    need: float                # bytes, model + (P+G) KV cache of one sequence
    model_bytes: float
    kv_per_token: float

    def line(self) -> str:
        gb = 1e9
        scope = "" if self.exact else " (corner points of ranges / long lists)"
        return (f"memory: one sequence needs {self.need / gb:,.1f} GB (model {self.model_bytes / gb:,.1f} GB + "
                f"KV cache); {self.fits} of {self.combos} hardware/system combinations{scope} can hold it; "
                f"largest system memory {self.max_memory / gb:,.1f} GB")


def _memory_values(dim: Any) -> tuple[list, bool]:
    """The param values of a non-mapping dimension used by the memory check, and whether exact."""
    from optuna.distributions import CategoricalDistribution
    d = dim.distribution
    if dim.kind == "range":
        return [d.low, d.high] if d.high != d.low else [d.low], False
    values = list(d.choices) if isinstance(d, CategoricalDistribution) else dim.grid()
    return values, True


def check_workload_fits(setup: Any, problem: Any, where: tuple[str, str], limit: int = MEMORY_CHECK_COMBOS,
                        full: bool = True) -> MemoryCheck | None:
    """Refuse a workload whose KV cache (one sequence of P+G tokens) plus the model exceeds the memory
    of every hardware/system combination of the space.

    ``where`` = (file or flag, key) for the message. Ranges are probed at their bounds and long
    lists at their ends when the product is too large; only an exact enumeration refuses — a probe
    that finds nothing that fits only warns (returned with ``exact`` False). Returns None when the
    space is too large to probe. Combinations are tried largest values first; unless ``full``, the
    probe stops at the first one that fits (a search start then costs one server build).
    """
    from llmhw.search.space import MAPPING
    from llmhw.workload.mapping import required_memory_bytes
    space = setup.space
    dims = [d for d in space.dims if d.section != MAPPING]
    values: list[list] = []
    exact = True
    for d in dims:
        vals, ok = _memory_values(d)
        exact &= ok
        values.append(vals)
    if math.prod(len(v) for v in values) > limit:
        exact = False
        values = [v if len(v) <= 2 or isinstance(v[0], str) else [v[0], v[-1]] for v in values]
        if math.prod(len(v) for v in values) > limit:
            return None
    base = space.default_params()
    fits = combos = 0
    max_mem = need = -1.0
    model_bytes = kv = 0.0
    for combo in itertools.product(*(v[::-1] for v in values)):
        params = dict(base)
        params.update({d.name: v for d, v in zip(dims, combo)})
        try:
            pt = space.point(params)
            srv = problem.server(pt.chip, pt.package, pt.server)
            from llmhw.evaluate import _key
            sys_ = problem.system(srv, pt.system, _key((pt.chip, pt.package, pt.server)),
                                  pt.prefill_len, pt.decode_len)
            req = required_memory_bytes(sys_, 1)
        except Exception:  # noqa: BLE001 - a design the evaluator scores as invalid: not a witness
            continue
        combos += 1
        need = max(need, req)
        model_bytes, kv = sys_.model.model_bytes, sys_.model.kv_bytes_per_token
        max_mem = max(max_mem, float(sys_.total_mem_bytes))
        if req <= sys_.total_mem_bytes:
            fits += 1
            if not full:
                break
    if combos == 0:
        return None
    check = MemoryCheck(combos, exact, fits, max_mem, need, model_bytes, kv)
    if fits == 0 and exact and model_bytes <= max_mem:
        P, G = setup.inputs.workload
        longest = int((max_mem - model_bytes) // kv) if kv > 0 else 0
        allowed = (f"prefill + decode <= {longest:,} tokens (the KV cache of one sequence plus the model "
                   f"must fit the largest system of the space, {max_mem / 1e9:,.1f} GB)")
        problem_text = (f"is longer than any memory of the space could hold (one sequence of {P + G:,} tokens "
                        f"needs {need / 1e9:,.1f} GB)")
        if where[0].startswith("--"):
            raise FlagError(where[0], f"{P}:{G}", problem_text, allowed)
        raise ConfigError(where[0], where[1], [P, G], allowed, "the workload " + problem_text)
    return check


def eval_len_key(inputs: Any) -> str:
    """Where the study's workload pair sits in its system file (``workload.eval_len[1]``)."""
    from llmhw.config import load_yaml_text
    try:
        raw = load_yaml_text(inputs.system.text, inputs.system.path)
    except ConfigError:
        return "eval_len"
    key, pairs = "eval_len", raw.get("eval_len")
    if isinstance(raw.get("workload"), dict) and "eval_len" in raw["workload"]:
        key, pairs = "workload.eval_len", raw["workload"]["eval_len"]
    if isinstance(pairs, list):
        for i, pair in enumerate(pairs):
            if isinstance(pair, list) and tuple(pair) == tuple(inputs.workload):
                return f"{key}[{i}]"
    return key


def report(search_plan: Any, console: Any) -> int:
    """``--check``: what would run, the size of each search space; nothing is run or written.
    With ``--jobs N``: whether N workers would pay on this job (a 64-trial in-memory probe)."""
    from llmhw.study.lock import sqlite_file
    from rich.markup import escape

    from llmhw.study.urls import redact
    from llmhw.search.setup import objectives_given
    from llmhw.search.sweep import status as sweep_status
    for note in search_plan.notes:
        console.print(note)
    for plan in search_plan.studies:
        space = plan.setup.space
        size = space.size()
        db = sqlite_file(plan.url)
        state = ""
        if db is not None:
            state = " (exists: would resume)" if db.exists() else " (would be created)"
        console.print(f"[bold]study[/] {plan.name} in {escape(redact(plan.url))}{state}")
        console.print(f"  model {plan.setup.model_name}, workload {plan.inputs.workload[0]}:{plan.inputs.workload[1]}, "
                      f"fidelity {plan.setup.fidelity.compat}, mapping {plan.inputs.mapping}")
        console.print(f"  search space: {len(space.dims)} dimensions, "
                      + ("continuous (ranges without a step)" if size is None else f"{size:,} points"))
        for d in space.dims:
            n = d.size()
            console.print(f"    {d.name}: " + ("continuous" if n is None else f"{n:,} values"), markup=False)
        console.print(f"  objectives {', '.join(objectives_given(plan.setup))}; "
                      f"{len(plan.setup.constraints.names)} constraints; sampler {plan.choice.name}, "
                      f"batch {plan.choice.batch_size}, {plan.trials} trials; "
                      f"{sweep_status(plan.setup, plan.choice.sweep)}")
        for note in plan.setup.notes:
            console.print(f"  {note}", markup=False)
        if plan.jobs > 1:
            from llmhw.study.workers import jobs_advice, probe_trial_s
            pays, line = jobs_advice(plan.jobs, plan.trials, probe_trial_s(plan.setup, plan.choice, plan.seed))
            console.print(("  " if pays else "  [yellow]note:[/] ") + escape(line))
        if plan.memory is not None:
            warn = plan.memory.fits == 0
            console.print(("  [yellow]warning:[/] " if warn else "  ") + plan.memory.line()
                          + (" — the search may find no feasible design" if warn else ""))
    console.print("inputs OK (--check: nothing was run or written)")
    return 0
