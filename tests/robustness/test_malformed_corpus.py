"""A corpus of malformed inputs — files and flags — through the real CLI (issue 6).

Every case must end with exit code 2 and exactly one line on stderr (``search.py: error: …``)
naming the file and key path or the flag, with no traceback, and must leave no trace: no database
file, no output, and an existing study untouched (its file's bytes unchanged).

The cases run in-process through ``llmhw.cli.main`` (argparse errors arrive as SystemExit(2));
a sample also runs as real processes (``test_real_processes``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import yaml

from llmhw.cli import main
from llmhw.config.loader import NumberSafeLoader

from .conftest import CONSTANTS, HW_DIR, MODEL_DIR, SPACES, SYS_DIR, search_cli

TPU = HW_DIR / "tpuv4.yaml"
TPU_SYS = SYS_DIR / "tpuv4.yaml"
GPT3 = MODEL_DIR / "gpt3.yaml"
BASE = ["--hw", "inputs/hardware/config/tpuv4.yaml", "--model", "gpt3", "--trials", "5", "--no-progress"]


def _load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=NumberSafeLoader)


def _dump(tree: dict) -> str:
    return yaml.safe_dump(tree, sort_keys=False)


def edited(path: Path, edit: Callable[[dict], None]) -> str:
    tree = _load(path)
    edit(tree)
    return _dump(tree)


def _set(path: str, value):
    def edit(tree):
        keys = path.split(".")
        node = tree
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return edit


def _del(path: str):
    def edit(tree):
        keys = path.split(".")
        node = tree
        for k in keys[:-1]:
            node = node[k]
        del node[keys[-1]]
    return edit


@dataclass
class Case:
    id: str
    argv: list[str]
    expect: tuple[str, ...]                  # substrings of the one error line (file/key or flag, value)
    files: dict[str, str | bytes] = field(default_factory=dict)

    def write(self, root: Path) -> None:
        for name, content in self.files.items():
            p = root / name
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content)


def hw_case(id: str, edit, expect: tuple[str, ...], *extra: str) -> Case:
    return Case(id, ["--hw", "bad.yaml", "--sys", str(TPU_SYS), "--model", "gpt3", "--trials", "5",
                     "--no-progress", *extra], ("bad.yaml",) + expect, {"bad.yaml": edited(TPU, edit)})


def sys_case(id: str, edit, expect: tuple[str, ...]) -> Case:
    return Case(id, BASE + ["--sys", "badsys.yaml"], ("badsys.yaml",) + expect,
                {"badsys.yaml": edited(TPU_SYS, edit)})


def model_case(id: str, edit, expect: tuple[str, ...]) -> Case:
    return Case(id, ["--hw", str(TPU), "--model", "badmodel.yaml", "--trials", "5", "--no-progress"],
                ("badmodel.yaml",) + expect, {"badmodel.yaml": edited(GPT3, edit)})


def text_case(id: str, text: str | bytes, expect: tuple[str, ...]) -> Case:
    return Case(id, ["--hw", "bad.yaml", "--sys", str(TPU_SYS), "--model", "gpt3", "--no-progress"],
                ("bad.yaml",) + expect, {"bad.yaml": text})


def space_case(id: str, text: str, expect: tuple[str, ...]) -> Case:
    return Case(id, BASE + ["--space", "badspace.yaml"], ("badspace.yaml",) + expect, {"badspace.yaml": text})


CASES = [
    # ---- flags
    Case("trials-zero", BASE + ["--trials", "0"], ("--trials", "must be >= 1", "got 0")),
    Case("trials-negative", BASE + ["--trials", "-3"], ("--trials", "got -3")),
    Case("trials-not-a-number", BASE + ["--trials", "abc"], ("--trials", "'abc'")),
    Case("batch-size-zero", BASE + ["--batch-size", "0"], ("--batch-size", "got 0")),
    Case("jobs-zero", BASE + ["--jobs", "0"], ("--jobs", "got 0")),
    Case("jobs-absurd", BASE + ["--jobs", "100000"], ("--jobs", "got 100000")),
    Case("seed-negative", BASE + ["--seed", "-1"], ("--seed", "got -1", "4294967295")),
    Case("seed-too-large", BASE + ["--seed", str(2 ** 32)], ("--seed", "got 4294967296")),
    Case("max-ttft-negative", BASE + ["--max-ttft", "-1"], ("--max-ttft", "got -1.0")),
    Case("max-ttft-nan", BASE + ["--max-ttft", "nan"], ("--max-ttft", "got nan")),
    Case("max-power-inf", BASE + ["--max-power", "inf"], ("--max-power", "got inf")),
    Case("min-throughput-negative", BASE + ["--min-throughput", "-5"], ("--min-throughput", "got -5.0")),
    Case("objectives-empty", BASE + ["--objectives", ""], ("--objectives", "names no metric")),
    Case("objectives-empty-name", BASE + ["--objectives", "tpot,,tco"], ("--objectives", "'tpot,,tco'")),
    Case("objective-typo", BASE + ["--objectives", "tco,tpott"], ("unknown objective 'tpott'",
                                                                  "did you mean 'tpot_s'")),
    Case("objective-twice", BASE + ["--objectives", "tpot,tpot_s"], ("'tpot_s' given twice",)),
    Case("objective-ambiguous", BASE + ["--objectives", "prefill"], ("ambiguous objective 'prefill'",)),
    Case("workload-no-colon", BASE + ["--workload", "12"], ("--workload", "'12'")),
    Case("workload-zero", BASE + ["--workload", "0:5"], ("--workload", "'0:5'", ">= 1")),
    Case("workload-not-numbers", BASE + ["--workload", "a:b"], ("--workload", "'a:b'")),
    Case("workload-beyond-any-memory", BASE + ["--workload", "99999999:999999"],
         ("--workload", "longer than any memory", "'99999999:999999'", "prefill + decode <=")),
    Case("sampler-typo", BASE + ["--sampler", "tp"], ("--sampler", "'tp'", "did you mean 'tpe'")),
    Case("compat-typo", BASE + ["--compat", "refrence"], ("--compat", "did you mean 'reference'")),
    Case("mapping-unknown", BASE + ["--mapping", "nope"], ("--mapping", "'nope'")),
    Case("constraint-flag-typo", BASE + ["--max-tft", "0.5"], ("--max-tft", "did you mean --max-ttft")),
    Case("unknown-flag", BASE + ["--trails", "5"], ("unrecognized arguments: --trails", "did you mean --trials")),
    Case("storage-unknown-scheme", BASE + ["--storage", "foo://bar"], ("--storage", "unknown scheme 'foo'")),
    Case("storage-two-slashes", BASE + ["--storage", "sqlite://x.db"], ("--storage", "three slashes")),
    Case("storage-directory", BASE + ["--storage", "sqlite:///adir"], ("--storage", "names a directory"),
         {"adir/keep": ""}),
    Case("storage-not-sqlite", BASE + ["--storage", "sqlite:///notes.txt"], ("--storage", "not an SQLite database"),
         {"notes.txt": "hello\n"}),
    Case("storage-journal-directory", BASE + ["--storage", "journal:adir"], ("--storage", "'journal:adir'"),
         {"adir/keep": ""}),
    Case("storage-no-server", BASE + ["--storage", "postgresql:///db"], ("--storage", "names no server")),
    Case("study-slash", BASE + ["--study", "a/b"], ("--study", "'a/b'")),
    Case("study-empty", BASE + ["--study", ""], ("--study", "got ''")),
    Case("study-too-long", BASE + ["--study", "x" * 300], ("--study", "is too long")),
    Case("study-hidden", BASE + ["--study", ".x"], ("--study", "'.x'")),
    Case("outputs-is-a-file", BASE + ["--outputs", "notes.txt"], ("--outputs", "not a directory"),
         {"notes.txt": "x"}),
    Case("exhaustive-without-hw", ["--exhaustive", "--model", "gpt3"], ("--exhaustive needs --hw",)),
    Case("resume-unknown-study", ["--study", "nope", "--no-progress"], ("no study 'nope'",)),
    Case("grid-on-ranges", BASE + ["--space", "spaces/hbm_chip.yaml", "--sampler", "grid"],
         ("grid sampler cannot enumerate", "Chip.perf")),
    # ---- missing / unreadable files
    Case("model-unknown-name", BASE[:2] + ["--model", "gpt33", "--no-progress"],
         ("unknown model, got 'gpt33'", "did you mean 'gpt3'")),
    Case("hw-missing", ["--hw", "missing.yaml", "--model", "gpt3"], ("missing.yaml", "file not found")),
    Case("hw-directory", ["--hw", "adir", "--model", "gpt3"], ("adir", "is a directory"), {"adir/keep": ""}),
    Case("sys-missing", BASE + ["--sys", "nosys.yaml"], ("nosys.yaml", "file not found")),
    Case("space-missing", BASE + ["--space", "nospace.yaml"], ("nospace.yaml", "file not found")),
    Case("enqueue-missing", BASE + ["--enqueue", "noenq.yaml"], ("noenq.yaml", "file not found")),
    Case("constants-missing", BASE + ["--constants", "noconst.yaml"], ("noconst.yaml", "file not found")),
    text_case("hw-not-utf8", b"Chip:\n  tech: '\xff\xfe'\n", ("not UTF-8",)),
    # ---- malformed YAML
    text_case("yaml-unclosed-bracket", "Chip: {tech: [7nm\n", ("line", "column", "malformed YAML")),
    text_case("yaml-bad-indent", "Chip:\n  tech: 7nm\n dataflow: WS\n", ("line", "malformed YAML")),
    text_case("yaml-control-char", "Chip:\n  tech: 7nm\x07\n", ("line 2", "character U+0007")),
    text_case("yaml-empty", "", ("the file is empty",)),
    text_case("yaml-top-level-list", "- 1\n- 2\n", ("top level must be a mapping",)),
    text_case("yaml-duplicate-key", TPU.read_text().replace("  freq: 1.05e+9", "  freq: 1.05e+9\n  freq: 2e9"),
              ("duplicate key",)),
    text_case("yaml-recursive-alias", "Chip: &c {x: *c}\nPackage: {}\nServer: {}\n", ("Chip.x", "alias")),
    # ---- hardware values
    hw_case("hw-unknown-key-did-you-mean", _set("Chip.freqq", 1e9), ("Chip.freqq", "did you mean 'freq'")),
    hw_case("hw-negative-area-of-io", _set("Chip.pkg2pkg_io.area_per_io", -5.0),
            ("Chip.pkg2pkg_io.area_per_io", "-5.0", ">= 0")),
    hw_case("hw-freq-zero", _set("Chip.freq", 0), ("Chip.freq", "got 0", "> 0")),
    hw_case("hw-freq-infinite", _set("Chip.freq", float("inf")), ("Chip.freq", "must be finite")),
    hw_case("hw-wrong-type", _set("Chip.perf", "fast"), ("Chip.perf", "'fast'", "expected a number")),
    hw_case("hw-missing-required", _del("Chip.dataflow"), ("Chip.dataflow", "missing required key")),
    hw_case("hw-enum-typo", _set("Chip.dataflow", "roofine"), ("Chip.dataflow", "did you mean 'roofline'")),
    hw_case("hw-range-low-above-high", _set("Chip.sram", {"low": 800e6, "high": 100e6}),
            ("Chip.sram", "low is greater than high")),
    hw_case("hw-log-range-touching-zero", _set("Chip.perf", {"low": 0, "high": 1e15, "log": True}),
            ("Chip.perf", "log")),
    hw_case("hw-range-zero-step", _set("Chip.sram", {"low": 1e8, "high": 2e8, "step": 0}),
            ("Chip.sram.step", "> 0")),
    hw_case("hw-empty-list", _set("Chip.sram", []), ("Chip.sram", "empty list")),
    hw_case("hw-duplicate-list-entries", _set("Chip.sram", [100e6, 300e6, 100e6]),
            ("Chip.sram[2]", "duplicate alternative")),
    hw_case("hw-core-area-ratio-above-1", _set("Chip.core_area_ratio", 1.5), ("Chip.core_area_ratio", "(0, 1]")),
    # structural cross-references (issue 15 #10): refused before the first trial, by --check too
    hw_case("hw-hbm-channels-without-hbm", _del("Package.hbm"), ("Package.hbm", "Chip.hbm_channels can be 32")),
    hw_case("hw-hbm-channels-without-hbm-check", _del("Package.hbm"), ("Package.hbm",), "--check"),
    hw_case("hw-hbm-channel-list-without-hbm", lambda t: (_del("Package.hbm")(t), _set("Chip.hbm_channels", [0, 16])(t)),
            ("Package.hbm", "Chip.hbm_channels can be 16")),
    hw_case("hw-vaults-without-mem-3d", _set("Chip.mem_3d_vaults", 4), ("Package.mem_3d", "Chip.mem_3d_vaults")),
    hw_case("hw-chip-without-perf-or-area", _del("Chip.perf"), ("Chip", "neither perf and sram")),
    Case("exhaustive-hbm-channels-without-hbm", ["--exhaustive", "--hw", "bad.yaml", "--model", "gpt3"],
         ("bad.yaml", "Package.hbm"), {"bad.yaml": edited(TPU, _del("Package.hbm"))}),
    # ---- system values
    sys_case("sys-efficiency-above-1", _set("compute_perf_efficiency", 1.5),
             ("compute_perf_efficiency", "1.5", "(0, 1]")),
    sys_case("sys-efficiency-zero", _set("io_bandwidth_efficiency", 0), ("io_bandwidth_efficiency", "got 0")),
    sys_case("sys-stack-preset-typo", _set("stack", {"preset": "gpu_pytroch"}),
             ("stack.preset", "did you mean 'gpu_pytorch'")),
    sys_case("sys-stack-negative-kernels", _set("stack", {"kernels_per_layer": -1}),
             ("stack.kernels_per_layer", "got -1", ">= 0")),
    sys_case("sys-stack-execution", _set("stack", {"prefill_execution": "lazy"}),
             ("stack.prefill_execution", "unknown value")),
    sys_case("sys-duplicate-servers", _set("num_servers", [4, 8, 4]), ("num_servers[2]", "duplicate")),
    sys_case("sys-allreduce-typo", _set("allreduce_algo", "2d-ring"), ("allreduce_algo", "did you mean '2d_ring'")),
    sys_case("sys-eval-len-beyond-any-memory", _set("workload.eval_len", [[50_000_000, 1_000_000]]),
             ("workload.eval_len[0]", "longer than any memory", "prefill + decode <=")),
    sys_case("sys-sub-system-not-dividing", _set("sub_sys_num_servers", 3),
             ("sub_sys_num_servers", "does not divide num_servers 4", "got 3")),
    sys_case("sys-unknown-key", _set("num_server", 4), ("num_server", "did you mean 'num_servers'")),
    # ---- model values
    model_case("model-heads-not-dividing-d", _set("Model.num_heads", 7), ("Model.d", "num_heads=7")),
    model_case("model-kv-groups-not-dividing-heads", _set("Model.heads_per_kv_cache", 5),
               ("Model.num_heads", "heads_per_kv_cache=5")),
    model_case("model-missing-layers", _del("Model.num_layers"), ("Model.num_layers", "missing required key")),
    model_case("model-layers-not-integer", _set("Model.num_layers", "many"), ("Model.num_layers", "'many'")),
    model_case("model-list-in-a-search", _set("Model.num_layers", [48, 96]),
               ("Model.num_layers", "a search studies one model")),
    # ---- constants, space overlays, enqueued designs
    Case("constants-lane-area-inverted", BASE + ["--constants", "badconst.yaml"],
         ("badconst.yaml", "Server.LaneAreaMin", "LaneAreaMax"),
         {"badconst.yaml": edited(CONSTANTS, _set("Server.LaneAreaMin", 1e6))}),
    Case("constants-missing-section", BASE + ["--constants", "badconst.yaml"], ("badconst.yaml", "TCO"),
         {"badconst.yaml": edited(CONSTANTS, _del("TCO"))}),
    space_case("space-top-key-typo", "hardwre:\n  Chip: {sram: [1e8, 2e8]}\n", ("hardwre", "did you mean 'hardware'")),
    space_case("space-bad-range", "hardware:\n  Chip:\n    sram: {low: -1.0, high: 5.0e+8}\n",
               ("hardware.Chip.sram.low", "-1.0")),
    space_case("space-unknown-section", "hardware:\n  Chipp: {sram: [1e8, 2e8]}\n", ("hardware.Chipp",)),
    Case("enqueue-unknown-dimension", BASE + ["--enqueue", "refs.yaml"],
         ("refs.yaml", "Chip.perf", "not a dimension of this search space"),
         {"refs.yaml": (SPACES / "hbm_chip_refs.yaml").read_text()}),
    Case("enqueue-value-outside", BASE + ["--enqueue", "refs.yaml"], ("refs.yaml", "system.num_servers", "5"),
         {"refs.yaml": "designs:\n  - name: x\n    values: {system.num_servers: 5}\n"}),
    Case("enqueue-no-designs", BASE + ["--enqueue", "refs.yaml"], ("refs.yaml", "designs"),
         {"refs.yaml": "designs: []\n"}),
    # ---- hostile input and odd storage / output paths (issue 15 items 4, 8, 9)
    text_case("yaml-alias-bomb", "\n".join(['a0: &a0 ["lol"]'] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]) + "\n",
        ("aliases expand to more than",)),
    text_case("yaml-list-of-100000", "Chip:\n  freq: [" + ", ".join(str(1e9 + i) for i in range(100_000)) + "]\n",
              ("line 2", "more than 1,000 items")),
    space_case("space-list-of-5000", "hardware:\n  Chip:\n    sram: [" + ", ".join(str(1e8 + i) for i in range(5000))
               + "]\n", ("more than 1,000 items",)),
    Case("storage-sqlite-query-string", BASE + ["--storage", "sqlite:///q.db?mode=ro&uri=true"],
         ("--storage", "query string")),
    Case("outputs-study-is-a-file", BASE + ["--study", "s"], ("outputs/s", "not a directory"),
         {"outputs/s": "a file where the study's output directory goes\n"}),
]

assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


def _tree(root: Path) -> dict[str, str]:
    """Every file under root (not following the inputs/spaces symlinks) with a hash of its bytes."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink() and not any(part in ("inputs", "spaces") for part in p.relative_to(root).parts[:1]):
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse
        rc = exc.code
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def assert_one_line_error(rc: int, err: str, expect: tuple[str, ...]) -> None:
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("search.py: error: ")
    for text in expect:
        assert text in lines[0], (text, lines[0])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input_is_one_line_and_writes_nothing(case, workdir, capsys):
    case.write(workdir)
    before = _tree(workdir)
    rc, out, err = run_main(case.argv, capsys)
    assert_one_line_error(rc, err, case.expect)
    assert "Traceback" not in out
    assert _tree(workdir) == before          # no database, no lock, no output, inputs untouched
    assert not (workdir / "studies").exists() or not any((workdir / "studies").iterdir())


