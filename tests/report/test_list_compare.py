"""``--list`` (studies of a storage) and ``--compare A B`` (fronts overlaid in one table and one plot)."""
from __future__ import annotations

import pandas as pd

from llmhw.report.compare import compare
from llmhw.search.pareto import front_mask, losses

from .conftest import run_cli


def test_list_shows_every_study_with_its_size_and_front(in_studies, capsys):
    assert run_cli(["--list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert {"tiny", "tiny-llama", "other-objectives"} <= set(lines)
    assert "60" in lines["tiny"] and "gpt3" in lines["tiny"] and "tpe" in lines["tiny"]
    assert "llama2" in lines["tiny-llama"] and "40" in lines["tiny-llama"]
    assert "tco_per_mtoken_usd↓" in lines["other-objectives"] and "ttft_s↓" in lines["other-objectives"]
    assert "throughput_tok_per_s↑" in lines["tiny"]


def test_list_one_storage(in_studies, capsys):
    assert run_cli(["--list", "--storage", "sqlite:///studies/tiny-llama.db"]) == 0
    out = capsys.readouterr().out
    assert "tiny-llama" in out and "│ tiny " not in out


def test_list_says_so_when_a_file_is_not_a_study(in_studies, capsys):
    (in_studies / "studies" / "junk.db").write_text("not a database")
    try:
        assert run_cli(["--list"]) == 1   # a storage it could not read: listed, and the exit says so
    finally:
        (in_studies / "studies" / "junk.db").unlink()
    out = capsys.readouterr().out
    assert "junk" in out and "cannot read" in out and "tiny-llama" in out


def test_compare_two_studies(in_studies, capsys):
    assert run_cli(["--compare", "tiny", "tiny-llama"]) == 0
    out = capsys.readouterr().out
    assert "Studies compared" in out and "Fronts overlaid" in out and "tiny-llama" in out
    outdir = in_studies / "outputs" / "compare-tiny-tiny-llama"
    for name in ("compare.csv", "compare.html", "compare.png"):
        assert (outdir / name).stat().st_size > 1000, name
    html = (outdir / "compare.html").read_text()
    for text in ("tco_per_mtoken_usd", "tpot_s", "throughput_tok_per_s", "tiny-llama", "joint front"):
        assert text in html, text
    joint = pd.read_csv(outdir / "compare.csv")
    assert set(joint["study"]) == {"tiny", "tiny-llama"}


def test_compare_joint_front_is_the_front_of_the_union(studies):
    c = compare(["tiny", "tiny-llama"], studies_dir=studies / "studies")
    cols = [f"objective.{o.name}" for o in c.objectives]
    fronts = []
    for d in c.studies:
        f = d.front_designs()
        fronts.append(f.assign(study=d.name))
    union = pd.concat(fronts, ignore_index=True)
    mask = front_mask(losses(union[cols].to_numpy(), [o.direction for o in c.objectives]))
    expected = set(zip(union["study"][mask], union["number"][mask]))
    got = set(zip(c.joint["study"][c.joint["joint_front"]], c.joint["number"][c.joint["joint_front"]]))
    assert got == expected and got
    assert sum(r["on_joint"] for r in c.summary) == len(expected)
    assert all(0 < r["hv"] <= 1.1 ** 3 for r in c.summary)


def test_compare_into_export_dir(in_studies, capsys):
    out = in_studies / "cmp"
    assert run_cli(["--compare", "tiny", "tiny-llama", "--export", str(out)]) == 0
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_needs_the_same_objectives(in_studies, capsys):
    assert run_cli(["--compare", "tiny", "other-objectives"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "same objectives" in err and "ttft_s" in err


def test_compare_needs_two_studies(in_studies, capsys):
    assert run_cli(["--compare", "tiny"]) == 2
    assert "at least two" in capsys.readouterr().err


def test_compare_refuses_studies_of_different_workloads(tmp_path, monkeypatch, capsys):
    """$/Mtoken of a 20:8 chat turn next to a 2048:64 summary is no comparison (issue 15 #13)."""
    from .conftest import search_args
    monkeypatch.chdir(tmp_path)
    assert run_cli(search_args("short", "gpt3", 6, "--workload", "20:8")) == 0
    assert run_cli(search_args("long", "gpt3", 6, "--workload", "128:8")) == 0
    capsys.readouterr()
    assert run_cli(["--compare", "short", "long"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert "different workloads" in err and "short: gpt3 at 20:8" in err and "long: gpt3 at 128:8" in err, err
    assert not list((tmp_path / "outputs").glob("compare-*"))


def test_compare_warns_loudly_when_the_models_differ(in_studies, capsys):
    assert run_cli(["--compare", "tiny", "tiny-llama"]) == 0
    out = capsys.readouterr().out
    assert "warning: the studies evaluate different models" in out, out
    assert "tiny: gpt3 at" in out and "tiny-llama: llama2 at" in out, out
    header = next(line for line in out.splitlines() if "study" in line and "model" in line)
    assert "workload" in header, out
