"""When ``--jobs N`` pays (issue 15 item 18): ``--check --jobs 2`` measures the cost of a trial and
says whether workers would pay on this job; the run header says when they do."""
from __future__ import annotations

from llmhw.cli import main
from llmhw.study.workers import MERGE_S_PER_TRIAL, WORKER_START_S, jobs_advice

from .conftest import small_search


def test_advice_arithmetic():
    # 3,000 trials at 0.5 ms: serial 1.5 s; parallel 2.0 s start + 3,000 x max(0.25, 1.5) ms = 6.5 s
    pays, line = jobs_advice(2, 3000, 0.0005)
    assert not pays and "use --jobs 1" in line and "~6 s" in line and "~2 s with --jobs 1" in line
    assert WORKER_START_S == 2.0 and MERGE_S_PER_TRIAL == 0.0015
    # 3,000 trials at 50 ms: serial 150 s; parallel 2 + 3,000 x 25 ms = 77 s
    pays, line = jobs_advice(2, 3000, 0.05)
    assert pays and "worth it" in line and "~77 s with 2 workers" in line


def test_check_says_whether_jobs_pays_on_the_main_job(workdir, capsys):
    assert main(["--check", *small_search("--jobs", "2", trials=3000)]) == 0
    out = capsys.readouterr().out
    line = next((ln for ln in out.splitlines() if "--jobs 2:" in ln), None)
    assert line is not None, out
    assert "ms here" in line and ("use --jobs 1" in line or "worth it" in line)
