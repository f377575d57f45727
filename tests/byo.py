"""results/byo/finetuned.md: a teacher fine-tuned by a separate command and handed to the pipeline as
`finetuned`, against the same teacher trained inside the pipeline (the quick preset's settings).

    python -m tests.byo --runs runs --out results/byo

Runs three commands (about 10 min on 2 CPU cores): `distill-bench teacher` with the quick preset's teacher
settings, `pipeline --preset quick` (teacher trained inside), and `pipeline` on the quick preset with
`[teacher] finetuned` pointing at the first teacher. Then compares the teachers' weights, the logits and the
students' dev accuracies, and shows the stage records that explain the comparison.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from pathlib import Path

from distill.io import file_sha256, write_text
from distill.record import folder_sha256
from distill.run_config import PRESETS


def run(*args: str) -> None:
    print("$ distill-bench " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "distill_bench", *args], check=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=Path, default=Path("runs"))
    p.add_argument("--out", type=Path, default=Path("results/byo"))
    args = p.parse_args(argv)
    quick = tomllib.loads((PRESETS / "quick.toml").read_text())
    teacher = args.runs / "byo-teacher"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in quick["teacher"].items()]
    run("teacher", "--task", "sst2", *flags, "--out", str(teacher))
    run("pipeline", "--preset", "quick", "--runs", str(args.runs), "--run-id", "byo-inside")
    config = args.runs / "byo-finetuned.toml"
    text = (PRESETS / "quick.toml").read_text().replace(
        "[teacher]\n", f'[teacher]\nfinetuned = "{(teacher / "model").resolve()}"\n', 1)
    config.write_text(text)
    run("pipeline", "--config", str(config), "--runs", str(args.runs), "--run-id", "byo-finetuned")
    inside, adopted = args.runs / "byo-inside", args.runs / "byo-finetuned"
    rows = []
    for name, a, b in (("teacher weights (model folder sha256)", folder_sha256(teacher / "model"),
                        folder_sha256(inside / "teacher" / "model")),
                       ("transfer set sha256", file_sha256(inside / "transfer.tsv"), file_sha256(adopted /
                                                                                                  "transfer.tsv")),
                       ("logits.npy sha256", file_sha256(inside / "logits" / "logits.npy"),
                        file_sha256(adopted / "logits" / "logits.npy"))):
        rows.append(f"| {name} | `{a[:16]}…` | `{b[:16]}…` | {'equal' if a == b else 'DIFFERENT'} |")
    ab_in, ab_ad = (json.loads((d / "ablation.json").read_text()) for d in (inside, adopted))
    for r_in, r_ad in zip(ab_in["rows"], ab_ad["rows"]):
        rows.append(f"| {r_in['name']} (seed {r_in['seed']}) dev accuracy | {r_in['accuracy']:.4f} | "
                    f"{r_ad['accuracy']:.4f} | {'equal' if r_in['accuracy'] == r_ad['accuracy'] else 'DIFFERENT'} |")
    rec_in, rec_ad = (json.loads((d / "teacher" / "record.json").read_text()) for d in (inside, adopted))
    md = ["# A teacher fine-tuned elsewhere, handed in as `finetuned`", "",
          f"Made by `python -m tests.byo --runs {args.runs} --out {args.out}`. Left: the quick preset's pipeline "
          "trains its teacher itself (run `byo-inside`). Right: the same settings trained by a separate `distill-bench "
          "teacher` command, handed to the quick preset's pipeline as `[teacher] finetuned` (run `byo-finetuned`).",
          "", "| what | teacher trained inside | teacher handed in | |", "|---|---|---|---|", *rows, "",
          "## Why they agree (the stage records)", "",
          f"- trained inside: stage `{rec_in['stage']}`, inputs {sorted(rec_in['inputs'])}, settings "
          f"{json.dumps(rec_in['settings']['teacher'], sort_keys=True)}",
          f"- handed in: stage `{rec_ad['stage']}`, inputs {sorted(rec_ad['inputs'])} (finetuned_model "
          f"`{rec_ad['inputs']['finetuned_model'][:16]}…`), settings "
          f"{json.dumps(rec_ad['settings']['teacher'], sort_keys=True)}",
          "- the logits records of both runs name the teacher folder's sha256 and the transfer set's; where both "
          "are equal, labelling reads the same model on the same rows, and every student reads the same logits "
          "with the same seeds.", ""]
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "finetuned.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
