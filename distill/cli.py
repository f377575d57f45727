"""`distill-bench` command line: one subcommand per pipeline stage, plus `pipeline` that runs them in order.

    distill-bench pipeline --preset quick                  # whole pipeline, small scale, ~5 min on 2 cores
    distill-bench pipeline --preset sst2-paper --run-id sst2-paper
    distill-bench split    --task mnli --out runs/x/data   # MNLI/QQP here: split dev, then --task mnli --train …
    distill-bench teacher  --task sst2 --out runs/x/teacher
    distill-bench augment  --task sst2 --out runs/x/transfer.tsv
    distill-bench label    --teacher runs/x/teacher/model --transfer runs/x/transfer.tsv --out runs/x/logits
    distill-bench student  --task sst2 --transfer runs/x/transfer.tsv --logits runs/x/logits --out runs/x/s

Data-parallel on one or many machines (teacher, label, student, pipeline; gloo on CPU, NCCL on GPUs):
    torchrun --nproc_per_node=4 -m distill pipeline --preset sst2-paper
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from distill.errors import UserError


def _task(args):
    from distill.data import task_from

    return task_from(args.task, args.train, args.dev, tuple(c.strip() for c in args.text_columns.split(",")),
                     args.label_column)


def _add_task_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", default=None, help="registered task (sst2, mnli, qqp) [sst2]; with --train: "
                   "that task's columns and labels read from your files")
    p.add_argument("--train", help="your own train .tsv/.csv (with --dev, or with --task)")
    p.add_argument("--dev", help="your own dev .tsv/.csv [with --task: the task's own dev]")
    p.add_argument("--text-columns", default="sentence", help="text column(s), comma-separated for pairs")
    p.add_argument("--label-column", default="label")


def _positive_int(s: str) -> int:
    v = int(s)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {s}")
    return v


def _positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {s}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {s}")
    return v


def _add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="redo the output if it was made with other settings or inputs (default: refuse)")


def _build_parser() -> argparse.ArgumentParser:
    from distill.augment import AugmentConfig
    from distill.teacher import TeacherConfig

    parser = argparse.ArgumentParser(prog="distill-bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for user errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("split", help="seeded stratified split of a task's dev set (for tasks with no train set)")
    _add_task_args(p)
    p.add_argument("--out", required=True, type=Path, help="folder for train/dev files and split.json")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-fraction", type=float, default=0.8)

    p = sub.add_parser("teacher", help="fine-tune a local HF encoder folder on a task")
    _add_task_args(p)
    d = TeacherConfig()
    p.add_argument("--model", default="", help="local HF folder [all-MiniLM-L6-v2 from its PyPI wheel]")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--epochs", type=float, default=d.epochs)
    p.add_argument("--batch-size", type=_positive_int, default=d.batch_size)
    p.add_argument("--max-length", type=_positive_int, default=d.max_length)
    p.add_argument("--eval-every", type=_positive_int, default=d.eval_every)
    p.add_argument("--train-limit", type=_positive_int, default=None)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--precision", default=d.precision, choices=("auto", "fp32", "bf16", "fp16"),
                   help="training precision [auto: bf16 autocast on a GPU that has it, else fp32]")
    _add_force(p)

    p = sub.add_parser("augment", help="build the augmented transfer set")
    _add_task_args(p)
    a = AugmentConfig()
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--p-mask", type=float, default=a.p_mask)
    p.add_argument("--p-pos", type=float, default=a.p_pos)
    p.add_argument("--p-ng", type=float, default=a.p_ng)
    p.add_argument("--max-ngram", type=_positive_int, default=a.max_ngram)
    p.add_argument("--n-iter", type=int, default=None, help="rounds per example [task default: 20 SST-2]")
    p.add_argument("--train-limit", type=_positive_int, default=None)
    p.add_argument("--seed", type=int, default=a.seed)
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="processes for POS tagging and augmentation (output is the same) [all cores]")
    _add_force(p)

    p = sub.add_parser("label", help="teacher logits for every transfer example (resumable)")
    p.add_argument("--teacher", required=True, type=Path, help="fine-tuned teacher folder")
    p.add_argument("--transfer", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path, help="folder for logits chunks and logits.npy")
    p.add_argument("--batch-size", type=_positive_int, default=128)
    p.add_argument("--chunk-size", type=_positive_int, default=20000)
    p.add_argument("--max-length", type=_positive_int, default=None,
                   help="tokens per example [the length the teacher was trained at]")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                   help="autocast for the teacher [auto: bf16 on a GPU that has it, else fp32]")
    _add_force(p)

    p = sub.add_parser("student", help="train a BiLSTM student")
    _add_task_args(p)
    from distill.train import add_student_args

    add_student_args(p)

    p = sub.add_parser("pipeline", help="teacher → augment → label → students, in one run folder")
    p.add_argument("--preset", default=None, help="built-in preset (quick, sst2-paper)")
    p.add_argument("--config", type=Path, default=None, help="a TOML config file instead of a preset")
    p.add_argument("--run-id", default=None, help="run folder name under --runs [preset name]")
    p.add_argument("--runs", type=Path, default=Path("runs"))
    p.add_argument("--jobs", type=_positive_int, default=None,
                   help="students trained in parallel, one thread each [config's run.jobs or 1]")
    p.add_argument("--only", default=None, help="train only these student rows (comma-separated names)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="processes for POS tagging and augmentation [all cores]")
    p.add_argument("--force", action="store_true",
                   help="redo every stage whose output was made with other settings or inputs, and what reads it")

    p = sub.add_parser("ablation", help="(re)write ablation.json/.md of a run folder, optionally copy to results")
    p.add_argument("run", type=Path)
    p.add_argument("--out", type=Path, default=None, help="also copy the tables and student weights here")

    p = sub.add_parser("export", help="export a run's models to every shipping format, each one validated")
    p.add_argument("run", type=Path, help="run folder made by `distill-bench pipeline`")
    p.add_argument("--models", default="best,teacher",
                   help="comma-separated: student folder names, 'best', 'all', 'teacher' [best,teacher]")
    p.add_argument("--targets", default=None, help="comma-separated target names [all registered]")
    p.add_argument("--out", type=Path, default=None, help="artifact root [RUN/export]")
    p.add_argument("--per-channel", action="store_true", help="per-channel int8 weights for ONNX Runtime")
    p.add_argument("--accuracy-budget", type=float, default=0.99,
                   help="int8 targets must keep this fraction of fp32 dev accuracy [0.99]")
    p.add_argument("--min-agreement", type=float, default=None,
                   help="int8 targets must agree with the fp32 argmax on at least this fraction of dev "
                        "[0.98 for students, 0.90 for teachers; export/README.md says why]")
    p.add_argument("--buckets", default="16,32,64,128",
                   help="sequence-length buckets of fixed-shape targets (ExecuTorch, LiteRT) [16,32,64,128]")
    p.add_argument("--max-batch", type=_positive_int, default=512,
                   help="largest batch one ExecuTorch call takes; its runtime reserves memory for it at load, and "
                        "larger batches run in slices [512]")
    p.add_argument("--table-out", type=Path, default=None, help="also write the export table here")
    p.add_argument("--force", "--rebuild", dest="force", action="store_true",
                   help="build every chosen artifact again, replacing one made with other settings or inputs "
                        "(default: keep one whose record matches, refuse one that differs; --rebuild: old name)")

    p = sub.add_parser("report", help="render summary.md/.csv, table.tex and pareto.png from a bench summary.json")
    p.add_argument("results", type=Path, help="results folder written by `pytest bench` (holds summary.json)")

    p = sub.add_parser("ship", help="check one benchmarked artifact against a mobile release budget (exit 1: no)")
    p.add_argument("results", type=Path, help="results folder written by `pytest bench` (holds summary.json)")
    p.add_argument("--target", required=True, help="artifact format, e.g. ort-mobile-int8")
    p.add_argument("--model", default=None, help="model name [the student with the best dev accuracy]")
    p.add_argument("--max-p90-ms", type=_positive_float, required=True, help="p90 latency budget at batch 1")
    p.add_argument("--min-accuracy-ratio", type=_positive_float, default=0.99,
                   help="dev accuracy as a fraction of eager fp32 [0.99]")
    p.add_argument("--max-size-mb", type=_positive_float, default=None, help="file size budget [none]")
    p.add_argument("--min-agreement", type=_positive_float, default=0.99,
                   help="dev argmax agreement with eager fp32 [0.99]")
    p.add_argument("--max-logit-diff", type=_positive_float, default=1e-3,
                   help="max |Δlogit| vs eager fp32 for lossless formats [1e-3]")
    p.add_argument("--threads", type=_positive_int, default=1, help="thread count the latency is read at [1]")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))

    p = sub.add_parser("predict", help="classify text with an exported artifact, through its manifest only")
    p.add_argument("artifact", type=Path, help="artifact folder (or any file in it)")
    p.add_argument("texts", nargs="+", help="texts to classify; for a pair model two at a time: first second …")
    p.add_argument("--too-long", default="truncate", choices=("truncate", "error"),
                   help="a text longer than the artifact's max_length: cut it with a warning, or refuse [truncate]")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = _build_parser().parse_args(argv)
        folder = _output_folder(args)
        if folder is None:
            return _dispatch_distributed(args)
        from distill.io import exclusive

        with exclusive(folder):
            return _dispatch_distributed(args)
    except UserError as e:
        if debug:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def _output_folder(args) -> Path | None:
    """The folder a command writes, held for the command's lifetime (pipeline holds its run folder itself)."""
    if args.command in ("teacher", "label", "student", "split"):
        return args.out
    if args.command == "augment":
        return args.out.parent
    if args.command == "export":
        return args.out or args.run / "export"
    return None


