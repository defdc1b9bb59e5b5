"""Every reference input file loads and validates; expected expansion counts (§0)."""
from __future__ import annotations

from pathlib import Path

import pytest

from llmhw.config import (expand_system, load_constants, load_hardware, load_model, load_system,
                          load_yaml, validate_model)
from llmhw.errors import ConfigError

# <repo>/../shared/reference (see tests/conftest.py); computed here too for parametrisation.
REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(),
                                     reason=f"reference material not found at {REFERENCE}")


def _kind(path: Path) -> str:
    """hardware / constants / model / system, from the folder layout (or the content)."""
    parts = path.parts
    for folder, kind in (("constant", "constants"), ("model", "model"), ("system", "system"),
                         ("hardware", "hardware")):
        if folder in parts[-3:-1]:
            return kind
    raw = load_yaml(path)
    return "hardware" if "Chip" in raw else "system"


def _reference_files() -> list[Path]:
    if not REFERENCE.is_dir():
        return []
    roots = [REFERENCE / "seed_inputs", *sorted((REFERENCE / "cases").glob("*/inputs")),
             REFERENCE / "cases" / "speed_grid"]
    return sorted({p for root in roots if root.is_dir() for p in root.rglob("*.yaml")})


FILES = _reference_files()
GOPHER_D = 16328  # shipped gopher.yaml: d = 16328 is not a multiple of its 128 heads


@needs_reference
def test_reference_corpus_is_found():
    assert len(FILES) >= 60
    kinds = {_kind(p) for p in FILES}
    assert kinds == {"hardware", "constants", "model", "system"}


@needs_reference
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REFERENCE)))
def test_reference_file_loads_and_validates(path):
    kind = _kind(path)
    if kind == "hardware":
        hw = load_hardware(path)
        assert hw.chips and hw.packages and hw.servers
    elif kind == "constants":
        consts = load_constants(path)
        assert list(consts) == ["Chip", "Package", "Server", "TCO", "Energy"]
    elif kind == "model":
        raw = load_yaml(path)
        strict = raw["Model"].get("d") != GOPHER_D
        model = load_model(path, strict_heads=strict)
        assert model["num_layers"] >= 1
    else:
        system = load_system(path)
        configs = expand_system(system.raw, {"name": "m", "num_layers": 2, "d": 8, "num_heads": 2})
        assert configs
        for conf in configs:
            assert len(conf["eval_len"]) == 2 and list(conf)[-1] == "model"


@needs_reference
def test_gopher_d_not_divisible_by_heads_needs_lenient_mode():
    path = REFERENCE / "seed_inputs" / "software" / "model" / "gopher.yaml"
    with pytest.raises(ConfigError) as info:
        load_model(path)
    msg = str(info.value)
    assert "gopher.yaml: Model.d: not divisible by num_heads=128" in msg
    assert "d // num_heads = 127" in msg
    assert load_model(path, strict_heads=False)["d"] == GOPHER_D
    validate_model(load_yaml(path), path, strict_heads=False)


@needs_reference
@pytest.mark.parametrize("rel, counts", [
    ("cases/e_thermal_grid_gpt3/inputs/hardware/thermal_grid.yaml", (4, 2, 9)),
    ("cases/speed_grid/large_grid.yaml", (24, 2, 9)),
    ("cases/f_ws_sram_grid_gpt2/inputs/hardware/ws_sram_grid.yaml", (8, 2, 4)),
    ("seed_inputs/hardware/config/hbm_explore.yaml", (1, 3, 1)),
    ("seed_inputs/hardware/config/hw_example.yaml", (1, 1, 1)),
    ("seed_inputs/hardware/config/cc_3d_baseline.yaml", (1, 1, 1)),
])
def test_hardware_expansion_counts(rel, counts):
    hw = load_hardware(REFERENCE / rel)
    assert (len(hw.chips), len(hw.packages), len(hw.servers)) == counts


@needs_reference
def test_thermal_grid_order():
    hw = load_hardware(REFERENCE / "cases/e_thermal_grid_gpt3/inputs/hardware/thermal_grid.yaml")
    assert [(c["perf"], c["sram"]) for c in hw.chips] == [
        (200e12, 100e6), (200e12, 300e6), (459e12, 100e6), (459e12, 300e6)]
    assert [(s["num_lanes"], s["packages_per_lane"]) for s in hw.servers][:4] == [
        (2, 1), (2, 2), (2, 4), (4, 1)]
    assert hw.chips[0]["pkg2pkg_io"]["bandwidth_per_io"] == 150e9


