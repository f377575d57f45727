"""The bench commands on a results folder written by `pytest bench`: `report` and the `ship` release gate."""

from __future__ import annotations

from pathlib import Path

from bench.families import write as families_write
from bench.recommend import Budget as RecommendBudget
from bench.recommend import run as recommend_run
from bench.report import render
from bench.repro import repro
from bench.ship import Budget, ship
from distill_bench.common import positive_float, positive_int


def add_commands(sub) -> None:
    p = sub.add_parser("report", help="render summary.md/.csv, table.tex and pareto.png from a bench summary.json")
    p.add_argument("results", type=Path, help="results folder written by `pytest bench` (holds summary.json)")
    p.set_defaults(handler=_report, writes=lambda a: None, parallel=None)

    p = sub.add_parser("repro", help="the headline figures of several bench runs side by side, with their spread")
    p.add_argument("results", type=Path, nargs="+", help="results folders written by `pytest bench`")
    p.add_argument("--out", type=Path, required=True, help="folder for repro.json and repro.md")
    p.add_argument("--artifact", default=None, help="artifact id whose latency is compared [the first run's "
                                                     "fastest student artifact at batch 1]")
    p.set_defaults(handler=_repro, writes=lambda a: a.out, parallel=None)

    p = sub.add_parser("recommend", help="the most accurate benchmarked artifact within a latency (and size, "
                                         "accuracy) budget, and why each other one lost (exit 1: none fits)")
    p.add_argument("results", type=Path, help="results folder written by `pytest bench` (holds summary.json)")
    p.add_argument("--max-p90-ms", type=positive_float, required=True, help="p90 budget at batch 1")
    p.add_argument("--max-size-mb", type=positive_float, default=None, help="file size budget [none]")
    p.add_argument("--min-accuracy", type=positive_float, default=None, help="dev accuracy floor [none]")
    p.add_argument("--latency", default="end-to-end", choices=("end-to-end", "model-only"),
                   help="which p90 the budget applies to [end-to-end]")
    p.add_argument("--threads", type=positive_int, default=1, help="thread count the latency is read at [1]")
    p.set_defaults(handler=_recommend, writes=lambda a: None, parallel=None)

    p = sub.add_parser("families", help="student families side by side: an ablation joined with a bench run, "
                                        "targets, recommend verdicts and a Pareto plot")
    p.add_argument("--ablation", type=Path, required=True, help="folder with ablation.json (distill-bench ablation)")
    p.add_argument("--bench", type=Path, required=True, help="folder with summary.json (pytest bench)")
    p.add_argument("--out", type=Path, required=True, help="folder for families.md/.json and pareto.png")
    p.add_argument("--budget-ms", type=positive_float, action="append", default=None,
                   help="a p90 budget (end-to-end, batch 1, 1 thread) to name recommend's choice for; repeatable")
    p.set_defaults(handler=_families, writes=lambda a: a.out, parallel=None)

    p = sub.add_parser("ship", help="check one benchmarked artifact against a mobile release budget (exit 1: no)")
    p.add_argument("results", type=Path, help="results folder written by `pytest bench` (holds summary.json)")
    p.add_argument("--target", required=True, help="artifact format, e.g. ort-mobile-int8")
    p.add_argument("--model", default=None, help="model name [the student with the best dev accuracy]")
    p.add_argument("--max-p90-ms", type=positive_float, required=True, help="p90 latency budget at batch 1")
    p.add_argument("--min-accuracy-ratio", type=positive_float, default=0.99,
                   help="dev accuracy as a fraction of eager fp32 [0.99]")
    p.add_argument("--max-size-mb", type=positive_float, default=None, help="file size budget [none]")
    p.add_argument("--min-agreement", type=positive_float, default=0.99,
                   help="dev argmax agreement with eager fp32 [0.99]")
    p.add_argument("--max-logit-diff", type=positive_float, default=1e-3,
                   help="max |Δlogit| vs eager fp32 for lossless formats [1e-3]")
    p.add_argument("--threads", type=positive_int, default=1, help="thread count the latency is read at [1]")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--latency", default="end-to-end", choices=("end-to-end", "model-only"),
                   help="which p90 the budget applies to: text → label as an app calls it, or the model call "
                        "alone [end-to-end]")
    p.set_defaults(handler=_ship, writes=lambda a: None, parallel=None)


def _report(args) -> None:
    for path in render(args.results):
        print(path)


def _repro(args) -> None:
    result = repro(args.results, args.out, args.artifact)
    for f in result["figures"]:
        print(f"{f['name']}: {f['values']} (spread {f['spread_pct']}%)")
    print(args.out / "repro.md")


def _recommend(args) -> int:
    return recommend_run(args.results, RecommendBudget(max_p90_ms=args.max_p90_ms, max_size_mb=args.max_size_mb,
                                                       min_accuracy=args.min_accuracy, latency=args.latency,
                                                       threads=args.threads))


def _families(args) -> None:
    report = families_write(args.ablation, args.bench, args.out, args.budget_ms or [])
    for c in report["checks"]:
        print(f"{'met' if c['met'] else 'NOT MET'}  {c['name']}: {c['value']}")
    print(args.out / "families.md")


def _ship(args) -> int:
    budget = Budget(max_p90_ms=args.max_p90_ms, min_accuracy_ratio=args.min_accuracy_ratio,
                    max_size_mb=args.max_size_mb, min_agreement=args.min_agreement,
                    max_logit_diff=args.max_logit_diff, threads=args.threads, device=args.device,
                    latency=args.latency)
    return ship(args.results, args.target, budget, args.model)