DATA_PARALLEL = {"teacher", "label", "student", "pipeline", "augment", "split"}


def _dispatch_distributed(args) -> int:
    """Under torchrun, join the process group around the stages that run data-parallel (distill/dist.py)."""
    from distill import dist

    if dist.world_size() == 1:
        return _dispatch(args)
    if args.command not in DATA_PARALLEL:
        raise UserError(f"`{args.command}` runs as one process, not under torchrun "
                        f"(data-parallel commands: {', '.join(sorted(DATA_PARALLEL))})")
    dist.init()
    try:
        if args.command in ("augment", "split"):  # nothing to share out: rank 0 writes, the others wait
            with dist.main_first():
                return _dispatch(args) if dist.is_main() else 0
        return _dispatch(args)
    finally:
        dist.shutdown()


def _dispatch(args) -> int:
    from distill import dist

    if args.command == "split":
        from distill.protocol import dev_split

        task = dev_split(_task(args), args.out, args.seed, args.train_fraction)
        print(f"{task.protocol}\nnext: distill-bench teacher --task {args.task or task.name} "
              f"--train {task.files['train']} --dev {task.files['dev']} --out …")
    elif args.command == "teacher":
        from distill.teacher import TeacherConfig, train_teacher

        cfg = TeacherConfig(model=args.model, lr=args.lr, epochs=args.epochs, batch_size=args.batch_size,
                            max_length=args.max_length, eval_every=args.eval_every,
                            train_limit=args.train_limit, seed=args.seed, precision=args.precision)
        m = train_teacher(_task(args), args.out, cfg, force=args.force)
        dist.echo(f"teacher dev accuracy {m['dev_accuracy']:.4f} (n={m['n_dev']}) → {args.out}/model")
    elif args.command == "augment":
        from distill.augment import AugmentConfig, build_transfer_set

        task = _task(args)
        cfg = AugmentConfig(p_mask=args.p_mask, p_pos=args.p_pos, p_ng=args.p_ng, max_ngram=args.max_ngram,
                            n_iter=task.n_iter if args.n_iter is None else args.n_iter,
                            train_limit=args.train_limit, seed=args.seed)
        build_transfer_set(task, args.out, cfg, workers=args.workers, force=args.force)
    elif args.command == "label":
        from distill.label import label_transfer_set

        label_transfer_set(args.teacher, args.transfer, args.out, batch_size=args.batch_size,
                           chunk_size=args.chunk_size, max_length=args.max_length, precision=args.precision,
                           force=args.force)
    elif args.command == "student":
        from distill.train import run_student_from_args

        run_student_from_args(_task(args), args)
    elif args.command == "pipeline":
        from distill.pipeline import run_pipeline

        run_pipeline(preset=args.preset, config_path=args.config, run_id=args.run_id, runs=args.runs,
                     jobs=args.jobs, only=args.only.split(",") if args.only else None, workers=args.workers,
                     force=args.force)
    elif args.command == "ablation":
        from distill.ablation import publish, write_ablation

        write_ablation(args.run)
        if args.out:
            publish(args.run, args.out)
    elif args.command == "export":
        return _export(args)
    elif args.command == "report":
        from bench.report import render

        for path in render(args.results):
            print(path)
    elif args.command == "ship":
        from bench.ship import Budget, ship

        budget = Budget(max_p90_ms=args.max_p90_ms, min_accuracy_ratio=args.min_accuracy_ratio,
                        max_size_mb=args.max_size_mb, min_agreement=args.min_agreement,
                        max_logit_diff=args.max_logit_diff, threads=args.threads, device=args.device)
        return ship(args.results, args.target, budget, args.model)
    elif args.command == "predict":
        import json

        from export.predict import predict

        for r in predict(args.artifact, args.texts, too_long=args.too_long):
            for w in r.get("warnings", []):
                print(f"warning: {w}", file=sys.stderr)
            print(json.dumps(r, ensure_ascii=False))
    return 0