@needs_reference
def test_hbm_explore_packages():
    hw = load_hardware(REFERENCE / "seed_inputs/hardware/config/hbm_explore.yaml")
    assert len(hw.packages) == 3
    hbm = [p["hbm"] for p in hw.packages]
    assert [h["config"] for h in hbm] == ["HBM2E", "HBM3", "HBM3E"]
    assert [h["num_channels"] for h in hbm] == [8, 8, 12]
    assert hbm[2]["bit_rate"] == 9878424780
    assert all(h["channel_bytes"] == 2147483648 and h["stack_cost"] == 120 for h in hbm)


@needs_reference
def test_integer_area_keeps_its_type():
    hw = load_hardware(REFERENCE / "seed_inputs/hardware/config/cc_3d_baseline.yaml")
    assert type(hw.chips[0]["area"]) is int and hw.chips[0]["area"] == 100
    assert type(hw.chips[0]["freq"]) is float


@needs_reference
def test_hbm_list_of_one_mapping_gives_the_mapping():
    hw = load_hardware(REFERENCE / "seed_inputs/hardware/config/hw_example.yaml")
    assert hw.packages == [{"num_chips": 1, "hbm": {
        "config": "TPUv5p_HBM2e", "simulator": False, "channel_bytes": 2147483648,
        "channel_width": 128, "num_channels": 8, "bit_rate": 3865470566, "stack_cost": 120}}]
    assert hw.name == "hw_example"


@needs_reference
@pytest.mark.parametrize("rel, count, first", [
    ("seed_inputs/software/system/sys_default.yaml", 2,
     {"num_servers": 16, "allreduce_algo": "2d_ring",
      "default_mapping": {"t": 64, "p": 1, "micro_batch": 0, "prefill_micro_batch": 0},
      "max_batch": 1024, "eval_len": [256, 64]}),
    ("seed_inputs/software/system/tpuv5p.yaml", 20, None),
    ("seed_inputs/software/system/b200.yaml", 24, None),
    ("cases/f_ws_sram_grid_gpt2/inputs/system/ws_sram_grid_sys.yaml", 6, None),
    ("cases/g_sizing_modes_llama3-405B/inputs/system/sizing_modes_sys.yaml", 8, None),
    ("seed_inputs/software/system/hbm_explore.yaml", 1, None),
])
def test_system_expansion(rel, count, first):
    model = load_model(REFERENCE / "seed_inputs/software/model/gpt3.yaml")
    configs = load_system(REFERENCE / rel).expand(model)
    assert len(configs) == count
    assert all(c["model"] == model for c in configs)
    if first is not None:
        assert configs[0] == {**first, "model": model}


@needs_reference
def test_tpuv5p_workload_order_is_max_batch_then_eval_len():
    # the file lists eval_len before max_batch inside workload; §0 copies max_batch first
    system = load_system(REFERENCE / "seed_inputs/software/system/tpuv5p.yaml")
    configs = system.expand({"name": "m"})
    assert list(configs[0])[-3:] == ["max_batch", "eval_len", "model"]
    assert [(c["num_servers"], tuple(c["eval_len"])) for c in configs[:5]] == [
        (1, (256, 64)), (1, (64, 256)), (1, (1024, 256)), (1, (256, 1024)), (2, (256, 64))]


@needs_reference
def test_sizing_modes_nulls_are_kept():
    system = load_system(
        REFERENCE / "cases/g_sizing_modes_llama3-405B/inputs/system/sizing_modes_sys.yaml")
    configs = system.expand({"name": "m"})
    assert [(c["kv_cache_ratio"], c["max_ctx_len_batch_1"], c["energy_model"]) for c in configs] == [
        (0.3, None, True), (0.3, None, False), (0.3, 200000, True), (0.3, 200000, False),
        (None, None, True), (None, None, False), (None, 200000, True), (None, 200000, False)]


@needs_reference
def test_model_by_name(reference_dir):
    model_dir = reference_dir / "seed_inputs" / "software" / "model"
    assert load_model("llama3-70B", model_dir)["act"] == "swiglu"
    with pytest.raises(ConfigError) as info:
        load_model("gpt4", model_dir)
    msg = str(info.value)
    assert "unknown model, got 'gpt4'" in msg and "gpt3" in msg and "llama3-405B" in msg
