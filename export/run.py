"""`distill-bench export RUN`: every chosen model × target, built, validated, and kept only if it passes.

    distill-bench export runs/sst2-paper                           # best student + teacher, every target
    distill-bench export runs/sst2-paper --targets onnx,onnx-int8 --models bilstm-kd-aug-s0
    distill-bench export runs/sst2-paper --table-out results/sst2-export

Each artifact is built in a temporary folder beside its final place, validated there (export/validate.py),
and moved into RUN/export/<model>/<target>/ only when it passes, with its manifest and tokenizer. A target
whose runtime or converter is missing or fails is recorded with its real error, and the others go on.
`RUN/export/export.json` lists every outcome, rewritten after each one, so a process killed midway (the OOM
killer included) leaves the record of what it finished; the table is made from it and the manifests.

Each artifact folder holds a `record.json` (distill/record.py): settings = the target, the options that make
the artifact (those the target reads, `target_options`), the max_length it was made for and every gate's
threshold; inputs = the sha256 of the source checkpoint (and a student's vocabulary). It is written into the
temporary folder, complete, only once the artifact passed validation, so a record in place always vouches for
the artifact beside it. A rerun:
- same record, complete → the artifact is kept ("skipped"), so an interrupted export resumes at the first
  target it had not finished;
- a different record, or an artifact with none → that target is refused with one line per difference
  (status "refused" in export.json, the artifact untouched), the other targets go on;
- `--force` (alias `--rebuild`) builds a differing one again and replaces it once the new one passed; a
  rejected rebuild removes the old one too (nothing valid is left for these settings). An artifact whose
  record matches is kept even then: the rule is distill/record.py's, the same for every stage.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np

from distill.data import load_split
from distill.errors import UserError
from distill.io import atomic_path, read_json, write_json
from distill.layout import RunLayout, student_row
from distill.record import RECORD, decide, make_record, refusal, seal, task_identity
from distill.runinfo import command_line, env_info
from export.context import ExportContext, ExportOptions
from export.manifest import MANIFEST, OUTCOMES, TOKENIZER_DIR, build_manifest, summarize_warnings, write_manifest
from export.registry import TargetUnavailable, all_targets
from export.student_source import load_student_source
from export.teacher_source import load_teacher_source
from export.validate import ValidationError, check_parity, dev_batches, judge, predict_dev, score


def choose_targets(names: list[str] | None) -> list:
    targets = all_targets()
    if not names:
        return list(targets.values())
    unknown = [n for n in names if n not in targets]
    if unknown:
        raise UserError(f"--targets: unknown {', '.join(unknown)}; known: {', '.join(targets)}")
    return [targets[n] for n in names]


# options every artifact's validation reads (how much of dev it is judged on), whatever the target builds
VALIDATION_OPTIONS = ("dev_limit",)


def target_options(target, ctx: ExportContext) -> dict:
    """The export options this target's artifact depends on: those its build reads (`reads`, given at its
    registration) and the validation's; thresholds enter its record resolved, per gate (`gate_thresholds`)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(ctx.options).items()
            if k in target.reads or k in VALIDATION_OPTIONS}


def gate_thresholds(target, kind: str, ctx: ExportContext) -> dict:
    """The threshold of each gate this target's artifact of a `kind` model must pass (validate.judge)."""
    if target.lossy:
        return {"argmax_agreement": ctx.options.agreement_floor(kind), "accuracy_ratio": ctx.options.accuracy_budget}
    return {"parity": target.tolerance} if target.tolerance is not None else {}


def artifact_record(source, target, ctx: ExportContext, inputs: dict) -> dict:
    """What makes the artifact of `source` for `target` (distill/record.py): compared on every rerun."""
    return make_record("export", {"target": target.name, "model": source.name, "kind": source.kind,
                                  "options": target_options(target, ctx), "max_length": source.max_length,
                                  "gates": gate_thresholds(target, source.kind, ctx)}, inputs)


