"""results/byo/imported.md: an ONNX classifier made by another tool — a plain `torch.onnx.export` of the run's
teacher with its own input names (tok, attn, seg) — imported into a run, benchmarked beside the run's own
artifacts in one bench run, and put through `ship` for a passing and a failing budget.

    python -m tests.byo_import --run runs/byo-inside --out results/byo

Needs a finished run (tests/byo.py makes `runs/byo-inside`); about 5 min on 2 CPU cores. Pause any training
job first: this runs a benchmark.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import torch

from distill.io import write_text
from distill_bench import main as cli


class Renamed(torch.nn.Module):
    """The teacher behind input names of its own, as another tool would export it."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, tok, attn, seg):
        return self.model(input_ids=tok, attention_mask=attn, token_type_ids=seg).logits


def run_cli(args: list[str], lines: list[str]) -> int:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = cli(args)
    lines += [f"$ distill-bench {' '.join(args)}", buffer.getvalue().rstrip(), f"(exit {code})", ""]
    print(lines[-3], flush=True)
    return code


def main(argv: list[str] | None = None) -> None:
    from transformers import AutoModelForSequenceClassification

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, default=Path("runs/byo-inside"))
    p.add_argument("--out", type=Path, default=Path("results/byo"))
    args = p.parse_args(argv)
    run, lines = args.run, []
    foreign = run.parent / f"{run.name}-foreign"
    foreign.mkdir(parents=True, exist_ok=True)
    model = AutoModelForSequenceClassification.from_pretrained(run / "teacher" / "model").eval()
    example = tuple(torch.ones(2, 7, dtype=torch.long) for _ in range(3))
    onnx_file = foreign / "their-classifier.onnx"
    torch.onnx.export(Renamed(model), example, str(onnx_file), dynamo=False, input_names=["tok", "attn", "seg"],
                      output_names=["scores"], dynamic_axes={n: {0: "b", 1: "s"} for n in ("tok", "attn", "seg")})
    run_cli(["export", str(run), "--models", "best,teacher", "--targets", "onnx,onnx-int8,ort-mobile-int8"], lines)
    shutil.rmtree(run / "export" / "theirs", ignore_errors=True)
    run_cli(["import", str(run), str(onnx_file), "--name", "theirs", "--tokenizer", str(run / "teacher" / "model"),
             "--inputs", "attn=mask", "--reference", "teacher"], lines)
    bench = [sys.executable, "-m", "pytest", "bench", "-q", "-p", "no:cacheprovider", "--run-dir", str(run),
             "--results-root", str(args.out.parent), "--run-id", f"{args.out.name}-bench", "--threads", "1",
             "--batch-sizes", "1,64", "--references", "none", "--force"]
    lines += ["$ " + " ".join(bench[2:]).replace(sys.executable, "python"), ""]
    subprocess.run(bench, check=True)
    results = args.out.parent / f"{args.out.name}-bench"
    summary = json.loads((results / "summary.json").read_text())
    art = summary["artifacts"]["theirs/imported-onnx"]
    p90 = next(r["latency_ms"]["p90"] for r in summary["records"]
               if r["artifact"] == "theirs/imported-onnx" and r["scenario"] == "single-stream" and r["threads"] == 1)
    ship = ["ship", str(results), "--model", "theirs", "--target", "imported-onnx"]
    passing, failing = round(p90 * 2, 2), round(p90 / 2, 3)
    run_cli([*ship, "--max-p90-ms", str(passing)], lines)
    run_cli([*ship, "--max-p90-ms", str(failing)], lines)
    md = ["# A model made elsewhere, imported, benchmarked and gated", "",
          f"Made by `python -m tests.byo_import --run {run} --out {args.out}`. The file: a plain `torch.onnx.export` "
          "of the run's teacher with its own input names (tok, attn, seg) — not our exporter. `attn` is stated "
          "(`--inputs attn=mask`); `tok` and `seg` are read from their names, and the import says so. The bench "
          f"run `{results}` times it beside the run's own artifacts (summary.md there); its accuracy pass "
          f"scored {art['accuracy']:.4f} [{art['ci95'][0]:.4f}, {art['ci95'][1]:.4f}] on n = {art['dev_n']} with "
          f"argmax agreement {art['agreement']:.4f} and max |Δlogit| {art['max_abs_logit_diff']:.2e} against the "
          f"teacher's eager fp32 logits; its batch-1 p90 at 1 thread was {p90:.3f} ms. The two ship budgets are "
          f"that p90 doubled ({passing} ms) and halved ({failing} ms).", "", "```", *lines, "```", ""]
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "imported.md", "\n".join(md))


if __name__ == "__main__":
    main()