def test_an_unreadable_file(workdir, capsys, monkeypatch):
    """Permission denied (simulated: chmod does not stop root, who may run the tests)."""
    (workdir / "locked.yaml").write_text(TPU.read_text())
    real = Path.read_text

    def read_text(self, *a, **kw):
        if self.name == "locked.yaml":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *a, **kw)

    monkeypatch.setattr(Path, "read_text", read_text)
    rc, _, err = run_main(["--hw", "locked.yaml", "--model", "gpt3", "--no-progress"], capsys)
    assert_one_line_error(rc, err, ("locked.yaml", "cannot read the file (Permission denied)"))
    assert not (workdir / "studies").exists()


# ---------------------------------------------------------------------------- an existing study
@pytest.fixture
def made_study(workdir, capsys):
    """A finished 6-trial study ``m`` (tpuv4 × gpt3) in studies/m.db."""
    assert main(BASE[:4] + ["--trials", "6", "--study", "m", "--no-progress"]) == 0
    capsys.readouterr()
    return workdir / "studies" / "m.db"


def _refused_and_untouched(argv, db: Path, capsys, expect) -> None:
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    rc, _, err = run_main(argv, capsys)
    assert_one_line_error(rc, err, expect)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def test_changed_inputs_are_refused_and_the_study_untouched(made_study, capsys):
    bad = made_study.parent.parent / "tpu2.yaml"
    bad.write_text(TPU.read_text().replace("other_area: 200", "other_area: 210"))
    argv = ["--hw", str(bad), "--sys", str(TPU_SYS), "--model", "gpt3", "--trials", "9", "--study", "m",
            "--no-progress"]
    _refused_and_untouched(argv, made_study, capsys, ("study 'm' was made with different inputs", "--force"))


