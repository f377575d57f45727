"""A hand-made bench summary.json with round numbers, so report and ship figures can be checked by hand."""

from __future__ import annotations


def _lat(p50, p90, cv=1.0, count=50):
    ci = {"p50": [p50 * 0.98, p50 * 1.02], "p90": [p90 * 0.97, p90 * 1.04], "p95": [p90, p90 * 1.1],
          "p99": [p90 * 1.1, None]}
    return {"count": count, "ci95": ci, "mean": p50, "stdev": p50 * cv / 100, "cv_pct": cv, "min": p50 * 0.9,
            "p50": p50, "p90": p90, "p95": p90 * 1.05, "p99": p90 * 1.2, "max": p90 * 1.5, "unit": "ms"}


def _artifact(model, role, fmt, params, size, acc=None, ratio=None, agreement=None, diff=None, lossy=False,
              mobile=False):
    return {"id": f"{model}/{fmt}", "model": model, "role": role, "format": fmt, "lossy": lossy, "mobile": mobile,
            "params": params, "params_no_embedding": params // 10, "size_mb": size, "size_note": "artifact files",
            "accuracy": acc, "ci95": None if acc is None else [acc - 0.02, acc + 0.02], "agreement": agreement,
            "dev_n": None if acc is None else 872,
            "accuracy_ratio": ratio, "max_abs_logit_diff": diff, "peak_rss_mb_bs1": 300.0,
            "peak_rss_mb_bsmax": 400.0, "load_s": 0.5, "first_inference_ms": 3.0}


def _rec(art, threads, batch, p50, p90, sps, gflops=None, cv=1.0, valid=True):
    return {"artifact": art["id"], "model": art["model"], "role": art["role"], "format": art["format"],
            "mobile_format": art["mobile"], "scenario": "single-stream" if batch == 1 else "offline",
            "device": "cpu", "threads": threads, "batch_size": batch, "seq_len": 32, "latency_ms": _lat(p50, p90, cv),
            "throughput_sps": sps, "rounds": 50, "duration_s": 2.5, "min_rounds_met": valid, "min_time_met": True,
            "valid": valid, "mobile_class": art["mobile"] and threads == 1
            and batch == 1, "achieved_gflops": gflops, "params": art["params"], "size_mb": art["size_mb"],
            "accuracy": art["accuracy"]}


def summary() -> dict:
    eager = _artifact("stu", "student", "torch", 1_000_000, 4.0, 0.88, 1.0, 1.0, 0.0)
    int8 = _artifact("stu", "student", "ort-mobile-int8", 1_000_000, 1.0, 0.873, 0.992, 0.99, 0.2, lossy=True,
                     mobile=True)
    onnx = _artifact("stu", "student", "onnx", 1_000_000, 4.0, 0.88, 1.0, 1.0, 2e-6)
    teacher = _artifact("teacher", "teacher", "torch", 20_000_000, 80.0, 0.89, 1.0, 1.0, 0.0)
    large = _artifact("bert-large", "reference", "torch", 300_000_000, 1200.0)
    arts = [eager, int8, onnx, teacher, large]
    records = [
        _rec(eager, 1, 1, 1.0, 1.2, 1000.0), _rec(eager, 2, 512, 80.0, 82.0, 6400.0, 64.0),
        _rec(int8, 1, 1, 0.2, 0.25, 5000.0, cv=2.5), _rec(int8, 2, 512, 32.0, 33.0, 16000.0),
        _rec(onnx, 1, 1, 0.4, 0.5, 2500.0), _rec(onnx, 2, 512, 51.2, 52.0, 10000.0, 100.0),
        _rec(teacher, 1, 1, 10.0, 11.0, 100.0), _rec(teacher, 2, 512, 2000.0, 2010.0, 256.0),
        _rec(large, 1, 1, 250.0, 260.0, 4.0), _rec(large, 2, 16, 1000.0, 1010.0, 16.0),
        {**_rec(int8, 1, 1, 0.3, 0.5, 3800.0), "scenario": "loadgen-server",
         "loadgen": {"result": "VALID", "valid": True, "invalid_reasons": [], "early_stopping": {
             "estimates_ms": {}, "text": "* Run successful."}, "query_count": 7600,
             "settings": {"scenario": "Server", "min_duration_ms": 2000}, "mode": "quick", "compliant": False,
             "target_qps": 3807.0, "server_search": {"starts_qps": [2500.0], "peak_qps": 4230.0,
                                                     "search_result": "INVALID", "confirm_qps": [4230.0, 3807.0]}}},
        {**_rec(int8, 1, 1, 0.21, 0.26, 4700.0), "scenario": "loadgen-single-stream",
         "loadgen": {"result": "VALID", "valid": True, "invalid_reasons": [], "early_stopping": {
             "estimates_ms": {"p90": 0.262, "p99": 0.31}, "text": ""}, "query_count": 9400,
             "settings": {"scenario": "SingleStream", "min_duration_ms": 2000}, "mode": "quick", "compliant": False}},
        {**_rec(int8, 1, 1, 0.29, 0.33, 3400.0), "scenario": "end-to-end", "seq_len": "natural",
         "model_only_ms": _lat(0.18, 0.22), "tokenize_share": 0.3793},
    ]
    return {"version": 1, "run_id": "golden-bench", "run_dir": "runs/golden", "task": "sst2",
            "conditions": {"seq_len": 32, "threads": [1, 2], "batch_sizes": [1, 512], "reference_batch_sizes": [1, 16],
                           "inputs": "real dev text packed to seq_len tokens per row (bench/inputs.py)",
                           "dev_lengths": [{"model": "stu", "mean": 25.0, "p50": 24.0, "p90": 40.0,
                                            "max": 55}], "dev_n": 872, "dev_size": 872, "dev_limit": 0,
                           "min_rounds": 20, "min_rounds_offline": 3, "min_time_s": 2.0,
                           "scenarios": ["single-stream", "offline", "server"],
                           "loadgen": {"mode": "quick", "min_duration_s": 2.0, "min_queries": 100,
                                       "server_p99_ms": 50.0}, "interleave_blocks": 5},
            "machine": {"matmul_fp32_cpu_1t": {"gflops": 90.0}, "matmul_fp32_cpu_2t": {"gflops": 125.0}},
            "artifacts": {a["id"]: a for a in arts}, "records": records,
            "interleaved": {"blocks": 5, "block_min_s": 1.0, "arms": [], "ratios": {
                "student_vs_bert_large": {"value": 398.0, "ci95": [380.5, 410.25], "figure": "samples_per_s",
                                          "rows": ["stu/torch-cpu-2t-bs512", "bert-large/torch-cpu-2t-bs16"]}}},
            "load": {"load_1min_before": 0.8, "load_1min_after": 1.9, "cores": 2, "overloaded": False}, "skipped": [
                {"test": "bench/test_latency.py::test_latency[stu/torch-cuda-1t-bs1]",
                 "reason": "cuda: no CUDA device here (torch.cuda.is_available() is False)"}], "failed": [],
            "env": {"utc": "2026-11-24T00:00:00+00:00", "cpu": "Test CPU", "cores": 2, "ram_gb": 24.0, "gpu": None,
                    "os": "Linux", "git": {"sha": "abc123", "dirty": False}}}
