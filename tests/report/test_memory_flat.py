"""Memory that grows with the study (issue 15 item 17): what the tool keeps per trial must be small.

A loaded study (``--report``, ``--export``, the dashboard) keeps slim trials — its frame holds the
metrics, design and violations — and reads a full trial back only when one is shown; stored trials
are read a page at a time; the search's evaluation cache keeps user attrs as compact JSON.
Measured on a 20,000-trial tpuv4 × gpt3 study (peak RSS, /usr/bin/time -v): search 772 → 332 MB,
--report 762 → 379 MB, --export 885 → 628 MB (the plots of 20,000 points remain)."""
from __future__ import annotations

import pickle

import optuna

from llmhw.report.data import load_study_data
from llmhw.study.storage import trial_store


def test_a_loaded_study_keeps_slim_trials(studies):
    url = f"sqlite:///{studies / 'studies' / 'tiny.db'}"
    data = load_study_data("tiny", url)
    per_trial = len(pickle.dumps(data.trials)) / len(data.trials)
    full = optuna.load_study(study_name="tiny", storage=url).trials
    assert per_trial < 0.4 * len(pickle.dumps(full)) / len(full), per_trial
    assert all("design" not in t.user_attrs for t in data.trials)
    shown = data.trial(data.trials[0].number)       # a trial shown in full is read back
    assert "design" in shown.user_attrs and shown.user_attrs == full[0].user_attrs


def test_stored_trials_are_read_a_page_at_a_time(studies):
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{studies / 'studies' / 'tiny.db'}")
    pages = list(trial_store(study).pages(size=25))
    assert [len(p) for p in pages] == [25, 25, 10]
    assert [t.number for p in pages for t in p] == list(range(60))


def test_the_evaluation_cache_holds_compact_attrs(tmp_path, monkeypatch):
    from llmhw.search import runner as runner_mod
    seen = {}
    real_run = runner_mod.Runner.run

    def run(self):
        out = real_run(self)
        seen["cache"] = dict(self.cache)
        return out

    monkeypatch.setattr(runner_mod.Runner, "run", run)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inputs").symlink_to(__import__("pathlib").Path(__file__).resolve().parents[2] / "inputs")
    from llmhw.cli import main
    assert main(["--hw", "inputs/hardware/config/tpuv4.yaml", "--model", "gpt3", "--trials", "20",
                 "--no-progress", "--study", "c"]) == 0
    assert seen["cache"] and all(isinstance(o.user_attrs, str) for o in seen["cache"].values())
