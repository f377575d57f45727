"""The prose and Markdown of an ablation table, made from `ablation.json` and the files it names: deviations
from the paper (from env.json, configs and metrics), targets, time notes, and the summary a smoke run ends with.
"""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from distill.ablation_curves import ORDER, budget_table, crossing_sentence, device_kind, level_sentence, rising_sentence
from distill.data import TASKS
from distill.io import read_json
from distill.layout import RunLayout
from distill.students import StudentConfig, build_student
from distill.targets import check, is_set

PAPER_TEACHER = ("BERT-large", 340e6)  # Tang et al. 2019's teacher and its parameter count
PAPER_EMBEDDING = "word2vec GoogleNews 300-d"
PAPER_EMBED_DIM = 300
# what each value of the students' `embedding` setting reads
EMBEDDINGS = {"wordpiece": "the{pre} WordPiece input vectors{post}", "glove50": "GloVe 6B 50-d",
              "random": "random vectors",
              "teacher-pca": "the{pre} contextual token vectors{post} reduced by PCA"}


def _vectors(kind: str, vectors_from: str) -> str:
    """What one embedding setting read: whose tokenizer and vectors the student's `vectors_from` named (empty:
    the run's teacher; "minilm": the pretrained all-MiniLM-L6-v2 the project installs; else a folder)."""
    pre, post = (" teacher's", "") if not vectors_from else ("", (
        " of the pretrained all-MiniLM-L6-v2 (vectors_from = minilm)" if vectors_from == "minilm" else
        f" of {vectors_from} (vectors_from)"))
    return EMBEDDINGS.get(kind, kind).replace("{pre}", pre).replace("{post}", post)


def _embedding_cell(embedding: str, seeds: list[dict]) -> str:
    """The table's embedding column: the setting, and whose vectors it read where a row named them (rows of one
    table can differ only there, e.g. results/sst2-fraction's pretrained against fine-tuned vectors); seeds
    that read different vectors (trained before and after the row set vectors_from) show each."""
    read = list(dict.fromkeys(r.get("vectors_from") or "" for r in seeds))
    if read == [""]:
        return embedding
    if len(read) == 1:
        return f"{embedding} (vectors_from: {read[0]})"
    by_seed = ", ".join(v or "unset (the teacher's)" for v in read)
    return f"{embedding} (vectors_from, by seed: {by_seed})"


def n_epochs(x: float) -> str:
    """'1 epoch', '0.2 epochs', '2 epochs': the count as recorded, without a float's trailing '.0'."""
    return "1 epoch" if float(x) == 1.0 else f"{float(x):g} epochs"


def deviations(config: dict, teacher: dict, task, env: dict | None, rows: list[dict], folder: Path) -> list[str]:
    """The ways this run differs from the paper, each made from what the run recorded (config.json, env.json,
    teacher/metrics.json, the students' metrics and config)."""
    return [_teacher_deviation(config, teacher),
            (f"Data protocol — {task.protocol}. The paper trains on the full GLUE train set and reports GLUE test."
             if task.protocol.startswith("dev-split") else
             f"Dev protocol: the best checkpoint of every model is chosen on {task.name} dev and the same dev set "
             f"is reported (n = {teacher['n_dev']}); the paper reports GLUE test."),
            *_embedding_deviation(rows, folder),
            _hardware(env, rows)]


def teacher_name(teacher: dict) -> str:
    """A teacher's short name from its metrics' model path: wheel folders end in .../<package>/model."""
    model = Path(teacher.get("model", ""))
    if model.name == "model" and model.parent.name == "teacher":  # another run's teacher: runs/<id>/teacher/model
        return f"{model.parent.parent.name}'s teacher"
    return model.parent.name if model.name == "model" else model.name


def _teacher_deviation(config: dict, teacher: dict) -> str:
    name = teacher_name(teacher)
    # a teacher fine-tuned elsewhere was not trained by this run: its epochs are not this config's
    epochs = None if teacher.get("finetuned") else \
        teacher.get("config", {}).get("epochs", config.get("teacher", {}).get("epochs"))
    paper, paper_params = PAPER_TEACHER
    params = teacher.get("params")
    size = (f"{params / 1e6:.1f}M params" if params else "params not recorded") + \
        (f", {n_epochs(epochs)}" if epochs is not None else "") + \
        (f", fine-tuned elsewhere: {teacher.get('model')}" if teacher.get("finetuned") else "")
    diff = f": {paper_params / params:.0f}× fewer parameters" if params else ""
    return f"Teacher: {name or 'a local folder'} ({size}) in place of the paper's {paper} " \
           f"({paper_params / 1e6:.0f}M){diff}."


