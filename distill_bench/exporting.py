"""The export commands: `export` (every chosen model × target, built and validated), `import` (a model made
elsewhere, validated into the run's export folder) and `predict`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from distill.errors import UserError
from distill.layout import RunLayout
from distill_bench.common import positive_int
from export.context import ET_INT8_ACTIVATIONS, ExportOptions
from export.predict import predict
from export.run import export_run
from export.table import write_table


def add_commands(sub) -> None:
    p = sub.add_parser("export", help="export a run's models to every shipping format, each one validated")
    p.add_argument("run", type=Path, help="run folder made by `distill-bench pipeline`")
    p.add_argument("--models", default="best,teacher",
                   help="comma-separated: student folder names, 'best' (the most accurate student), 'row-best' "
                        "(each config row's most accurate seed), 'all', 'teacher' [best,teacher]")
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
    p.add_argument("--max-batch", type=positive_int, default=512,
                   help="largest batch one ExecuTorch call takes; its runtime reserves memory for it at load, and "
                        "larger batches run in slices [512]")
    p.add_argument("--executorch-int8-activations", choices=ET_INT8_ACTIVATIONS, default="auto",
                   help="ExecuTorch int8 activations: static (calibrated on train sentences), dynamic (per batch at "
                        "run time), or auto: build both, keep the one agreeing more with fp32 on those train "
                        "sentences [auto]")
    p.add_argument("--table-out", type=Path, default=None, help="also write the export table here")
    p.add_argument("--force", "--rebuild", dest="force", action="store_true",
                   help="build again every chosen artifact made with other settings or inputs (default: keep one "
                        "whose record matches, refuse one that differs; --rebuild: old name)")
    p.set_defaults(handler=_export, writes=lambda a: a.out or RunLayout(a.run).export, parallel=None)

    p = sub.add_parser("import", help="bring an ONNX, .ort or .tflite classifier made elsewhere into a run's export "
                       "folder, validated on dev, for bench, report and ship")
    p.add_argument("run", type=Path, help="run folder whose task (and dev split) the model is judged on")
    p.add_argument("file", type=Path, help=".onnx, .ort or .tflite file, or a Hugging Face sequence-classification "
                   "folder (then exported and benchmarked like the teacher: `export --models NAME`)")
    p.add_argument("--name", required=True, help="the model's name in tables (RUN/export/NAME/imported-…)")
    p.add_argument("--tokenizer", type=Path, default=None, help="a file's Hugging Face tokenizer folder (local "
                   "files; an HF folder carries its own)")
    p.add_argument("--label-map", default="", help="an HF folder whose label names differ from the task's: "
                   "FOLDER_NAME=TASK_NAME pairs, comma-separated")
    p.add_argument("--inputs", default=None, help="NAME=MEANING for each graph input, comma-separated; meanings: "
                   "ids, mask, token_types, lengths [inferred from the names, and said]")
    p.add_argument("--reference", default=None, help="a model of the run to compare logits with: 'teacher' or a "
                   "student folder name (agreement and max |Δlogit| on dev; ship needs one)")
    p.add_argument("--max-length", type=positive_int, default=None,
                   help="tokens per input when the graph's length is dynamic [the tokenizer's model_max_length]")
    p.add_argument("--precision", choices=("fp32", "int8"), default=None,
                   help="[read from the graph: int8 when it holds int8 weights]")
    p.add_argument("--force", action="store_true", help="import over an artifact of the same name and format")
    p.set_defaults(handler=_import, writes=lambda a: RunLayout(a.run).export, parallel=None)

    p = sub.add_parser("predict", help="classify text with an exported artifact, through its manifest only")
    p.add_argument("artifact", type=Path, help="artifact folder (or any file in it)")
    p.add_argument("texts", nargs="+", help="texts to classify; for a pair model two at a time: first second …")
    p.add_argument("--too-long", default="truncate", choices=("truncate", "error"),
                   help="a text longer than the artifact's max_length: cut it with a warning, or refuse [truncate]")
    p.set_defaults(handler=_predict, writes=lambda a: None, parallel=None)


def _export(args) -> int:
    try:
        buckets = tuple(sorted({int(b) for b in args.buckets.split(",")}))
    except ValueError:
        raise UserError(f"--buckets: expected comma-separated integers, got {args.buckets!r}") from None
    if not 0 < args.accuracy_budget <= 1:
        raise UserError(f"--accuracy-budget: expected a fraction in (0, 1], got {args.accuracy_budget}")
    if args.min_agreement is not None and not 0 < args.min_agreement <= 1:
        raise UserError(f"--min-agreement: expected a fraction in (0, 1], got {args.min_agreement}")
    options = ExportOptions(per_channel=args.per_channel, accuracy_budget=args.accuracy_budget,
                            min_agreement=args.min_agreement, buckets=buckets, max_batch=args.max_batch,
                            et_int8_activations=args.executorch_int8_activations)
    outcomes = export_run(args.run, models=args.models.split(","),
                          targets=args.targets.split(",") if args.targets else None, out=args.out, options=options,
                          force=args.force)
    if args.table_out:
        write_table(args.out or RunLayout(args.run).export, args.table_out)
    bad = [o for o in outcomes if o["status"] in ("rejected", "refused")]
    for o in outcomes:
        print(f"{o['model']:>24} {o['target']:<16} {o['status']}" + (f": {o['error'][:200]}" if "error" in o else ""))
    if bad:
        raise UserError("\n".join(f"{o['model']}/{o['target']} {o['status']}: {o['error']}" for o in bad))
    return 0


def _import(args) -> None:
    from export.importer import import_artifact, import_hf_model  # the runtimes' parsers load only here

    if args.file.is_dir():
        m = import_hf_model(args.run, args.file, args.name, label_map=args.label_map, max_length=args.max_length,
                            force=args.force)
        print(f"imported {args.file} as {args.name} ({m['labels']}): dev accuracy {m['dev_accuracy']:.4f} "
              f"[{m['ci95'][0]:.4f}, {m['ci95'][1]:.4f}] (n = {m['n_dev']}); next: distill-bench export {args.run} "
              f"--models {args.name}")
        return
    if args.tokenizer is None:
        raise UserError(f"{args.file}: a model file needs its tokenizer folder (--tokenizer)")
    m = import_artifact(args.run, args.file, args.name, args.tokenizer, inputs=args.inputs, reference=args.reference,
                        max_length=args.max_length, precision=args.precision, force=args.force)
    for note in m["import"]["inferred"]:
        print(f"note: {note}")
    dev = m["dev"]
    extra = (f"; vs {dev['reference']}: argmax agreement {dev['argmax_agreement']:.4f}, max |Δlogit| "
             f"{dev['max_abs_logit_diff']:.2e}") if "reference" in dev else ""
    print(f"imported {args.file} as {args.name}/{m['target']}: dev accuracy {dev['accuracy']:.4f} "
          f"[{dev['ci95'][0]:.4f}, {dev['ci95'][1]:.4f}] (n = {dev['n']}){extra}")


def _predict(args) -> None:
    for r in predict(args.artifact, args.texts, too_long=args.too_long):
        for w in r.get("warnings", []):
            print(f"warning: {w}", file=sys.stderr)
        print(json.dumps(r, ensure_ascii=False))