def test_other_tool_version_is_explained_and_refused(made_study, capsys):
    import optuna

    from llmhw import __version__
    study = optuna.load_study(study_name="m", storage=f"sqlite:///{made_study}")
    meta = study.user_attrs["llmhw"]
    meta["run"]["tool_version"] = "0.0.1"
    study.set_user_attr("llmhw", meta)
    del study
    argv = BASE[:4] + ["--trials", "9", "--study", "m", "--no-progress"]
    _refused_and_untouched(argv, made_study, capsys,
                           ("last written by llmhw 0.0.1", f"this is llmhw {__version__}", "--force"))
    assert main(argv + ["--force"]) == 0      # --force continues it, and records that it did
    study = optuna.load_study(study_name="m", storage=f"sqlite:///{made_study}")
    assert len(study.get_trials()) == 9
    assert "last written by llmhw 0.0.1" in study.user_attrs["llmhw"]["history"][-2]["event"]


def test_unreadable_stored_inputs_are_explained(made_study, capsys):
    import optuna
    study = optuna.load_study(study_name="m", storage=f"sqlite:///{made_study}")
    meta = study.user_attrs["llmhw"]
    del meta["identity"]["hw"]
    study.set_user_attr("llmhw", meta)
    del study
    _refused_and_untouched(["--study", "m", "--no-progress"], made_study, capsys,
                           ("stored inputs cannot be read", "KeyError"))