def _embedding_deviation(rows: list[dict], folder: Path) -> list[str]:
    """What the students read instead of word2vec, and what the WordPiece width does to their size."""
    students = [r for r in rows if r["name"] != "teacher"]
    used = list(dict.fromkeys(_vectors(r["embedding"].removesuffix("-multichannel"), r.get("vectors_from") or "")
                              for r in students))
    if not used:
        return []
    text = (f"Embeddings: the students read {', '.join(used[:-1]) + ' or ' + used[-1] if len(used) > 1 else used[0]}"
            f" (the embedding column) in place of the paper's {PAPER_EMBEDDING}.")
    wide = next((r for r in students if r["embedding"] == "wordpiece-multichannel"
                 and (RunLayout(folder).student(r["folder"]) / "config.json").exists()), None)
    if wide:
        arch = read_json(RunLayout(folder).student(wide["folder"]) / "config.json")["student"]
        paper = build_student(StudentConfig(**{**arch, "vocab_size": 1, "embed_dim": PAPER_EMBED_DIM}))
        paper_params, measured = paper.num_params(non_embedding=True), wide["params_no_embedding"]
        more = "more" if measured > paper_params else "fewer" if measured < paper_params else "as many"
        text += (f" The WordPiece vectors have their model's width ({arch['embed_dim']}-d, the students' "
                 f"config.json), so a multichannel WordPiece student reads {2 * arch['embed_dim']}-d input and has "
                 f"{more} non-embedding parameters ({measured:,}, {wide['name']}) than the same student at the "
                 f"paper's {2 * PAPER_EMBED_DIM}-d configuration ({paper_params:,}); the params columns give the "
                 "measured counts.")
    return [text]


def _machine(m: dict) -> str:
    """'AMD EPYC (2 cores, 23.5 GB RAM, torch CPU kernels AVX512), no GPU' from env.json or a metrics' machine."""
    ram = f", {m['ram_gb']} GB RAM" if m.get("ram_gb") else ""
    isa = f", torch CPU kernels {m['cpu_capability']}" if m.get("cpu_capability") else ""
    gpu = f"GPU {m['gpu']}" if m.get("gpu") else "no GPU"
    return f"{m.get('cpu') or 'CPU model not recorded'} ({m.get('cores', '?')} cores{ram}{isa}), {gpu}"


def _hardware(env: dict | None, rows: list[dict]) -> str:
    """The machine as env.json recorded it (the run's first process wrote it), and the students that finished on
    another device or machine (their metrics.json), e.g. seeds trained where a GPU was lent."""
    text = (f"Hardware (env.json): {_machine(env)} recorded; the max epochs column gives each student's training "
            "budget.") if env else "Hardware: not recorded (no env.json in the run folder)."
    env_kind = ("cuda" if env.get("gpu") else "cpu") if env else None

    def same_as_env(r: dict) -> bool:  # what is not recorded is not called different
        m = r.get("machine")
        return device_kind(r) in (env_kind, None) and (
            not m or not env or all(m.get(k) == env.get(k) for k in ("cpu", "cores", "gpu")))

    elsewhere: dict[str, list[str]] = {}
    for r in rows:
        if r["name"] == "teacher" or same_as_env(r):
            continue
        m = r.get("machine")
        where = f"{r.get('device') or 'device not recorded'}, " + (_machine(m) if m else "machine not recorded")
        elsewhere.setdefault(where, []).append(r["folder"])
    if elsewhere:
        text += " Trained on other hardware (their metrics.json): " + "; ".join(
            f"{', '.join(folders)} on {where}" for where, folders in elsewhere.items()) + "."
    return text


def _ci(value: float, ci: list | None) -> str:
    return f"{value:.4f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{value:.4f}"


