"""Every way an output can go stale, what the user sees, and what --force redoes.

    python -m tests.staleness --out results/staleness.md      # the table (~3 min, tiny random models)

One list of cases serves the table and tests/test_staleness.py. A baseline workspace (tiny data files, a tiny
random BERT, a pipeline run and a chain of stage-command outputs) is made once; each case copies it, changes
one thing (a setting, a data file's content, the teacher's weights, the transfer set, the logits …), reruns the
real command line in this process and records:
- the line the user sees (exit 2), and that every output in the workspace is byte-identical afterwards;
- the same command with --force: which outputs were redone (their record was rewritten) — it must be exactly
  the changed stage and the stages that read its output — and that every other output was kept.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PIPELINE = ["pipeline", "--config", "run.toml", "--runs", "runs", "--run-id", "r"]
RUN = "runs/r"
CONFIG = """
[run]
task = "sst2"
train = "data/train.tsv"
dev = "data/dev.tsv"

[teacher]
model = "teacher-base"
train_limit = 120
epochs = 1.0
batch_size = 16
max_length = 32
eval_every = 100

[augment]
n_iter = 1
train_limit = 120

[label]
chunk_size = 100
batch_size = 64

[student_defaults]
embedding = "random"
embed_dim = 8
hidden = 4
fc = 4
batch_size = 25
epochs = 1.0
eval_every = 100

[students.plain]
examples = "original"
alpha = 1.0

