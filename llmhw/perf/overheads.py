"""Work outside the six matmuls: element-wise traffic and per-kernel costs (docs/validation.md §V.5, §V.6).

Pure functions of numbers (floats or numpy arrays alike).
"""
from __future__ import annotations

from . import xp


def elementwise_bytes_per_token(d, d_ff_per_chip, d_kv_per_chip, d_attn_per_chip, norm_bytes_per_element,
                                activation_bytes_per_element, residual_bytes_per_element,
                                kv_write_bytes_per_element, attention_output_bytes_per_element):
    """§V.5: bytes one token moves through memory per layer outside the matmuls, on one chip.

        2 norms · n_b · d  +  2 residual adds · r_b · d  +  a_b · d_ff/t  +  w_b · 2 · d_kv/t  +  o_b · d_at/t

    The norms and residual adds act on the full width d (replicated under tensor parallelism); the gated
    activation SiLU(gate)·up on the chip's d_ff/t columns; the KV write on the new token's K and V
    (2·d_kv/t numbers); the attention output re-layout (heads back to rows) on d_at/t. Each ``*_b`` is the
    bytes moved per element by that operation as implemented (e.g. a fused bf16 RMSNorm reads and writes
    2 + 2 = 4 bytes per element; one computed in fp32 by unfused operations moves 36).
    """
    return (2 * norm_bytes_per_element * d + 2 * residual_bytes_per_element * d
            + activation_bytes_per_element * d_ff_per_chip + kv_write_bytes_per_element * 2 * d_kv_per_chip
            + attention_output_bytes_per_element * d_attn_per_chip)


def elementwise_time_s(tokens, bytes_per_token, bandwidth_bytes_per_s):
    """§V.5: element-wise work is memory-bound: tokens · bytes per token / element-wise bandwidth."""
    return tokens * bytes_per_token / bandwidth_bytes_per_s


def layer_time_s(device_s, kernels_per_layer, kernel_overhead_s, launch_overhead_s, eager):
    """§V.6: one layer's time from its device work and its kernel count.

    Every kernel costs the device ``kernel_overhead_s`` beyond its work (launch into the SMs, ramp-up,
    drain). Graph-captured execution issues all kernels at once, so that is all. Eager execution issues
    each kernel from the host, which takes ``launch_overhead_s``; the host runs ahead of the device while
    kernels are long, so the layer takes the longer of the device time and the host issue time.
    """
    device = device_s + kernels_per_layer * kernel_overhead_s
    if not eager or not launch_overhead_s:
        return device
    host = kernels_per_layer * launch_overhead_s
    return xp.maximum(device, host)