def test_a_study_not_made_by_llmhw_is_refused(workdir, capsys):
    import optuna
    (workdir / "studies").mkdir()
    db = workdir / "studies" / "plain.db"
    optuna.create_study(study_name="plain", storage=f"sqlite:///{db}").optimize(lambda t: t.suggest_float("x", 0, 1), 2)
    _refused_and_untouched(BASE + ["--study", "plain"], db, capsys, ("not made by llmhw",))


def test_a_busy_study_is_refused(made_study, capsys):
    from llmhw.study.lock import StudyLock
    with StudyLock(f"sqlite:///{made_study}", "m"):
        _refused_and_untouched(BASE[:4] + ["--trials", "9", "--study", "m", "--no-progress"], made_study, capsys,
                               ("study 'm' is in use by another llmhw command", "pid", "m.db.lock"))


# ---------------------------------------------------------------------------- real processes
REAL = ["trials-zero", "sampler-typo", "hw-duplicate-list-entries", "yaml-unclosed-bracket",
        "workload-beyond-any-memory"]


def test_real_processes(workdir):
    for case in (c for c in CASES if c.id in REAL):
        case.write(workdir)
        before = _tree(workdir)
        proc = search_cli(case.argv, workdir)
        assert_one_line_error(proc.returncode, proc.stderr, case.expect)
        assert _tree(workdir) == before
