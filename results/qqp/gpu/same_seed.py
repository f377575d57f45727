"""The same student seed trained on the CPU and on the GPU: `python results/qqp/gpu/same_seed.py`.

bilstm-kd-s2 with the same settings and inputs was trained on the 2-core CPU machine (results/qqp-cpu-kd-s2) and
on the lent H200 (results/qqp). Dropout draws from another generator on CUDA, and the kernels round differently,
so the two runs diverge after the first evaluations. The gap between them shows how much seed-2 figures depend on
the hardware they trained on. It prints both accuracies and F1s, the paired 95% CI of the gap (the ablation's
bootstrap, on the same 8,086 dev pairs), and how often the two predict the same class."""

import sys
from pathlib import Path

import numpy as np

from distill.data import load_split
from distill.io import read_json
from distill.layout import RunLayout
from distill.metrics import paired_gap
from distill.predictions import dev_predictions

RESULTS = Path(__file__).resolve().parents[2]
FOLDER = "bilstm-kd-s2"


def kept(run: RunLayout, folder: str) -> np.ndarray:
    """A published student's kept dev predictions (its weights are not committed)."""
    return dev_predictions(run.student(folder), run.student_predictions(folder), run.task(),
                           read_json(run.student_metrics(folder))["accuracy"])


def main() -> int:
    gpu, cpu = RunLayout(RESULTS / "qqp"), RunLayout(RESULTS / "qqp-cpu-kd-s2")
    labels = np.asarray(load_split(gpu.task(), "dev")["label"])
    pred = {}
    for name, run in (("gpu", gpu), ("cpu", cpu)):
        pred[name] = kept(run, FOLDER)
        m = read_json(run.student_metrics(FOLDER))
        print(f"{name}: {m['device']}, accuracy {m['accuracy']:.4f}, F1 {m['f1']:.4f}, stopped at step {m['steps']}, "
              f"best at {m['stopped']['best_step']}")
    acc = paired_gap([pred["gpu"] == labels], [pred["cpu"] == labels])
    f1 = paired_gap([pred["gpu"]], [pred["cpu"]], labels=labels)
    print(f"gpu − cpu: accuracy {100 * acc['gap']:+.2f} points [{100 * acc['ci95'][0]:+.2f}, "
          f"{100 * acc['ci95'][1]:+.2f}], F1 {100 * f1['gap']:+.2f} [{100 * f1['ci95'][0]:+.2f}, "
          f"{100 * f1['ci95'][1]:+.2f}]; same class on {100 * (pred['gpu'] == pred['cpu']).mean():.1f}% of dev pairs")
    # for scale: how often two different seeds of the row agree
    others = {f"bilstm-kd-s{i}": kept(gpu, f"bilstm-kd-s{i}") for i in (0, 1)} | {
        "bilstm-kd-s2 (gpu)": pred["gpu"], "bilstm-kd-s2 (cpu)": pred["cpu"]}
    names = list(others)
    print("other seed pairs, same class on: " + ", ".join(
        f"{a} ~ {b} {100 * (others[a] == others[b]).mean():.1f}%" for i, a in enumerate(names) for b in names[i + 1:]
        if "s2" not in a or "s2" not in b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