def export_source(source, targets: list, out_root: Path, ctx: ExportContext, dev_texts: list[str],
                  dev_labels: np.ndarray, log=print, dev_texts_b: list[str] | None = None,
                  on_outcome=lambda record: None, data_inputs: dict | None = None) -> list[dict]:
    """Build and validate every target that takes this source; return one outcome record per target
    (each also handed to `on_outcome` as soon as it is known)."""
    budget = ctx.options.accuracy_budget
    if ctx.options.dev_limit:
        dev_texts, dev_labels = dev_texts[:ctx.options.dev_limit], dev_labels[:ctx.options.dev_limit]
        dev_texts_b = dev_texts_b[:ctx.options.dev_limit] if dev_texts_b is not None else None
    ref_batches = dev_batches(source.encoder, dev_texts, source.max_length, texts_b=dev_texts_b)
    ref_logits = predict_dev(source.logits, ref_batches, len(dev_texts))
    fp32 = score(ref_logits, dev_labels, ref_logits)
    min_agreement = ctx.options.agreement_floor(source.kind)
    inputs = {**source.record_inputs(), **(data_inputs or {})}  # the model, and the dev and calibration data
    outcomes = []
    for target in targets:
        if source.kind not in target.kinds:
            continue
        final = out_root / source.name / target.name
        outcome = {"model": source.name, "kind": source.kind, "target": target.name, "fp32_dev": fp32,
                   "max_length": source.max_length}
        artifact = artifact_record(source, target, ctx, inputs)
        decision, lines = decide(final, artifact)  # an artifact cannot resume midway: unfinished is rebuilt
        if decision == "skip":  # --force redoes what differs, like every stage; the same artifact is kept
            kept = read_json(final / MANIFEST)
            outcome.update(status="ok", manifest=str(final / MANIFEST), export_seconds=kept["export_seconds"],
                           gates=kept.get("gates"), reused=True)
            log(f"export {source.name} → {target.name}: made with the same settings and inputs "
                f"(record {final / RECORD}), skipped")
            outcomes.append(outcome)
            on_outcome(outcome)
            continue
        if decision == "differs" and not ctx.force:
            outcome.update(status="refused", error=str(refusal(f"artifact {final}", lines)))
            log(f"export {source.name} → {target.name}: REFUSED: {outcome['error']}")
            outcomes.append(outcome)
            on_outcome(outcome)
            continue
        if lines:
            log(f"export {source.name} → {target.name}: --force: redoing it ({'; '.join(lines)[:300]})")
        log(f"export {source.name} → {target.name}")
        start = time.perf_counter()
        try:
            with atomic_path(final) as tmp:
                tmp.mkdir()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    result = target.build(source, tmp, ctx)
                seconds = time.perf_counter() - start
                max_length = result.max_length or source.max_length
                manifest = build_manifest(target, source, tmp, result, max_length)
                runner = target.load(tmp, manifest)
                parity = check_parity(runner, source, max_length)
                batches = ref_batches if max_length == source.max_length else \
                    dev_batches(source.encoder, dev_texts, max_length, texts_b=dev_texts_b)
                scores = score(predict_dev(runner, batches, len(dev_texts)), dev_labels, ref_logits)
                manifest.update({"export_seconds": round(seconds, 2), "warnings": summarize_warnings(caught),
                                 "parity_max_abs": parity, "tolerance": target.tolerance, "dev": scores,
                                 "fp32_dev": fp32, "accuracy_budget": budget if target.lossy else None,
                                 "min_agreement": min_agreement if target.lossy else None,
                                 "options": target_options(target, ctx), "status": "ok"})
                gates = judge(target, parity, scores, fp32, budget, min_agreement)
                manifest["gates"] = gates
                source.encoder.save(tmp / TOKENIZER_DIR)
                write_manifest(tmp, manifest)
                # complete only now, inside the folder that is renamed into place: a record in place always
                # vouches for a validated artifact
                seal(tmp, artifact, seconds=round(seconds, 2))
            outcome.update(status="ok", manifest=str(final / MANIFEST), export_seconds=round(seconds, 2),
                           gates=gates, load_avg_1m=round(os.getloadavg()[0], 2))  # compare with env.cores
            log(f"  ok: {manifest['size_mb']:.2f} MB, max |Δlogit| {max(parity.values()):.2e}, "
                f"dev {scores['accuracy']:.4f} (fp32 {fp32['accuracy']:.4f}), agreement "
                f"{scores['argmax_agreement']:.4f}, {seconds:.1f} s")
        except ValidationError as e:
            # nothing valid is left for these settings: a forced rebuild's predecessor goes too
            shutil.rmtree(final, ignore_errors=True)
            outcome.update(status="rejected", error=str(e), gates=e.gates)
            log(f"  REJECTED: {e}")
        except TargetUnavailable as e:
            outcome.update(status="unavailable", error=str(e))
            log(f"  unavailable: {e}")
        except Exception as e:  # a converter or runtime failing on this machine: report it, go on
            outcome.update(status="failed", error=f"{type(e).__name__}: {e}",
                           traceback=traceback.format_exc()[-4000:])
            log(f"  FAILED: {type(e).__name__}: {str(e)[:500]}")
        outcomes.append(outcome)
        on_outcome(outcome)
    return outcomes


