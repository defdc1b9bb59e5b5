"""Energy of the prefill and decode stages and the resulting powers (model.md §13.7).

Reference counts (§16.1 #7): 12·d² weights per layer, d-based activation and KV counts, KV reads not
scaled by the micro-batch. With ``fidelity.energy_counts_fixed`` (§16.2 #4) the weights per layer are
atten + ffn + glu and the KV memory read is μ × c × kv_per_token numbers (all layers: the real KV cache
of the micro-batch's μ sequences, equal to μ × L·2·d·c for multi-head attention).
"""
from __future__ import annotations

from dataclasses import dataclass

from llmhw.fidelity import Fidelity
from llmhw.workload.system import System

from .shapes import context_len, rows


@dataclass(frozen=True)
class EnergyRates:
    """Per-byte / per-MAC energies (pJ) of a system's hardware."""

    mem_pj_per_byte: float        # e_m: HBM, else 3D vault, else sram_wgt
    link_pj_per_byte: float       # e_l: chip2chip link, else pkg2pkg link
    sram_act_pj_per_byte: float
    fma_pj: float


def energy_rates(system: System) -> EnergyRates:
    """§13.7: e_m and e_l of the system's package and chip, and the Energy constants."""
    pkg = system.server.package
    chip = pkg.chip
    ke = system.constants.energy
    if pkg.num_hbm_stacks > 0:
        e_m = pkg.hbm.pj_per_byte
    elif chip.mem_3d_vaults > 0:
        e_m = pkg.vault.pj_per_byte
    else:
        e_m = ke["sram_wgt"]
    e_l = chip.chip2chip_io.pj_per_byte if chip.chip2chip_io is not None else chip.pkg2pkg_io.pj_per_byte
    return EnergyRates(e_m, e_l, ke["sram_act"], ke["fma_fp16"])


def weights_total(system: System, fidelity: Fidelity) -> float:
    """W_tot = L × 12·d² (reference) or L × (atten + ffn + glu) (fixed)."""
    m = system.model
    if fidelity.energy_counts_fixed:
        return m.num_layers * (m.atten_params + m.ffn_params + m.glu_params)
    return m.num_layers * 12 * m.d * m.d


def iteration_energy_pj(system: System, t, prefill: bool, micro_batch,
                        fidelity: Fidelity) -> tuple[float, float, float]:
    """(E_fma, E_mem, E_comm) in pJ of one micro-batch iteration (§13.7); numbers or arrays.

    ``t`` (chips per stage) only scales the all-reduce traffic of E_comm. A new per-layer energy term is
    one more addend of the three sums here."""
    m = system.model
    r = energy_rates(system)
    L, d, b = m.num_layers, m.d, m.bytes_per_number
    P, G = system.prefill_len, system.decode_len
    W_tot = weights_total(system, fidelity)
    E_wgt = W_tot * b * r.mem_pj_per_byte
    x = rows(prefill, micro_batch, P)
    c = context_len(prefill, P, G)
    acts = L * 9 * d * x
    kv = L * 2 * d * c
    E_fma = W_tot * x * r.fma_pj + kv * x * r.fma_pj
    kv_read = micro_batch * c * m.kv_numbers_per_token if fidelity.energy_counts_fixed else kv
    E_mem = E_wgt + acts * b * r.sram_act_pj_per_byte + kv_read * b * r.mem_pj_per_byte
    return E_fma, E_mem, allreduce_energy_pj(system, t, x, r)


def allreduce_energy_pj(system: System, t, x, rates: EnergyRates | None = None):
    """§13.7 E_comm (pJ): L·2·d·x activations all-reduced over t chips, b bytes each, at e_l."""
    m = system.model
    r = energy_rates(system) if rates is None else rates
    allred = m.num_layers * 2 * m.d * x * t
    return allred * m.bytes_per_number * r.link_pj_per_byte


def stage_energy_j(iteration_pj: tuple[float, float, float], iterations):
    """Stage energy (J) = (E_fma·iter)/1e12 + (E_mem·iter)/1e12 + (E_comm·iter)/1e12."""
    E_fma, E_mem, E_comm = iteration_pj
    return E_fma * iterations / 1e12 + E_mem * iterations / 1e12 + E_comm * iterations / 1e12


def prefill_iterations(batch, prefill_micro_batch):
    """§13.7: B / pmb micro-batch iterations in prefill."""
    return batch / prefill_micro_batch


def decode_iterations(batch, micro_batch, decode_len: int):
    """§13.7: B / mb × G micro-batch iterations in decode."""
    return batch / micro_batch * decode_len
