"""Default study names follow the objectives; aliases are said on the header (issue 15 #14)."""
from __future__ import annotations

import re

from .conftest import cli_args, run_cli


def _names(workdir) -> set[str]:
    return {p.stem for p in (workdir / "studies").glob("*.db")}


def test_other_objectives_get_their_own_default_study(workdir, capsys):
    assert run_cli(cli_args(trials=4)) == 0
    (default,) = _names(workdir)
    assert re.fullmatch(r"tpuv5p-llama2-\d+x\d+", default)          # the default objectives: no suffix
    assert run_cli(cli_args("--objectives", "tco,ttft", trials=4)) == 0, capsys.readouterr().err
    assert _names(workdir) == {default, f"{default}-tco_per_mtoken_usd+ttft_s"}


def test_an_alias_is_resolved_aloud_on_the_header_and_by_check(workdir, capsys):
    assert run_cli(cli_args("--objectives", "latency,tco_per_mtoken_usd", trials=4)) == 0
    out = capsys.readouterr().out
    assert "e2e_latency_s↓ (given as 'latency')" in out, out
    assert "tco_per_mtoken_usd↓ (given as" not in out
    assert run_cli(cli_args("--objectives", "latency,tco", "--check", trials=4)) == 0
    out = capsys.readouterr().out
    assert "e2e_latency_s↓ (given as 'latency')" in out and "tco_per_mtoken_usd↓ (given as 'tco')" in out, out


def test_a_named_study_with_other_objectives_is_refused_with_the_name_to_use(workdir, capsys):
    assert run_cli(cli_args(trials=4, study="mine")) == 0
    capsys.readouterr()
    assert run_cli(cli_args("--objectives", "tco,ttft", trials=4, study="mine")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--study mine-tco_per_mtoken_usd+ttft_s" in err, err
    assert run_cli(cli_args("--objectives", "tco,ttft", trials=4, study="mine-tco_per_mtoken_usd+ttft_s")) == 0


def test_the_default_objectives_are_not_annotated(workdir, capsys):
    assert run_cli(cli_args(trials=4)) == 0
    out = capsys.readouterr().out
    assert "objectives tco_per_mtoken_usd↓, tpot_s↓, throughput_tok_per_s↑;" in out, out
