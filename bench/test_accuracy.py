"""The accuracy pass, apart from timing: every student/teacher artifact on the dev set (natural lengths),
with a 95% bootstrap CI, argmax agreement and max |Δlogit| against its model's eager fp32 logits."""

from __future__ import annotations

import numpy as np

from bench.artifacts import encoder_for
from bench.timing import load_or_skip
from export.validate import dev_batches, predict_dev, score


def test_accuracy(bench, artifact):
    texts, texts_b = bench.dev_texts_used()
    labels = bench.dev_labels[:len(texts)]
    run = load_or_skip(bench, artifact, max(bench.config.threads), "cpu")
    batches = dev_batches(encoder_for(artifact), texts, artifact["max_length"], texts_b=texts_b)
    logits = predict_dev(run, batches, len(texts))
    reference = bench.fp32_logits(artifact)
    if reference is None:  # an imported file with no reference model: accuracy only
        s = score(logits, labels, logits)
        bench.update_artifact(artifact, accuracy=s["accuracy"], ci95=s["ci95"], dev_n=s["n"], agreement=None,
                              fp32_accuracy=None, accuracy_ratio=None, max_abs_logit_diff=None)
        assert np.isfinite(logits).all(), f"{artifact['id']}: non-finite logits on the dev set"
        return
    result = score(logits, labels, reference)
    fp32 = score(reference, labels, reference)
    bench.update_artifact(artifact, accuracy=result["accuracy"], ci95=result["ci95"], dev_n=result["n"],
                          agreement=result["argmax_agreement"], fp32_accuracy=fp32["accuracy"],
                          accuracy_ratio=result["accuracy"] / fp32["accuracy"] if fp32["accuracy"] else None,
                          max_abs_logit_diff=float(np.abs(logits - reference).max()))
    assert np.isfinite(logits).all(), f"{artifact['id']}: non-finite logits on the dev set"
    assert logits.shape == (len(texts), len(bench.task.label_names))