def render_markdown(ab: dict) -> str:
    extra = ab.get("extra_dev", [])

    def table(group: str) -> str:
        body = []
        for s in (x for x in ab["summary"] if x["group"] == group):
            seeds = [r for r in ab["rows"] if r["name"] == s["name"]]
            row = [s["name"], s["n_seeds"], f"{s['mean']:.4f}", f"{s['std']:.4f}",
                   ", ".join(_ci(r["accuracy"], r.get("ci95")) for r in seeds)]
            if ab.get("f1"):
                row += [f"{s['f1_mean']:.4f}" if "f1_mean" in s else "",
                        ", ".join(_ci(r["f1"], r.get("f1_ci95")) for r in seeds if "f1" in r)]
            for split in extra:
                row += [f"{s[split + '_mean']:.4f}" if split + "_mean" in s else "",
                        ", ".join(_ci(r["extra_dev"][split]["accuracy"], r["extra_dev"][split]["ci95"])
                                  for r in seeds if split in r.get("extra_dev", {}))]
            row += [f"{s['params']:,}" if s["params"] else "", f"{s['params_no_embedding']:,}"
                    if s["params_no_embedding"] else "", _embedding_cell(s["embedding"], seeds),
                    _minutes(seeds),
                    seeds[0].get("epochs", ""), f"{seeds[0]['train_rows']:,}" if seeds[0].get("train_rows") else ""]
            if ab.get("equal_budget"):
                row += [", ".join(f"{r['stop_reason']} @ {r['examples_seen']:,}" for r in seeds
                                  if r.get("examples_seen") is not None),
                        f"{s['best_examples_mean']:,.0f}" if "best_examples_mean" in s else "",
                        ", ".join(_level_cell(r["level"]) for r in seeds if r.get("level"))]
            body.append(row)
        headers = ["row", "seeds", "mean acc", "std", "each seed acc [95% CI]"]
        if ab.get("f1"):
            headers += ["mean F1", "each seed F1 [95% CI]"]
        for split in extra:
            headers += [f"mean acc {split}", f"each seed {split} [95% CI]"]
        headers += ["params", "params w/o emb", "embedding", "train min/seed (cumulative over resumed processes)",
                    "max epochs", "train rows"]
        if ab.get("equal_budget"):
            headers += ["stopped (each seed, examples seen)", "best at (examples)",
                        "level after best, each seed (evals; change from the window before ± se, points)"]
        return tabulate(body, headers=headers, tablefmt="github")

    task = ab["task"].upper()
    parts = [f"# {task} {ab['split']} ablation — run `{ab['run_id']}`", "",
             f"Made by {_made_by(ab)}; n = {ab['n']} {ab['split']} examples; 95% CIs are percentile "
             "bootstrap (2,000 resamples). Every figure below is read from `ablation.json`.", ""]
    if ab.get("protocol"):
        parts += [f"Data protocol — {ab['protocol']}.", ""]
    if ab.get("equal_budget"):
        parts += ["## Every arm at its own plateau", "",
                  "Each arm's best dev checkpoint over its whole run; the stopped column says whether the run ended "
                  "at a plateau (no better dev score for the patience, in examples seen) or at its maximum budget, "
                  "and after how many examples; best at = examples seen at the kept checkpoint (mean over seeds); "
                  "level = the mean dev accuracy over the evaluations in the last patience window of the run, the "
                  "best excluded (how many in brackets): where the curve sat, not chosen on the reported split; "
                  "after the semicolon, how far that level moved from the window before (the stretch that led up to "
                  "the best), ± its standard error: a rise says the curve was still climbing when the run stopped."
                  + (" Curves: learning_curves.png." if ab.get("curve_groups") else ""), ""]
    parts += [table("ablation"), "", *_time_notes(ab), "", *_input_notes(ab)]
    parts += budget_table(ab)
    if ab.get("ordering"):
        parts += ["## The paper's ordering", "", ab["ordering"], ""]
        for sentence in (crossing_sentence(ab), level_sentence(ab), rising_sentence(ab)):
            parts += [sentence, ""] if sentence else []  # each made once; None where it has nothing to read
    parts += _paired_table(ab)
    parts += _labelling_section(ab)
    parts += _transfer_section(ab.get("transfer_diagnostics"), ab["task"])
    if any(s["group"] == "embedding" for s in ab["summary"]):
        parts += ["## Embedding comparison (bilstm-kd-aug settings, one seed each)", "", table("embedding"),
                  *_curves_line(ab, "embedding"), ""]
    for group in dict.fromkeys(s["group"] for s in ab["summary"] if s["group"] not in ("ablation", "embedding")):
        parts += [f"## Rows of group `{group}`", "", table(group), *_curves_line(ab, group), ""]  # e.g. a family's
    if not ab.get("smoke") and is_set(ab.get("targets")) and any(s["name"] in ORDER for s in ab["summary"]):
        parts += ["## Targets, checked against the figures above", "", *check(ab), ""]
    parts += ["## Deviations from the paper", "", *[f"- {d}" for d in ab["deviations"]], ""]
    if ab.get("smoke"):  # last, so it is what the user reads when the command ends
        parts += ["## What this run showed", "", _smoke_summary(ab), ""]
    return "\n".join(parts)


