"""results/byo/finetuned.md: a teacher fine-tuned by a separate command and handed to the pipeline as
`finetuned`, against the same teacher trained inside the pipeline (the quick preset's settings).

    python -m tests.byo --runs runs --out results/byo

Runs four commands (about 15 min on 2 CPU cores): `distill-bench teacher` with the quick preset's teacher
settings; `pipeline --preset quick` (teacher trained inside); and `pipeline` on the quick preset with
`[teacher] finetuned` pointing at the pipeline's own teacher folder, then at the separately trained one. Then
compares the logits and the students' dev accuracies, and shows the stage records that explain the comparison.
Finished stages are skipped on a rerun, so it continues where it stopped.
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
    inside = args.runs / "byo-inside"
    runs = {"inside": inside}
    for run_id, folder in (("byo-handin", inside / "teacher" / "model"), ("byo-finetuned", teacher / "model")):
        config = args.runs / f"{run_id}.toml"
        config.write_text((PRESETS / "quick.toml").read_text().replace(
            "[teacher]\n", f'[teacher]\nfinetuned = "{folder.resolve()}"\n', 1))
        run("pipeline", "--config", str(config), "--runs", str(args.runs), "--run-id", run_id)
        runs[run_id] = args.runs / run_id

    def facts(d: Path) -> dict:
        ab = json.loads((d / "ablation.json").read_text())
        return {"transfer set sha256": file_sha256(d / "transfer.tsv"),
                "logits.npy sha256": file_sha256(d / "logits" / "logits.npy"),
                **{f"{r['name']} (seed {r['seed']}) dev accuracy": r["accuracy"] for r in ab["rows"]}}

    cols = {k: facts(d) for k, d in runs.items()}
    rows = [f"| teacher folder sha256 | `{folder_sha256(inside / 'teacher' / 'model')[:16]}…` (trained here) | "
            f"`{folder_sha256(inside / 'teacher' / 'model')[:16]}…` (the same folder) | "
            f"`{folder_sha256(teacher / 'model')[:16]}…` (trained by `distill-bench teacher`) |"]
    for key in cols["inside"]:
        cells = [cols[k][key] for k in ("inside", "byo-handin", "byo-finetuned")]
        show = [f"`{c[:16]}…`" if isinstance(c, str) else f"{c:.4f}" for c in cells]
        same = ["" if c == cells[0] else " (differs)" for c in cells]
        rows.append(f"| {key} | {show[0]} | {show[1]}{same[1]} | {show[2]}{same[2]} |")
    rec_in, rec_ad = (json.loads((runs[k] / "teacher" / "record.json").read_text())
                      for k in ("inside", "byo-handin"))
    lab_in, lab_ad = (json.loads((runs[k] / "logits" / "record.json").read_text())
                      for k in ("inside", "byo-handin"))
    md = ["# A teacher fine-tuned elsewhere, handed in as `finetuned`", "",
          f"Made by `python -m tests.byo --runs {args.runs} --out {args.out}` (the quick preset's scale). Three runs "
          "of the quick preset: its pipeline training the teacher itself (`byo-inside`); the same pipeline handed that "
          "teacher folder as `[teacher] finetuned` (`byo-handin`); and handed a teacher trained with the same "
          "settings by a separate `distill-bench teacher` command (`byo-finetuned`).", "",
          "| | trained inside (`byo-inside`) | handed in: the same folder (`byo-handin`) | handed in: trained by a "
          "separate command (`byo-finetuned`) |", "|---|---|---|---|", *rows, "",
          "## Why (the stage records)", "",
          f"- `byo-inside` teacher record: inputs {sorted(rec_in['inputs'])}; `byo-handin`: inputs "
          f"{sorted(rec_ad['inputs'])}, settings {json.dumps(rec_ad['settings']['teacher'], sort_keys=True)}.",
          f"- Both logits records read the teacher folder `{lab_in['inputs']['teacher'][:16]}…` / "
          f"`{lab_ad['inputs']['teacher'][:16]}…` and the transfer set `{lab_in['inputs']['transfer'][:16]}…` / "
          f"`{lab_ad['inputs']['transfer'][:16]}…`: the adopted copy holds the same weights and tokenizer "
          "(re-saved, with the task's label names and the stated length), so labelling reads the same model on the "
          "same rows and every student the same logits with the same seeds.",
          "- The teacher trained by a separate command has other weights: fine-tuning on this 2-core CPU is not "
          "bit-reproducible between processes (same settings and seed, different teacher folder sha256 and dev "
          "accuracy), so its logits and the students that read them differ. Handing in a folder is exact; "
          "training twice is not.", ""]
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "finetuned.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
