"""kill -9 at several points of each long stage, then the same command again: the outputs equal those of an
uninterrupted run (same logits bits, same student weights under deterministic settings, no rows lost or
doubled), and nothing half-written is ever left where a finished output belongs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from distill.augment import AugmentConfig, build_transfer_set
from distill.data import get_task

ROOT = Path(__file__).resolve().parents[1]
# one thread: the same kernels in every run, so "equal" can mean bit for bit
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}


def command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "distill_bench", *args]


def finish(args: list[str]) -> None:
    proc = subprocess.run(command(args), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def kill_when(args: list[str], ready: Callable[[], bool], timeout: float = 300) -> None:
    """Start the command and SIGKILL it the moment `ready()` holds; the point must come before it ends."""
    proc = subprocess.Popen(command(args), cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while proc.poll() is None and time.time() < deadline:
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"the command ended before the kill point: {args}")


def rewritten(path: Path, times: int) -> Callable[[], bool]:
    """True once `path` has been replaced `times` times since the command started (a later checkpoint)."""
    seen = [path.stat().st_mtime_ns if path.exists() else None]

    def ready() -> bool:
        now = path.stat().st_mtime_ns if path.exists() else None
        if now != seen[-1]:
            seen.append(now)
        return len(seen) > times
    return ready


def exists(path: Path) -> Callable[[], bool]:
    return path.exists


def test_labelling_killed_twice_gives_the_same_logits(tiny_teacher, tmp_path):
    transfer = tmp_path / "transfer.tsv"
    build_transfer_set(get_task("sst2"), transfer, AugmentConfig(n_iter=4, train_limit=400), progress=False,
                       workers=1)
    args = lambda out: ["label", "--teacher", str(tiny_teacher), "--transfer", str(transfer), "--out", str(out),
                        "--chunk-size", "150", "--batch-size", "16"]
    finish(args(tmp_path / "whole"))
    killed = tmp_path / "killed"
    kill_when(args(killed), exists(killed / "chunk_00000.npy"))  # right after the first chunk
    kill_when(args(killed), exists(killed / "chunk_00003.npy"))  # again, later
    assert not (killed / "logits.npy").exists()
    finish(args(killed))
    whole, resumed = np.load(tmp_path / "whole" / "logits.npy"), np.load(killed / "logits.npy")
    assert whole.shape == resumed.shape and np.array_equal(whole, resumed)
    stats = json.loads((killed / "label.json").read_text())
    assert stats["labelled_this_process"] < stats["n"]  # the last run resumed, it did not start over


STUDENT = ["student", "--task", "sst2", "--embedding", "random", "--embed-dim", "16", "--hidden", "16", "--fc", "16",
           "--dropout", "0.3", "--batch-size", "8", "--epochs", "2", "--train-limit", "240", "--max-length", "24",
           "--eval-every", "5", "--examples", "original", "--alpha", "1"]


def test_student_killed_at_several_points_ends_with_the_same_weights(tmp_path):
    transfer = tmp_path / "transfer.tsv"
    build_transfer_set(get_task("sst2"), transfer, AugmentConfig(n_iter=0, train_limit=240), progress=False,
                       workers=1)
    args = lambda out: [*STUDENT, "--transfer", str(transfer), "--out", str(out)]
    finish(args(tmp_path / "whole"))
    killed = tmp_path / "killed"
    kill_when(args(killed), exists(killed / "state.pt"))  # just after the first checkpoint (step 5)
    kill_when(args(killed), rewritten(killed / "state.pt", 2))  # resumed at step 5, killed after step 15
    assert not (killed / "metrics.json").exists()
    finish(args(killed))
    whole, resumed = load_file(str(tmp_path / "whole" / "model.safetensors")), load_file(str(killed /
                                                                                          "model.safetensors"))
    assert all(np.array_equal(whole[k], resumed[k]) for k in whole)  # dropout 0.3: the RNG was restored too
    m1, m2 = (json.loads((p / "metrics.json").read_text()) for p in (tmp_path / "whole", killed))
    assert m1["accuracy"] == m2["accuracy"] and m1["steps"] == m2["steps"] == 60
    assert [h["dev_accuracy"] for h in m1["history"]] == [h["dev_accuracy"] for h in m2["history"]]
    assert not (killed / "state.pt").exists()


def test_teacher_killed_after_a_checkpoint_ends_with_the_same_weights(tiny_teacher, tmp_path):
    args = lambda out: ["teacher", "--task", "sst2", "--model", str(tiny_teacher), "--train-limit", "192",
                        "--epochs", "2", "--batch-size", "16", "--max-length", "32", "--eval-every", "6",
                        "--out", str(out)]
    finish(args(tmp_path / "whole"))
    killed = tmp_path / "killed"
    kill_when(args(killed), exists(killed / "checkpoints" / "checkpoint-12" / "trainer_state.json"))
    assert not (killed / "metrics.json").exists() and not (killed / "model").exists()
    finish(args(killed))
    whole = load_file(str(tmp_path / "whole" / "model" / "model.safetensors"))
    resumed = load_file(str(killed / "model" / "model.safetensors"))
    worst = max(float(np.abs(whole[k] - resumed[k]).max()) for k in whole)
    assert worst == 0.0, worst
    m1, m2 = (json.loads((p / "metrics.json").read_text()) for p in (tmp_path / "whole", killed))
    assert m1["dev_accuracy"] == m2["dev_accuracy"] and m1["global_steps"] == m2["global_steps"] == 24


def test_export_killed_midway_resumes_and_keeps_its_record(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    args = ["export", str(run), "--models", "tiny-s0", "--targets", "onnx,onnx-int8,ort-mobile,torchscript"]
    kill_when(args, exists(run / "export" / "export.json"))  # written after each target: killed after the first
    record = json.loads((run / "export" / "export.json").read_text())
    assert [(o["target"], o["status"]) for o in record["outcomes"]][:1] == [("onnx", "ok")]
    for target in ("onnx-int8", "ort-mobile", "torchscript"):  # never a half-built artifact in place
        assert not (run / "export" / "tiny-s0" / target).exists() or \
            (run / "export" / "tiny-s0" / target / "manifest.json").is_file()
    finish(args)
    assert not list((run / "export" / "tiny-s0").glob(".*.tmp"))  # the killed build's temporary is cleared
    outcomes = json.loads((run / "export" / "export.json").read_text())["outcomes"]
    assert {o["target"]: o["status"] for o in outcomes} == {t: "ok" for t in ("onnx", "onnx-int8", "ort-mobile",
                                                                              "torchscript")}
    assert next(o for o in outcomes if o["target"] == "onnx").get("reused")  # kept, not built again