def _curves_line(ab: dict, group: str) -> list[str]:
    """Where a table group's learning curves are drawn (one row of learning_curves.png per group)."""
    if group not in (ab.get("curve_groups") or []):
        return []
    return ["", f"Dev accuracy while each row trained: learning_curves.png, the row labelled `{group}`."]


def _smoke_summary(ab: dict) -> str:
    """A smoke run ([run] smoke = true, the quick preset) is judged by whether every stage ran, not by the full
    recipe's accuracy targets."""
    students = [s for s in ab["summary"] if s["name"] != "teacher"]
    teacher = next(s for s in ab["summary"] if s["name"] == "teacher")
    fed = f" on {ab['teacher_n_train']:,} sentences" if ab.get("teacher_n_train") else ""
    rows = f" of {ab['transfer_rows']:,} rows" if ab.get("transfer_rows") else ""
    best = max(students, key=lambda s: s["mean"]) if students else None
    return (f"A smoke run of the whole pipeline at small scale: a teacher fine-tuned{fed} (dev {teacher['mean']:.4f}),"
            f" an augmented transfer set{rows} labelled with its logits, and {len(students)} student row(s) trained "
            f"and scored on all {ab['n']:,} dev examples" + (f" (best: {best['name']}, {best['mean']:.4f})" if best
                                                             else "") +
            ". Every stage wrote its output with a record of what made it. At this scale the accuracies show the "
            "pipeline works, not what the recipe reaches: `distill-bench pipeline --preset sst2-paper` runs the "
            "full recipe and checks its targets.")


def _made_by(ab: dict) -> str:
    """The command, or each command with the rows it trained when the students came from several (`--only`)."""
    by: dict[str, list[str]] = {}
    for r in ab["rows"]:
        if r["name"] != "teacher":
            names = by.setdefault(r.get("command") or ab["command"], [])
            names += [] if r["name"] in names else [r["name"]]
    if len(by) <= 1:
        return f"`{ab['command']}`"
    return "; ".join(f"`{cmd}` ({', '.join(names)})" for cmd, names in by.items())


def _labelling_section(ab: dict) -> list[str]:
    """How long the teacher trained and how it labelled the transfer set (teacher/metrics.json, logits/label.json):
    with an expensive teacher both are the run's main cost."""
    t, lab = ab.get("teacher_training") or {}, ab.get("labelling")
    lines = []
    if t.get("steps"):
        epochs = (f" ({n_epochs(t['epochs'])} of {t['n_train']:,} training examples)"
                  if t.get("epochs") and t.get("n_train") else "")
        lines.append(f"The teacher trained for {t['steps']:,} steps{epochs}.")
    if lab and lab.get("n"):
        rows = lab.get("labelled_rows") or lab["n"]
        share = (f"{rows:,} of the transfer set's {lab['n']:,} rows (fraction {lab['fraction']:g}, subset seed "
                 f"{lab['subset_seed']}: every original, and of each original's augmented rows that share, rounded to "
                 "the nearest row)"
                 if lab.get("fraction") not in (None, 1.0) else f"all {rows:,} rows of the transfer set")
        where = "; ".join(x for x in (lab.get("device"), lab.get("threads") and f"{lab['threads']} threads",
                                      lab.get("batch_size") and f"batch {lab['batch_size']}") if x)
        precision = lab.get("precision") if "int8" not in str(lab.get("labeller")) else None  # an int8 labeller's
        # own precision is its name; `precision` is the torch labeller's setting
        detail = "; ".join(x for x in (precision, where) if x)
        how = f"the {lab['labeller']} labeller" + (f" ({detail})" if detail else "") if lab.get("labeller") else ""
        made = lab.get("source_labelled_rows") or rows  # a subset taken from another folder's logits: its time
        # was spent on that folder's rows
        if lab.get("seconds"):
            took = (f" in {lab['seconds'] / 60:.1f} min over {lab.get('runs') or 1} process(es), "
                    f"{made / lab['seconds']:.1f} rows/s")
        elif lab.get("seconds_this_process"):
            took = f" (the last process's time only: {lab['seconds_this_process'] / 60:.1f} min)"
        else:
            took = ""
        gate = lab.get("labeller_gate") or {}
        gated = (f"; the int8 labeller was used because its dev argmax agreement with fp32, {gate['value']:.4f}, "
                 f"cleared {gate['threshold']:g}" if gate.get("passed") else "")
        if lab.get("from_results"):  # kept from the logits another run published, not labelled here
            lines.append(f"The teacher's logits cover {share}: taken from the logits {lab['from_results']} "
                         f"publishes, which cover {made:,} rows, made by {how or 'the teacher'}{took}{gated} "
                         "(logits/label.json).")
        else:
            lines.append(f"The teacher's logits cover {share}, made by {how or 'the teacher'}{took}{gated} "
                         "(logits/label.json).")
    return ["## Teacher and labelling", "", " ".join(lines), ""] if lines else []


