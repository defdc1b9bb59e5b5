"""When ``--jobs N`` pays (issue 15 item 18): ``--check --jobs 2`` measures the cost of a trial and
says whether workers would pay on this job; the run header says when they do."""
from __future__ import annotations

from llmhw.cli import main
from llmhw.study.workers import MERGE_S_PER_TRIAL, WORKER_START_S, jobs_advice

from .conftest import small_search


def test_advice_arithmetic():
    assert WORKER_START_S == 2.5 and MERGE_S_PER_TRIAL == 0.003
    # 3,000 trials at 0.5 ms on 2 cores: serial 1.5 s; parallel = max(2.5 + 3,000 x 0.25 ms = 3.25,
    # (2 x 2.5 + 3,000 x (0.5 + 3) ms) / min(3, 2) = 15.5 / 2 = 7.75) = 7.75 s
    pays, line = jobs_advice(2, 3000, 0.0005, cores=2)
    assert not pays and "use --jobs 1" in line and "~8 s with 2 workers" in line and "~2 s with --jobs 1" in line
    # 6 ms (the README main job's CPU per trial): serial 18 s; parallel = max(2.5 + 9 = 11.5,
    # (5 + 3,000 x 9 ms) / 2 = 16) = 16 s > 0.8 x 18 = 14.4 s: does not pay (measured: 34 s CPU against 21 s)
    assert not jobs_advice(2, 3000, 0.006, cores=2)[0]
    # 50 ms: serial 150 s; parallel = max(2.5 + 75 = 77.5, (5 + 3,000 x 53 ms) / 2 = 82) = 82 s
    pays, line = jobs_advice(2, 3000, 0.05, cores=2)
    assert pays and "worth it" in line and "~82 s with 2 workers" in line


def test_check_says_whether_jobs_pays_on_the_main_job(workdir, capsys):
    assert main(["--check", *small_search("--jobs", "2", trials=3000)]) == 0
    out = capsys.readouterr().out
    line = next((ln for ln in out.splitlines() if "--jobs 2:" in ln), None)
    assert line is not None, out
    assert "ms here" in line and ("use --jobs 1" in line or "worth it" in line)