[students.kd]
examples = "all"
"""
TASK = ["--task", "sst2", "--train", "data/train.tsv", "--dev", "data/dev.tsv"]
STAGE_TEACHER = ["teacher", *TASK, "--model", "teacher-base", "--epochs", "1", "--batch-size", "16",
                 "--max-length", "32", "--eval-every", "100", "--out", "stage/teacher"]
STAGE_AUGMENT = ["augment", *TASK, "--n-iter", "1", "--workers", "1", "--out", "stage/transfer.tsv"]
STAGE_LABEL = ["label", "--teacher", "stage/teacher/model", "--transfer", "stage/transfer.tsv", "--chunk-size", "100",
               "--out", "stage/logits"]
EXPORT = ["export", RUN, "--models", "kd-s0", "--targets", "onnx,onnx-int8"]
BENCH = ["bench", "--run-dir", RUN, "--results-root", "results", "--run-id", "b", "--benchmark-disable", "--threads",
         "1", "--batch-sizes", "1", "--references", "none", "--targets", "onnx,onnx-int8", "--dev-limit", "20",
         "--min-rounds", "3", "-k", "not footprint and not loadgen and not matmul"]
STAGE_STUDENT = ["student", *TASK, "--transfer", "stage/transfer.tsv", "--logits", "stage/logits", "--embedding",
                 "random", "--embed-dim", "8", "--hidden", "4", "--fc", "4", "--batch-size", "25", "--epochs", "1",
                 "--eval-every", "100", "--out", "stage/student"]
# every stage output of the workspace; a case says which of them --force must redo
OUTPUTS = {
    "teacher": f"{RUN}/teacher", "transfer": f"{RUN}/transfer.tsv", "logits": f"{RUN}/logits",
    "plain": f"{RUN}/students/plain-s0", "kd": f"{RUN}/students/kd-s0",
    "stage teacher": "stage/teacher", "stage transfer": "stage/transfer.tsv", "stage logits": "stage/logits",
    "stage student": "stage/student",
    "onnx": f"{RUN}/export/kd-s0/onnx", "onnx-int8": f"{RUN}/export/kd-s0/onnx-int8", "bench": "results/b",
}
PIPELINE_ALL = ("teacher", "transfer", "logits", "plain", "kd")


def make_workspace(root: Path, teacher: Path) -> Path:
    """Tiny data files, the tiny BERT as the base model, one pipeline run and one chain of stage commands."""
    from distill.data import get_task

    sst2 = get_task("sst2")
    (root / "data").mkdir(parents=True)
    for split, n in (("train", 120), ("dev", 60)):
        lines = sst2.path(split).read_text(encoding="utf-8").splitlines(keepends=True)
        (root / "data" / f"{split}.tsv").write_text("".join(lines[:n + 1]), encoding="utf-8")
    shutil.copytree(teacher, root / "teacher-base")
    (root / "run.toml").write_text(CONFIG)
    with _inside(root):
        for argv in (PIPELINE, STAGE_TEACHER, STAGE_AUGMENT, STAGE_LABEL, STAGE_STUDENT, EXPORT, BENCH):
            code, shown = run_cli(argv)
            if code:
                raise RuntimeError(f"baseline {' '.join(argv)} failed: {shown}")
    return root


@contextlib.contextmanager
def _inside(folder: Path):
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def run_cli(argv: list[str]) -> tuple[int, str]:
    """The command line in this process; `pytest bench` in a child process, as a user runs it."""
    from distill_bench import main

    if argv[0] == "bench":
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1",
               "PYTHONPATH": str(root)}
        args = [str(Path.cwd() / a) if a in (RUN, "results") else a for a in argv[1:]]
        proc = subprocess.run([sys.executable, "-m", "pytest", str(root / "bench"), "-p", "no:cacheprovider", "-q",
                               *args], capture_output=True, text=True, env=env)  # data paths are relative to here
        err = proc.stderr[proc.stderr.find("ERROR:"):] if "ERROR:" in proc.stderr else proc.stderr[-2000:]
        shown = err.strip() if proc.returncode else proc.stdout[-2000:]
        return (2 if proc.returncode == 4 else proc.returncode), shown  # pytest's usage error is its exit 4
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue().strip() or out.getvalue().strip()


# ---------------------------------------------------------------------------------------------- changes


def edit(path: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        p = root / path
        text = p.read_text(encoding="utf-8")
        assert old in text, (path, old)
        p.write_text(text.replace(old, new, count), encoding="utf-8")
    return change


def rows_edited(path: str) -> Callable[[Path], None]:
    """A data file edited in place: its second row gets one more word."""
    def change(root: Path) -> None:
        p = root / path
        lines = p.read_text(encoding="utf-8").splitlines(keepends=True)
        text, label = lines[2].rstrip("\n").split("\t")
        lines[2] = f"{text} indeed\t{label}\n"
        p.write_text("".join(lines), encoding="utf-8")
    return change


def teacher_weights_changed(root: Path, folder: str = "teacher-base") -> None:
    """The base model's weights are another model's (same architecture, other values)."""
    import torch
    from safetensors.torch import load_file, save_file

    path = root / folder / "model.safetensors"
    state = load_file(str(path))
    name = next(k for k in state if k.endswith("word_embeddings.weight"))
    state[name] = state[name] + 0.01 * torch.ones_like(state[name])
    save_file(state, str(path), metadata={"format": "pt"})


def logits_replaced(folder: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        import numpy as np

        p = root / folder / "logits.npy"
        logits = np.load(p)
        np.save(p, logits[:, ::-1].copy())  # another teacher's opinion
    return change


def transfer_edited(path: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        p = root / path
        lines = p.read_text(encoding="utf-8").splitlines(keepends=True)
        fields = lines[-1].split("\t")
        fields[0] += " again"
        lines[-1] = "\t".join(fields)
        p.write_text("".join(lines), encoding="utf-8")
    return change


def other_transfer(root: Path) -> None:
    """other.tsv: the stage transfer set with its last row changed (same rows, so its logits still fit)."""
    shutil.copy2(root / "stage/transfer.tsv", root / "other.tsv")
    transfer_edited("other.tsv")(root)


def other_base_model(root: Path) -> None:
    shutil.copytree(root / "teacher-base", root / "teacher-other")
    teacher_weights_changed(root, "teacher-other")


def swap_arg(argv: list[str], flag: str, value: str) -> list[str]:
    out = list(argv)
    if flag in out:
        out[out.index(flag) + 1] = value
    else:
        out[-2:-2] = [flag, value]  # before --out
    return out


# ---------------------------------------------------------------------------------------------- cases


@dataclass
class Case:
    stage: str  # the stage whose output the changed thing makes stale
    changed: str  # what the user changed
    change: Callable[[Path], None]
    argv: list[str]  # the command the user runs again
    expect: str  # a fragment of the line the user sees
    redone: tuple[str, ...]  # the outputs (keys of OUTPUTS) --force must redo; every other one is kept
    note: str = ""  # why --force redid what it did, where that is not plain


CASES = [
    Case("teacher", "[run] task: sst2 → qqp (the task's own files)",
         edit("run.toml", 'task = "sst2"\ntrain = "data/train.tsv"\ndev = "data/dev.tsv"', 'task = "qqp"'), PIPELINE,
         "settings.task.name: 'sst2' → 'qqp'", PIPELINE_ALL),
    Case("teacher", "train data file edited in place (one row)", rows_edited("data/train.tsv"), PIPELINE,
         "inputs.data.train:", PIPELINE_ALL),
    Case("teacher", "dev data file edited in place (one row)", rows_edited("data/dev.tsv"), PIPELINE,
         "inputs.data.dev:", ("teacher", "plain", "kd")),
    Case("teacher", "base model weights changed (same folder)", teacher_weights_changed, PIPELINE,
         "inputs.base_model:", ("teacher", "logits", "kd")),
    Case("teacher", "[teacher] lr 5e-5 → 3e-5", edit("run.toml", "epochs = 1.0\nbatch_size = 16",
                                                    "lr = 3e-5\nepochs = 1.0\nbatch_size = 16"), PIPELINE,
         "settings.teacher.lr: 5e-05 → 3e-05", ("teacher", "logits", "kd")),
    Case("teacher", "[teacher] epochs 1 → 2", edit("run.toml", "epochs = 1.0\nbatch_size = 16",
                                                  "epochs = 2.0\nbatch_size = 16"), PIPELINE,
         "settings.teacher.epochs: 1.0 → 2.0", ("teacher", "logits", "kd")),
    Case("teacher", "[teacher] max_length 32 → 16 (labelling follows it)",
         edit("run.toml", "max_length = 32", "max_length = 16"), PIPELINE,
         "settings.teacher.max_length: 32 → 16", ("teacher", "logits", "kd")),
    Case("augment", "[augment] p_mask 0.1 → 0.3", edit("run.toml", "n_iter = 1", "n_iter = 1\np_mask = 0.3"),
         PIPELINE, "settings.augment.p_mask: 0.1 → 0.3", ("transfer", "logits", "plain", "kd")),
    Case("augment", "[augment] p_pos 0.1 → 0.0", edit("run.toml", "n_iter = 1", "n_iter = 1\np_pos = 0.0"),
         PIPELINE, "settings.augment.p_pos: 0.1 → 0.0", ("transfer", "logits", "plain", "kd")),
    Case("augment", "[augment] n_iter 1 → 2", edit("run.toml", "n_iter = 1", "n_iter = 2"), PIPELINE,
         "settings.augment.n_iter: 1 → 2", ("transfer", "logits", "plain", "kd")),
    Case("augment", "transfer set edited by hand", transfer_edited(f"{RUN}/transfer.tsv"), PIPELINE,
         "output_sha256:", ("transfer",), note="--force remakes the file its settings make, the one the logits and "
         "students were made from, so they are kept"),
    Case("label", "[label] max_length set to 8 (was the teacher's 32)",
         edit("run.toml", "chunk_size = 100", "chunk_size = 100\nmax_length = 8"), PIPELINE,
         "settings.max_length: 32 → 8", ("logits", "kd")),
    Case("label", "logits replaced by hand", logits_replaced(f"{RUN}/logits"), PIPELINE, "output_sha256:",
         ("logits",), note="--force relabels: the same logits the kd student was trained on, so it is kept"),
    Case("student", "[students.kd] hidden 4 → 6", edit("run.toml", '[students.kd]\nexamples = "all"',
                                                      '[students.kd]\nexamples = "all"\nhidden = 6'), PIPELINE,
         "settings.student.hidden: 4 → 6", ("kd",)),
    Case("student", "[students.kd] loss mse → kl", edit("run.toml", '[students.kd]\nexamples = "all"',
                                                       '[students.kd]\nexamples = "all"\nloss = "kl"'), PIPELINE,
         "settings.student.loss: 'mse' → 'kl'", ("kd",)),
    Case("student", "[students.kd] alpha 0 → 0.5", edit("run.toml", '[students.kd]\nexamples = "all"',
                                                       '[students.kd]\nexamples = "all"\nalpha = 0.5'), PIPELINE,
         "settings.student.alpha: 0.0 → 0.5", ("kd",)),
    Case("student", "[students.plain] dropout 0.1 → 0.3", edit("run.toml", "alpha = 1.0", "alpha = 1.0\ndropout = 0.3"),
         PIPELINE, "settings.student.dropout: 0.1 → 0.3", ("plain",)),
    Case("student", "student folder edited by hand (weights file)", lambda root: (
        root / f"{RUN}/students/kd-s0/model.safetensors").write_bytes(
        (root / f"{RUN}/students/plain-s0/model.safetensors").read_bytes()), PIPELINE, "output_sha256:", ("kd",)),
    Case("teacher", "`teacher --out` again with --lr 3e-5", lambda root: None,
         swap_arg(STAGE_TEACHER, "--lr", "3e-5"), "settings.teacher.lr: 5e-05 → 3e-05", ("stage teacher",)),
    Case("teacher", "`teacher --out` again with another base model", other_base_model,
         swap_arg(STAGE_TEACHER, "--model", "teacher-other"), "inputs.base_model:", ("stage teacher",)),
    Case("augment", "`augment --out` again with --p-ng 0.5", lambda root: None,
         swap_arg(STAGE_AUGMENT, "--p-ng", "0.5"), "settings.augment.p_ng: 0.25 → 0.5", ("stage transfer",)),
    Case("augment", "`augment --out` again with --seed 1", lambda root: None,
         swap_arg(STAGE_AUGMENT, "--seed", "1"), "settings.augment.seed: 0 → 1", ("stage transfer",)),
    Case("label", "`label --out` again with another teacher (the untrained base model)", lambda root: None,
         swap_arg(STAGE_LABEL, "--teacher", "teacher-base"), "inputs.teacher:", ("stage logits",)),
    Case("label", "`label --out` again with another transfer set (one row differs)", other_transfer,
         swap_arg(STAGE_LABEL, "--transfer", "other.tsv"), "inputs.transfer:", ("stage logits",)),
    Case("label", "`label --out` again with --max-length 16", lambda root: None,
         swap_arg(STAGE_LABEL, "--max-length", "16"), "settings.max_length: 32 → 16", ("stage logits",)),
    Case("student", "`student --out` again with --hidden 6", lambda root: None,
         swap_arg(STAGE_STUDENT, "--hidden", "6"), "settings.student.hidden: 4 → 6", ("stage student",)),
    Case("student", "`student --out` again with other logits (the pipeline's)", lambda root: None,
         swap_arg(STAGE_STUDENT, "--logits", f"{RUN}/logits"), "inputs.logits:", ("stage student",)),
    Case("student", "`student --out` again with another transfer set (one row differs)", other_transfer,
         swap_arg(STAGE_STUDENT, "--transfer", "other.tsv"), "inputs.transfer:", ("stage student",)),
    Case("export", "`export` again with --per-channel", lambda root: None, [*EXPORT, "--per-channel"],
         "settings.options.per_channel: False → True", ("onnx-int8",)),  # fp32 onnx does not read it
    Case("export", "`export` again with --min-agreement 0.995 (an int8 gate)", lambda root: None,
         [*EXPORT, "--min-agreement", "0.995"], "settings.gates.argmax_agreement: 0.98 → 0.995", ("onnx-int8",)),
    Case("export", "the student's weights changed after export", lambda root: (
        root / f"{RUN}/students/kd-s0/model.safetensors").write_bytes(
        (root / f"{RUN}/students/plain-s0/model.safetensors").read_bytes()), EXPORT, "inputs.checkpoint:",
         ("onnx", "onnx-int8")),
    Case("bench", "`pytest bench` again with --min-rounds 5", lambda root: None,
         [*BENCH[:BENCH.index("--min-rounds") + 1], "5", *BENCH[BENCH.index("--min-rounds") + 2:]],
         "settings.min_rounds: 3 → 5", ("bench",)),
    Case("bench", "an artifact re-exported since (onnx-int8 per channel)", lambda root: run_cli(
        [*EXPORT[:-1], "onnx-int8", "--per-channel", "--force"]), BENCH, "inputs.kd-s0/onnx-int8:", ("bench",)),
]


# ---------------------------------------------------------------------------------------------- running


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of every output (records included), by content."""
    files = {}
    for rel in OUTPUTS.values():
        path = root / rel
        paths = [path, path.with_name(path.stem + ".record.json"), path.with_suffix(".json")] if path.suffix else \
            sorted(p for p in path.rglob("*") if p.is_file())
        for p in paths:
            if p.is_file():
                files[str(p.relative_to(root))] = p.read_bytes()
    return files