def _transfer_section(d: dict | None, task: str) -> list[str]:
    """How the teacher labelled the transfer set (distill/transfer_diagnostics.py)."""
    if not d or d.get("augmented_label_kept") is None:
        return []
    labelled = "" if d["augmented_labelled"] == d["augmented"] else \
        f" ({d['augmented_labelled']:,} of them labelled)"
    return ["## What the teacher taught on the transfer set", "",
            f"{d['originals']:,} originals and {d['augmented']:,} augmented rows{labelled}. On the originals the "
            f"teacher's labels match the gold ones {100 * d['teacher_accuracy_on_originals']:.1f}% of the time "
            f"(mean top-class probability {d['confidence_originals']:.3f}); on the augmented rows its label is the "
            f"gold label of the original each was made from {100 * d['augmented_label_kept']:.1f}% of the time "
            f"(mean top-class probability {d['confidence_augmented']:.3f}). A changed label is not wrong in itself "
            "(a replaced word can change the meaning), but the further both figures fall, the more of what kd-aug "
            "adds is the teacher's own noise (transfer_diagnostics.json)." + _class_shares(d, task), ""]


def _class_shares(d: dict, task: str) -> str:
    """The classes' shares on the originals and the augmented rows: the class prior each arm trains toward."""
    shares = d.get("class_shares") or {}
    if shares.get("augmented_teacher") is None:
        return ""  # a folder published before the shares were measured
    k = len(shares["augmented_teacher"])
    label_names = TASKS[task].label_names if task in TASKS else tuple(f"class {i}" for i in range(k))

    def each(key: str) -> str:
        return " / ".join(f"{100 * x:.1f}%" for x in shares[key])
    return (f" Class shares ({' / '.join(label_names)}): the originals' gold labels {each('originals_gold')}, the "
            f"teacher's labels on the originals {each('originals_teacher')}, on the augmented rows "
            f"{each('augmented_teacher')}; a kd-aug student trains toward the augmented rows' shares, and dev "
            "has the originals'.")


def _paired_table(ab: dict) -> list[str]:
    """Every paired comparison of two arms of one encoder, and of each student row with the teacher
    (distill/ablation_paired.py)."""
    if not ab.get("paired"):
        return []
    teacher = any(p["b"] == "teacher" for p in ab["paired"])
    f1 = all("f1_gap" in p for p in ab["paired"])

    def gap(g: float, ci: list[float]) -> list[str]:
        return [f"{100 * g:+.2f}", f"[{100 * ci[0]:+.2f}, {100 * ci[1]:+.2f}]",
                "yes" if ci[0] > 0 else "no (reversed)" if ci[1] < 0 else "not decided"]

    body = [[p["a"], p["b"], *gap(p["gap"], p["ci95"])]
            + (gap(p["f1_gap"], p["f1_ci95"]) if f1 else [])
            + ([f"{100 * p['ratio']:.1f}% [{100 * p['ratio_ci95'][0]:.1f}, {100 * p['ratio_ci95'][1]:.1f}]",
                f"{100 * p['agreement']:.1f}%"] if p["b"] == "teacher" else ["", ""] if teacher else [])
            + [f"{p['seeds'][0]} vs {p['seeds'][1]}"] for p in ab["paired"]]
    headers = ["A", "B", "A − B (points)", "95% CI", "A better beyond the CI",
               *(["A − B F1 (points)", "F1 95% CI", "A better in F1 beyond the CI"] if f1 else []),
               *(["A ÷ B [95% CI]", "agreement with the teacher"] if teacher else []), "seeds"]
    return ["## Paired differences", "",
            "Row A minus row B in dev accuracy points" + (" and in F1 points (F1 of the positive class, mean "
                                                           "over seeds, from the same resamples)" if f1 else "")
            + f", means over seeds, both scored on the same {ab['n']:,} dev "
            f"examples. 95% CI: a two-level bootstrap ({ab['paired'][0]['resamples']:,} resamples; each draws "
            "every row's seeds with replacement and one set of dev examples shared by both rows), so it carries "
            "seed-to-seed spread and the pairing of examples. Rows are paired when they share a group, a family "
            "and the encoder's size" + (
                ", and every student row with the teacher, where A ÷ B is the share of the teacher's accuracy the "
                "row keeps, from the same resamples, and agreement is how often the row predicts the teacher's "
                "class, right or wrong (mean over seeds)" if teacher else
                "; no row is paired with the teacher, whose dev predictions (predictions/teacher.json) were not "
                "kept when this folder was made, and whose weights are not here to make them")
            + " (the predictions are in predictions/).", "",
            tabulate(body, headers=headers, tablefmt="github", disable_numparse=True), ""]


