"""Serving as it runs today (issue 13): continuous batching, chunked prefill, disaggregated prefill/decode.

Pure functions and frozen dataclasses, no per-request simulation (docs/serving.md has the equations):

- :mod:`.workload`   request lengths (fixed, weighted list, distribution), arrival rate or concurrency, SLO;
- :mod:`.queueing`   M/G/1 Pollaczek–Khinchine mean wait and its exponential-tail percentile;
- :mod:`.iteration`  the cost of one engine iteration (decode tokens + prefill-chunk tokens) built from the
                     performance model's per-layer equations (model.md §13.2–§13.6);
- :mod:`.batching`   continuous batching in steady state (Little's law, chunked prefill);
- :mod:`.disagg`     KV transfer and pool rate matching of disaggregated prefill/decode;
- :mod:`.deployment` one deployment (aggregated or disaggregated) → goodput, TTFT, TPOT, cost.
"""
