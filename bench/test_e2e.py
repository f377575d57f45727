"""End-to-end latency: text → label at batch 1, as an app calls an artifact (export/predict.py's semantics).

Each call tokenises one natural dev sentence (a pair: both) with the artifact's own tokenizer on the
`tokenizers` library directly (TextEncoder.one), runs the artifact and maps the argmax to its label name.
Beside it, the same rows pre-tokenised are timed model-only, alternating call by call (model-only, then
end-to-end, on the same row), so the two distributions share the machine's state and the difference is what
tokenisation and pre/post-processing cost. Natural lengths: unlike test_latency's packed rows, a short
sentence costs less here.
"""

from __future__ import annotations

import time

import numpy as np

from bench.artifacts import encoder_for
from bench.measure import LatencyStats, RoundPlan
from bench.timing import device_or_skip, load_or_skip


def test_e2e(bench, e2e_case):
    spec, device, threads = e2e_case
    device_or_skip(device, spec)
    cfg = bench.config
    run = load_or_skip(bench, spec, threads, device)
    encoder = encoder_for(spec)
    labels = bench.task.label_names
    texts, texts_b = bench.dev_texts, bench.dev_texts_b
    limit = spec["max_length"]
    pre = [encoder.one(texts[i], limit, None if texts_b is None else texts_b[i]) for i in range(len(texts))]

    def end_to_end(i: int) -> str:
        ids, mask = encoder.one(texts[i], limit, None if texts_b is None else texts_b[i])
        return labels[int(np.argmax(run(ids, mask)[0]))]

    e2e, model = [], []

    def pair_of_calls(i: int) -> None:
        ids, mask = pre[i]
        start = time.perf_counter()
        run(ids, mask)
        model.append(time.perf_counter() - start)
        start = time.perf_counter()
        end_to_end(i)
        e2e.append(time.perf_counter() - start)

    start, i = time.perf_counter(), 0
    while i < 3 or time.perf_counter() - start < cfg.warmup_time:  # untimed warm-up
        pair_of_calls(i % len(texts))
        i += 1
    per_pair = (time.perf_counter() - start) / i
    e2e.clear()
    model.clear()
    plan = RoundPlan(cfg.min_rounds, cfg.min_time, cfg.max_time)
    for r in range(plan.rounds(per_pair / 2)):  # min-time counts end-to-end calls' time, as test_latency's
        pair_of_calls(r % len(texts))
    stats, model_stats = LatencyStats.from_seconds(e2e), LatencyStats.from_seconds(model)
    validity = plan.met(e2e)
    bench.add_record(spec, scenario="end-to-end", device=device, threads=threads, batch_size=1,
                     seq_len="natural", latency_ms=stats.as_dict(), model_only_ms=model_stats.as_dict(),
                     tokenize_share=round(1 - model_stats.p50 / stats.p50, 4) if stats.p50 else None,
                     inputs="natural dev sentences, one per call, in dev order", **validity)
    assert stats.count == model_stats.count > 0