def _level_cell(level: dict) -> str:
    """One seed's level after its best: the accuracy, how many evaluations, and (when the run is long enough to
    have a window before) its change from that window with the change's standard error."""
    if "rise" not in level:
        return f"{level['accuracy']:.4f} ({level['n_evals']})"
    return (f"{level['accuracy']:.4f} ({level['n_evals']}; {100 * level['rise']:+.2f} ± "
            f"{100 * level['rise_se']:.2f})")


def _minutes(seeds: list[dict]) -> str:
    """Mean training minutes per seed, a mean per device where seeds trained on more than one (a CPU and a GPU
    minute are not the same cost); "not recorded" when any seed lacks its cumulative time."""
    if any(r.get("train_seconds") is None for r in seeds):
        return "not recorded"
    mark = " †" if any(r.get("wall_excludes_stops") is False for r in seeds) else ""
    by_kind: dict[str, list[float]] = {}
    for r in seeds:
        by_kind.setdefault(device_kind(r) or "device not recorded", []).append(r["train_seconds"])
    return " / ".join(f"{sum(s) / len(s) / 60:.1f}" + (f" ({kind}, {len(s)})" if len(by_kind) > 1 else "")
                      for kind, s in by_kind.items()) + mark


def _time_notes(ab: dict) -> list[str]:
    notes = ["Training time is wall time summed over every process of a run that was stopped and resumed, time a "
             "process spent stopped (SIGSTOP, e.g. paused for a benchmark) left out."]
    unverified = [r["folder"] for r in ab["rows"] if r.get("wall_excludes_stops") is False]
    if unverified:
        notes.append(f"† Some seeds' times were recorded before stopped time was left out (distill/clock.py) and may "
                     f"include pauses: {', '.join(unverified)}. Their accuracy and examples seen are unaffected.")
    for r in ab["rows"]:
        if r.get("train_seconds") is None and r.get("train_seconds_last_process") is not None:
            notes.append(f"The {r['name']}'s cumulative training time was not recorded (its metrics.json has only "
                         f"`train_seconds_this_process`): its last process trained for "
                         f"{r['train_seconds_last_process'] / 60:.1f} min, which is not cumulative.")
    return [" ".join(notes)]


def _input_notes(ab: dict) -> list[str]:
    """Whether every seed of a row was trained from the same inputs (teacher folder, transfer set, logits, data:
    the sha256 in each student's record.json), and which seeds were not: seeds are comparable only if so."""
    mixed = []
    for s in ab["summary"]:
        seeds = [r for r in ab["rows"] if r["name"] == s["name"] and r.get("inputs")]
        for key in sorted({k for r in seeds for k in r["inputs"]}):
            values = {r["seed"]: r["inputs"].get(key) for r in seeds}
            if len(set(values.values())) > 1:
                mixed.append(f"{s['name']} read different `{key}` inputs (seed: sha256) — " + ", ".join(
                    f"s{seed}: {str(v)[:12]}…" if v else f"s{seed}: none" for seed, v in values.items()))
    if not mixed:
        return []
    return ["Inputs: the seeds of some rows were not trained from the same files (their record.json), so their "
            "spread includes that difference: " + "; ".join(mixed) + ".", ""]