def record_of(root: Path, key: str) -> bytes | None:
    from distill.record import record_path

    p = record_path(root / OUTPUTS[key])
    return p.read_bytes() if p.is_file() else None


def run_case(case: Case, baseline: Path, scratch: Path) -> dict:
    """Refused without --force (and nothing touched), then redone with it: what the user sees and what moved."""
    root = scratch / "case"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(baseline, root)
    with _inside(root):
        case.change(root)
        before = snapshot(root)
        records = {k: record_of(root, k) for k in OUTPUTS}
        code, shown = run_cli(case.argv)
        untouched = snapshot(root) == before
        forced_code, forced_shown = run_cli([*case.argv, "--force"])
        redone = tuple(k for k in OUTPUTS if record_of(root, k) != records[k])
    lines = shown.splitlines()
    return {"exit": code, "shown": shown, "first_line": lines[0] if lines else "",
            "difference": next((line.strip() for line in lines if case.expect in line), ""),
            "untouched": untouched, "forced_exit": forced_code, "forced_shown": forced_shown, "redone": redone}


def render(rows: list[tuple[Case, dict]]) -> str:
    out = ["# Stale outputs: what a rerun refuses, and what --force redoes", "",
           "Made by `python -m tests.staleness --out results/staleness.md` (tiny random models; the same cases run",
           "in `tests/test_staleness.py`). Each case starts from one workspace: a pipeline run `runs/r` (teacher,",
           "transfer set, logits, students `plain` (hard labels, original sentences) and `kd` (teacher logits, whole",
           "transfer set)), one chain of stage commands under `stage/`, the kd student's `onnx` and `onnx-int8`",
           "artifacts and a bench run of them (`results/b`). It changes one thing, runs the command again, and",
           "shows the line that names the difference (exit 2); *untouched* says every file of every output is",
           "byte-identical afterwards. Then the same command with `--force`: *redone* lists the outputs whose record",
           "was rewritten; every other output was kept as it was. The rule is in `distill/record.py`. The pipeline",
           "does not export or bench: after it redoes a student, `export` refuses that student's old artifacts, and",
           "`pytest bench` the results measured on them, until each is run with `--force` (the export and bench",
           "cases).",
           "",
           f"{len(rows)} cases.", "",
           "| # | stage | changed | exit | the line that names it | untouched | --force redid | kept |",
           "|---|---|---|---|---|---|---|---|"]
    for i, (case, r) in enumerate(rows, 1):
        kept = [k for k in OUTPUTS if k not in r["redone"]]
        cell = lambda s: s.replace("|", "\\|").replace("`", "'")  # noqa: E731
        changed = cell(case.changed) + (f" *({cell(case.note)})*" if case.note else "")
        out.append(f"| {i} | {case.stage} | {changed} | {r['exit']} | `{cell(r['difference'])}` | "
                   f"{'yes' if r['untouched'] else '**no**'} | {', '.join(r['redone']) or '–'} | "
                   f"{', '.join(kept)} |")
    if rows:
        out += ["", "What the user sees in full, for the first case:", "", "```",
                *rows[0][1]["shown"].splitlines(), "```", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    from distill.io import write_text
    from tests.tiny import make_tiny_teacher

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="staleness-") as tmp:
        tmp = Path(tmp)
        with contextlib.redirect_stdout(io.StringIO()):
            teacher = make_tiny_teacher(tmp / "tiny-bert")
            baseline = make_workspace(tmp / "baseline", teacher)
        rows = []
        for case in CASES:
            print(f"{case.stage}: {case.changed}", file=sys.stderr)
            rows.append((case, run_case(case, baseline, tmp)))
    write_text(args.out, render(rows))
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
