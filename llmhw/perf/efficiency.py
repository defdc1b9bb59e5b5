"""Shape-dependent compute efficiency of matmuls and attention (docs/validation.md §V.2, §V.3).

Pure functions of numbers; they work alike on Python floats and numpy arrays. With every "half" constant
at 0 they return the peak efficiency unchanged, which is the reference roofline (model.md §13.3).
"""
from __future__ import annotations


def gemm_efficiency(output_elements, k_depth, peak_efficiency, output_half, k_half):
    """§V.2: fraction of the chip's peak FLOP/s a GEMM reaches, by its shape.

        eff = peak · MN / (MN + MN½) · K / (K + K½)

    ``output_elements`` = M·N (× stacks): a GEMM is split into output tiles, one per streaming
    multiprocessor at a time; with few tiles most SMs idle and the last wave is partly empty (NVIDIA,
    "Matrix Multiplication Background User's Guide": tile and wave quantisation). MN½ is the output size at
    which half the peak is reached. ``k_depth`` = K: every tile pays a fixed prologue/epilogue (pipeline fill,
    writing the output tile) amortised over its K loop; K½ is that fixed cost in units of reduction depth.
    """
    eff = peak_efficiency
    if output_half:
        eff = eff * output_elements / (output_elements + output_half)
    if k_half:
        eff = eff * k_depth / (k_depth + k_half)
    return eff


def attention_efficiency(context, peak_efficiency, context_half):
    """§V.3: fraction of peak FLOP/s reached by the fused attention kernel at sequence length ``context``.

        eff = peak · c / (c + c½)

    A flash-attention kernel streams K/V blocks past a resident Q block; short sequences give few blocks
    per query tile, so the softmax rescaling and the tile start/finish weigh more (Dao 2023, FlashAttention-2,
    Fig. 5–7: forward throughput rises with sequence length and saturates).
    """
    if context_half:
        return peak_efficiency * context / (context + context_half)
    return peak_efficiency


def kv_stream_efficiency(context, peak_efficiency, context_half):
    """§V.1: fraction of the peak bandwidth at which attention streams the KV cache of ``context`` positions
    per sequence.

        eff = peak · c / (c + c½)

    Each sequence (and KV head) costs the attention kernel a fixed amount of work besides streaming its
    keys and values: its query tile is loaded and padded to a tensor-core tile, its split-KV partial results
    are written and combined. Expressed as c½ positions' worth of streaming, that fixed cost is amortised
    over longer contexts.
    """
    if context_half:
        return peak_efficiency * context / (context + context_half)
    return peak_efficiency


def causal_score_fraction(prompt_len):
    """§V.4: with a causal mask query i attends keys 0..i, so the score work of a prompt of n tokens is
    n(n+1)/2 of the n² pairs: the fraction (n + 1) / (2n)."""
    return (prompt_len + 1) / (2 * prompt_len)


def chunk_score_fraction(chunk_len, context):
    """§V.4 for a prefill chunk: token i of a chunk of C tokens ending at context c attends c − C + i + 1
    keys, so the chunk does 1 − (C − 1)/(2c) of its C × c score pairs; a whole prompt (C = c) gives
    :func:`causal_score_fraction`. Numbers or arrays."""
    return 1 - (chunk_len - 1) / (2 * context)