def _export(args) -> int:
    from export.context import ExportOptions
    from export.run import export_run
    from export.table import write_table

    try:
        buckets = tuple(sorted({int(b) for b in args.buckets.split(",")}))
    except ValueError:
        raise UserError(f"--buckets: expected comma-separated integers, got {args.buckets!r}") from None
    if not 0 < args.accuracy_budget <= 1:
        raise UserError(f"--accuracy-budget: expected a fraction in (0, 1], got {args.accuracy_budget}")
    if args.min_agreement is not None and not 0 < args.min_agreement <= 1:
        raise UserError(f"--min-agreement: expected a fraction in (0, 1], got {args.min_agreement}")
    options = ExportOptions(per_channel=args.per_channel, accuracy_budget=args.accuracy_budget,
                            min_agreement=args.min_agreement, buckets=buckets, max_batch=args.max_batch)
    outcomes = export_run(args.run, models=args.models.split(","),
                          targets=args.targets.split(",") if args.targets else None, out=args.out, options=options,
                          force=args.force)
    out_root = args.out or args.run / "export"
    if args.table_out:
        write_table(out_root, args.table_out)
    bad = [o for o in outcomes if o["status"] in ("rejected", "refused")]
    for o in outcomes:
        print(f"{o['model']:>24} {o['target']:<16} {o['status']}" + (f": {o['error'][:200]}" if "error" in o else ""))
    if bad:
        raise UserError("\n".join(f"{o['model']}/{o['target']} {o['status']}: {o['error']}" for o in bad))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