def _run_models(run: RunLayout, models: list[str]) -> dict[str, Path]:
    """Model name → folder (a student folder or the teacher's model folder), in the order asked."""
    students = run.trained_students()
    chosen: dict[str, Path] = {}
    for name in models:
        if name == "teacher":
            chosen["teacher"] = run.teacher_model
        elif (run.imported_model(name) / "config.json").is_file():  # an HF classifier brought in by import
            chosen[name] = run.imported_model(name)
        elif name in ("best", "row-best", "all") and not students:
            raise UserError(f"{run.students}: no trained students")
        elif name == "all":
            chosen.update(students)
        elif name == "best":
            best = max(students, key=lambda n: read_json(run.student_metrics(n))["accuracy"])
            chosen[best] = students[best]
        elif name == "row-best":  # each config row's most accurate trained seed (a families comparison)
            chosen.update(_row_best(run, students))
        elif name in students:
            chosen[name] = students[name]
        else:
            raise UserError(f"--models: no model {name!r} in {run.root}; students: {', '.join(students) or 'none'}"
                            ", or 'teacher', 'best', 'row-best', 'all', or an imported HF classifier")
    return chosen


def _row_best(run: RunLayout, students: dict[str, Path]) -> dict[str, Path]:
    """For every student row of the run, its trained seed with the highest dev accuracy."""
    rows: dict[str, list[str]] = {}
    for folder in students:
        rows.setdefault(student_row(folder), []).append(folder)
    best = {max(folders, key=lambda f: read_json(run.student_metrics(f))["accuracy"]) for folders in rows.values()}
    return {f: students[f] for f in sorted(best)}


def export_run(run_dir: str | Path, models: list[str] | None = None, targets: list[str] | None = None,
               out: str | Path | None = None, options: ExportOptions | None = None,
               force: bool = False) -> list[dict]:
    """Export `models` of the run to `targets`; `force` redoes every artifact whose record differs."""
    run_dir = Path(run_dir)
    run = RunLayout(run_dir)
    task = run.task()  # refuses a folder that is not a run (no config.json)
    out_root = Path(out) if out else run.export
    chosen_targets = choose_targets(targets)
    dev = load_split(task, "dev")
    train = load_split(task, "train", 256)
    calibration = list(train["text"])
    calibration_b = list(train["text_b"]) if task.is_pair else None
    dev_b = list(dev["text_b"]) if task.is_pair else None
    summary_path = out_root / OUTCOMES
    previous = read_json(summary_path)["outcomes"] if summary_path.exists() else []
    # the command line when `distill-bench export` runs this; the call when another program does
    command = command_line() if sys.argv[1:2] == ["export"] else \
        f"export_run({str(run_dir)!r}, models={models!r}, targets={targets!r})"
    env = env_info()
    records = {(o["model"], o["target"]): o for o in previous}

    def record(outcome: dict) -> None:  # export.json after every outcome: a killed export keeps its record
        outcome["command"], outcome["run"] = command, str(run_dir)  # several runs may export into one folder
        records.pop((outcome["model"], outcome["target"]), None)
        records[outcome["model"], outcome["target"]] = outcome
        write_json(summary_path, {"run": str(run_dir), "env": env, "outcomes": list(records.values())})

    outcomes = []
    with tempfile.TemporaryDirectory(prefix="export-scratch-") as scratch:
        ctx = ExportContext(Path(scratch), options or ExportOptions(), calibration_texts=calibration,
                            calibration_texts_b=calibration_b, force=force)
        for name, folder in _run_models(run, models or ["best", "teacher"]).items():
            source = load_teacher_source(folder, pair=task.is_pair, name=name) \
                if name == "teacher" or folder == run.imported_model(name) else load_student_source(folder)
            outcomes += export_source(source, chosen_targets, out_root, ctx, list(dev["text"]),
                                      np.asarray(dev["label"]), dev_texts_b=dev_b, on_outcome=record,
                                      data_inputs=task_identity(task)[1])
    return outcomes
