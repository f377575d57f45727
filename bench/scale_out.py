"""Throughput of one process against N data-parallel processes (torchrun) on this machine.

    python -m bench.scale_out --run runs/sst2-paper --out results/scale-out      # ~6 min on 2 cores

Every arm runs the product's own commands (`distill label`, `distill student`, `distill teacher`) in fresh
processes on the same slice of the run's transfer set, and reads the figures those commands record
(label.json, metrics.json): labelled sentences/s, student and teacher training examples/s. Arms on a CPU
machine: 1 process × 1 thread, 1 process × all threads, N processes × 1 thread each (gloo). Nothing else may
run meanwhile: the load average before each arm is recorded (os.getloadavg) so the table shows whether
anything did; the machine facts go to env.json beside the table, and every sentence of scale_out.md is made
from those two files.

    python -m bench.scale_out --out results/scale-out --render                  # re-render scale_out.md only
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

from distill.dist import backend
from distill.io import read_json, write_json, write_text
from distill.layout import RunLayout
from distill.runinfo import command_line, env_info

ROOT = Path(__file__).resolve().parents[1]


def arms(nproc: int, cores: int) -> list[dict]:
    return [{"name": "1 process × 1 thread", "nproc": 1, "threads": 1},
            {"name": f"1 process × {cores} threads", "nproc": 1, "threads": cores},
            {"name": f"{nproc} processes × {max(1, cores // nproc)} thread(s)", "nproc": nproc,
             "threads": max(1, cores // nproc)}]


def run(args: list[str], nproc: int, threads: int) -> float:
    """Run `python -m distill_bench ARGS` (under torchrun when nproc > 1); wall seconds including start-up."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"] \
        if nproc > 1 else [sys.executable]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
    start = time.time()
    proc = subprocess.run([*launcher, "-m", "distill_bench", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"failed: {' '.join(args)}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return time.time() - start


def measure(run_dir: Path, transfer: Path, work: Path, arm: dict, rows: int, student_steps: int,
            teacher_steps: int) -> dict:
    """One arm: `transfer` (the slice) labelled, a student and a teacher trained, each into a run-shaped
    scratch folder of its own under `work`, and the figures the commands recorded read back."""
    scratch = RunLayout(work / f"{arm['nproc']}p{arm['threads']}t")
    teacher = RunLayout(run_dir).teacher_model
    n, t = arm["nproc"], arm["threads"]
    run(["label", "--teacher", str(teacher), "--transfer", str(transfer), "--out", str(scratch.logits),
         "--chunk-size", str(max(1, rows // (8 * n))), "--batch-size", "128"], n, t)
    label = read_json(scratch.label_stats)  # the label command's figures
    student_dir = scratch.student("student")
    run(["student", "--task", "sst2", "--transfer", str(transfer), "--logits", str(scratch.logits), "--teacher",
         str(teacher), "--examples", "all", "--alpha", "0", "--embedding", "wordpiece", "--multichannel",
         "--batch-size", "50", "--epochs", str(student_steps * 50 / rows), "--eval-every", "100000",
         "--out", str(student_dir)], n, t)
    student = read_json(scratch.student_metrics("student"))  # the student command's figures
    run(["teacher", "--task", "sst2", "--train-limit", str(teacher_steps * 32), "--epochs", "1", "--batch-size", "32",
         "--eval-every", "100000", "--out", str(scratch.teacher)], n, t)
    tm = read_json(scratch.teacher_metrics)
    return {
        **arm, "teacher_model": tm.get("model"),
        "label_sentences_per_s": label["sentences_per_second"], "label_seconds": label["seconds_this_process"],
        "student_steps": student["steps"], "student_seconds": student["train_seconds"],
        "student_examples_per_s": round(student["steps"] * 50 / student["train_seconds"], 1),
        "teacher_steps": tm["global_steps"], "teacher_seconds": tm["train_seconds_this_process"],
        "teacher_examples_per_s": round(tm["n_train"] / tm["train_seconds_this_process"], 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, default=None, help="an SST-2 run folder with teacher/model and transfer.tsv")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--rows", type=int, default=4000, help="transfer-set rows labelled and trained on")
    p.add_argument("--student-steps", type=int, default=120)
    p.add_argument("--teacher-steps", type=int, default=30)
    p.add_argument("--nproc", type=int, default=None, help="processes of the data-parallel arm [cores]")
    p.add_argument("--render", action="store_true", help="only rewrite scale_out.md from the recorded JSON")
    a = p.parse_args(argv)
    if a.render:
        print(render(a.out))
        return 0
    if a.run is None:
        p.error("--run RUN_FOLDER is needed to measure (an SST-2 run with teacher/model and transfer.tsv)")
    cores = len(os.sched_getaffinity(0))
    nproc = a.nproc or cores
    results = []
    with tempfile.TemporaryDirectory(prefix="scale-out-") as tmp:
        work = Path(tmp)
        transfer = RunLayout(work).transfer  # run-shaped scratch: the first --rows rows of the run's transfer set
        with open(RunLayout(a.run).transfer, encoding="utf-8") as src, open(transfer, "w") as dst:
            for i, line in enumerate(src):
                if i > a.rows:
                    break
                dst.write(line)
        for arm in arms(nproc, cores):
            print(f"measuring {arm['name']} …", flush=True)
            load = [round(x, 2) for x in os.getloadavg()]  # 1, 5, 15 min: did anything else share the cores?
            results.append({**measure(a.run, transfer, work, arm, a.rows, a.student_steps, a.teacher_steps),
                            "load_avg_before": load})
            print(results[-1], flush=True)
    base = results[0]
    for r in results:
        for stage, k in (("label", "label_sentences_per_s"), ("student", "student_examples_per_s"),
                         ("teacher", "teacher_examples_per_s")):
            r[f"{stage}_speedup"] = round(r[k] / base[k], 2)
    env = env_info()
    conditions = {"run": str(a.run), "rows": a.rows, "student_steps": a.student_steps,
                  "teacher_steps": a.teacher_steps, "cores": cores, "backend": backend(),
                  "command": "python -m " + command_line(prog="bench.scale_out")}
    write_json(a.out / "scale_out.json", {"conditions": conditions, "arms": results})
    write_json(a.out / "env.json", env)
    table = render(a.out)
    print(table)
    return 0


def render(out: Path) -> str:
    """scale_out.md from scale_out.json and env.json (rerun alone with --render after a change of wording)."""
    data, env = read_json(out / "scale_out.json"), read_json(out / "env.json")
    c, results = data["conditions"], data["arms"]
    table = tabulate([[r["name"], r["label_sentences_per_s"], r["label_speedup"], r["student_examples_per_s"],
                       r["student_speedup"], r["teacher_examples_per_s"], r["teacher_speedup"]] for r in results],
                     headers=["arm", "label sent/s", "×", "student ex/s", "×", "teacher ex/s", "×"], tablefmt="github")
    nproc = results[-1]["nproc"]
    write_text(out / "scale_out.md", f"""# Scale-out: 1 process against {nproc} (torchrun)

{table}

× is against the first arm. Each arm runs the product's commands in fresh processes on the first {c['rows']:,}
rows of `{c['run']}/transfer.tsv` and reads the figures they record: `label` (sentences/s over the whole
labelling, batch 128, that run's fine-tuned teacher), `student` ({c['student_steps']} steps of batch 50, the
wordpiece multichannel BiLSTM, examples/s over its training loop), `teacher` ({c['teacher_steps']} steps of
batch 32 from {_teacher_name(results)}, examples/s over `Trainer.train`). One measurement per arm, no repeats.
{_load(results, c['cores'])} Backend {c['backend']}, {c['cores']} cores ({env.get('cpu')}), torch
{env.get('libraries', {}).get('torch')}, git {env.get('git', {}).get('sha')}. Command: `{c['command']}`.

{_gpu(env, c['backend'])}
""")
    return table


def _teacher_name(results: list[dict]) -> str:
    models = {r.get("teacher_model") for r in results}
    if None in models or len(models) != 1:
        return "the teacher command's default model (its name is not in scale_out.json)"
    model = Path(models.pop())
    return f"{model.parent.name if model.name == 'model' else model.name}"  # wheel folders end in <pkg>/model


def _load(results: list[dict], cores: int) -> str:
    """The load average each arm started under, as recorded; older JSON has none."""
    if any("load_avg_before" not in r for r in results):
        return "Load average before the arms: not recorded."
    loads = "; ".join(f"{r['name']}: {'/'.join(f'{x:.2f}' for x in r['load_avg_before'])}" for r in results)
    return f"Load average (1/5/15 min, os.getloadavg) before each arm, on {cores} cores — {loads}."


def _gpu(env: dict, backend_name: str) -> str:
    if env.get("gpu"):
        return (f"GPU recorded in env.json: {env['gpu']} (backend {backend_name}); the arms differ only in "
                "processes and CPU threads.")
    return f"env.json records no GPU, so every arm ran on the CPU (backend {backend_name}) and there are no GPU rows."


if __name__ == "__main__":
    raise SystemExit(main())
