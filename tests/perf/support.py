"""Helpers for the workload/perf tests: build servers and expanded system configurations from input files."""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from llmhw.config import expand_system, load_constants, load_hardware, load_model, load_system
from llmhw.fidelity import Fidelity
from llmhw.hardware.constants import Constants, load_constants_dict
from llmhw.exhaustive.hardware_phase import hardware_phase
from llmhw.workload.model import Model
from llmhw.workload.system import System, build_system

from tests.conftest import REFERENCE_DIR, REPO_ROOT

INPUTS = REPO_ROOT / "inputs"


@lru_cache(maxsize=None)
def constants(path: str) -> Constants:
    return load_constants_dict(load_constants(path))


@lru_cache(maxsize=None)
def servers(hw_path: str, const_path: str, compat: str) -> tuple:
    hw = load_hardware(hw_path)
    return hardware_phase(hw.chips, hw.packages, hw.servers, constants(const_path),
                          Fidelity.from_compat(compat)).servers


def _one(folder: Path) -> str:
    files = sorted(folder.glob("*.yaml"))
    assert len(files) == 1, folder
    return str(files[0])


@lru_cache(maxsize=None)
def case_inputs(case: str, compat: str):
    """(servers, constants, model mapping, expanded system configurations) of reference case ``case``."""
    d = REFERENCE_DIR / "cases" / case / "inputs"
    const = _one(d / "constant")
    model = load_model(_one(d / "model"))
    cfgs = expand_system(load_system(_one(d / "system")).raw, model)
    return servers(_one(d / "hardware"), const, compat), constants(const), model, cfgs


def case_names() -> list[str]:
    if not REFERENCE_DIR.is_dir():
        return []
    return sorted(p.name for p in (REFERENCE_DIR / "cases").iterdir() if (p / "inputs").is_dir())


def project_system(hw: str = "hw_example", model: str = "gpt3", system: str = "sys_default",
                   compat: str = "reference", index: int = 0, **overrides) -> System:
    """A system built from the repository's own inputs (no reference material needed)."""
    const = str(INPUTS / "hardware/constant/7nm_default.yaml")
    srv = servers(str(INPUTS / f"hardware/config/{hw}.yaml"), const, compat)[0]
    m = load_model(INPUTS / f"software/model/{model}.yaml")
    cfg = expand_system(load_system(INPUTS / f"software/system/{system}.yaml").raw, m)[index]
    cfg.update(overrides)
    return build_system(srv, cfg, Model.from_dict(m), constants(const))


ALGOS = ("ring", "2d_ring", "3d_ring", "local_4d_16", "local_2d_16", "local_ring_16", "local_ring_8")
PROJECT_HW = ("hw_example", "tpuv5p", "chiplet_sram_only")
PROJECT_MODELS = ("gpt2", "gpt3", "llama3-70B", "palm", "megatron")


@lru_cache(maxsize=None)
def project_servers(hw: str, compat: str = "reference") -> tuple:
    const = str(INPUTS / "hardware/constant/7nm_default.yaml")
    return servers(str(INPUTS / f"hardware/config/{hw}.yaml"), const, compat)


@lru_cache(maxsize=None)
def project_model(name: str) -> Model:
    return Model.from_dict(load_model(INPUTS / f"software/model/{name}.yaml"))


def project_constants() -> Constants:
    return constants(str(INPUTS / "hardware/constant/7nm_default.yaml"))


def random_system(rng, compat: str = "reference", max_batch: int | None = None) -> System:
    """A random valid system on the repository's hardware/models (all algorithms, efficiencies, sizings)."""
    while True:
        srvs = project_servers(rng.choice(PROJECT_HW), compat)
        server = srvs[rng.randrange(len(srvs))]
        model = project_model(rng.choice(PROJECT_MODELS))
        if rng.random() < 0.3:
            model = replace(model, attn_comm_pattern=rng.choice(("allreduce", "parallel_block",
                                                                 "allreduce_plus_2a2a")))
        cfg = {"allreduce_algo": rng.choice(ALGOS),
               "compute_perf_efficiency": rng.choice((1.0, 0.7)),
               "io_bandwidth_efficiency": rng.choice((1.0, 0.9)),
               "weight_bandwidth_efficiency": rng.choice((1.0, 0.6)),
               "energy_model": rng.random() < 0.7,
               "max_batch": max_batch or rng.choice((1, 4, 16, 64, 256)),
               "eval_len": rng.choice(([256, 64], [200, 57], [64, 256], [2048, 129], [20, 8]))}
        if rng.random() < 0.5:
            cfg["num_servers"] = rng.choice((1, 2, 3, 4, 8, 16, 32))
        else:
            cfg["kv_cache_ratio"] = rng.choice((0.1, 0.3, 0.6))
        if rng.random() < 0.25:
            cfg["default_mapping"] = {"t": rng.choice((1, 4, 16)), "p": rng.choice((1, 1, 2, 4)),
                                      "micro_batch": rng.choice((0, 1, 2, 8)),
                                      "prefill_micro_batch": rng.choice((0, 1, 4))}
        if rng.random() < 0.4:      # docs/validation.md §V terms (corrected mode only)
            cfg["stack"] = {"preset": rng.choice(("none", "gpu_pytorch", "asic")),
                            "gemm_output_half": rng.choice((0, 1.0e6)), "gemm_k_half": rng.choice((0, 600)),
                            "kv_bandwidth_efficiency": rng.choice((None, 0.5)),
                            "norm_bytes_per_element": rng.choice((0, 36)),
                            "kernels_per_layer": rng.choice((0, 29)), "launch_overhead_s": rng.choice((0, 5e-6)),
                            "prefill_execution": rng.choice(("graph", "eager"))}
        system = build_system(server, cfg, model, project_constants())
        if system.valid:
            return system
