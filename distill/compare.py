"""`distill-bench compare A B --out DIR`: the same student rows of two runs (two teachers, two transfer sets) on
the same dev examples, each gap with a paired CI.

Both folders are runs or published results with their ablation.json (distill-bench ablation) and students'
dev predictions (predictions/, distill/predictions.py). They must score the same task's same dev examples
(task, protocol and n are checked). Every row name present in both is compared: A's mean minus B's, with the
two-level bootstrap of distill/metrics.paired_gap (each run's seeds resampled, one set of dev examples
shared). Each row's share of its own teacher's accuracy is reported beside it. Nothing here trains or times.
"""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from distill.ablation_paired import correct_by_row
from distill.ablation_text import teacher_name
from distill.errors import UserError
from distill.io import read_json, write_json, write_text
from distill.layout import RunLayout
from distill.metrics import paired_gap


def _side(folder: Path) -> tuple[RunLayout, dict]:
    run = RunLayout(folder)
    if not run.ablation_json.is_file():
        raise UserError(f"{run.ablation_json}: not found (run `distill-bench ablation {folder}` first)")
    return run, read_json(run.ablation_json)


def parse_rows(text: str | None) -> list[tuple[str, str]] | None:
    """`--rows A_ROW=B_ROW,…`: which row of A faces which row of B (rows of other names, e.g. an experiment's
    variant against the recipe's row); none: every row name the two have in common."""
    if not text:
        return None
    pairs = [tuple(part.split("=")) for part in text.split(",")]
    bad = [p for p in pairs if len(p) != 2 or not all(x.strip() for x in p)]
    if bad:
        raise UserError(f"--rows: expected A_ROW=B_ROW pairs separated by commas, got {text!r}")
    return [(x.strip(), y.strip()) for x, y in pairs]


def compare(a: Path, b: Path, pairs: list[tuple[str, str]] | None = None) -> dict:
    (run_a, ab_a), (run_b, ab_b) = _side(a), _side(b)
    for key in ("task", "protocol", "n"):
        if ab_a.get(key) != ab_b.get(key):
            raise UserError(f"{a} and {b} score different dev sets ({key}: {ab_a.get(key)!r} vs {ab_b.get(key)!r})")
    correct_a = correct_by_row(run_a, run_a.task(), ab_a["rows"])
    correct_b = correct_by_row(run_b, run_b.task(), ab_b["rows"])
    teacher = {side: next(r for r in ab["rows"] if r["name"] == "teacher") for side, ab in (("a", ab_a), ("b", ab_b))}
    means = {side: {s["name"]: s for s in ab["summary"]} for side, ab in (("a", ab_a), ("b", ab_b))}
    if pairs is None:
        pairs = [(n, n) for n in means["a"] if n != "teacher" and n in means["b"]]
    for side, folder, names in (("a", a, [x for x, _ in pairs]), ("b", b, [y for _, y in pairs])):
        missing = [n for n in names if n not in means[side] or n == "teacher"]
        if missing:
            raise UserError(f"--rows: {folder} has no student row {missing[0]!r}; its rows: "
                            f"{', '.join(n for n in means[side] if n != 'teacher')}")
    rows = []
    for x, y in pairs:
        gap = paired_gap(correct_a[x], correct_b[y]) if x in correct_a and y in correct_b else None
        rows.append({"name": x if x == y else f"{x} vs {y}", "a_row": x, "b_row": y,
                     "a_mean": means["a"][x]["mean"], "b_mean": means["b"][y]["mean"],
                     "a_seeds": means["a"][x]["n_seeds"], "b_seeds": means["b"][y]["n_seeds"],
                     "a_of_teacher": means["a"][x]["mean"] / teacher["a"]["accuracy"],
                     "b_of_teacher": means["b"][y]["mean"] / teacher["b"]["accuracy"], "paired": gap})
    if not rows:
        raise UserError(f"{a} and {b} have no student row name in common (pair rows of other names with --rows)")
    return {"a": str(a), "b": str(b), "run_a": ab_a["run_id"], "run_b": ab_b["run_id"], "task": ab_a["task"],
            "n": ab_a["n"], "protocol": ab_a.get("protocol"),
            "teachers": {side: {"accuracy": t["accuracy"], "ci95": t.get("ci95"), "params": t.get("params"),
                                "model": _teacher_name(run)}
                         for side, t, run in (("a", teacher["a"], run_a), ("b", teacher["b"], run_b))},
            "teacher_paired": paired_gap(correct_a["teacher"], correct_b["teacher"])
            if "teacher" in correct_a and "teacher" in correct_b else None,
            "rows": rows}


def _teacher_intervals(t: dict) -> str:
    """Whether the teachers' separate 95% CIs overlap: intervals apart decide the gap without pairing (a stricter
    test than a paired one); overlapping ones do not decide it either way."""
    a, b = t["a"].get("ci95"), t["b"].get("ci95")
    if not (a and b):
        return ""
    apart = a[0] > b[1] or b[0] > a[1]
    return (f"; their separate 95% CIs, [{a[0]:.3f}, {a[1]:.3f}] and [{b[0]:.3f}, {b[1]:.3f}], "
            + ("do not overlap, so the gap is beyond them" if apart else "overlap, so they alone do not decide it"))


def _teacher_name(run: RunLayout) -> str | None:
    return teacher_name(read_json(run.teacher_metrics)) if run.teacher_metrics.is_file() else None


def _verdict(p: dict | None) -> str:
    return "" if not p else "A" if p["ci95"][0] > 0 else "B" if p["ci95"][1] < 0 else "not decided"


def summary_paragraph(c: dict) -> str:
    """What the table says, in words: the two teachers, then each row's gap with its paired CI and who is better
    beyond it, and how much of its own teacher each side keeps. Read from compare.json only."""
    t = c["teachers"]
    tp = c.get("teacher_paired")
    said = (f"paired 95% CI [{100 * tp['ci95'][0]:+.2f}, {100 * tp['ci95'][1]:+.2f}], "
            + {"A": "A's teacher is better beyond it", "B": "B's teacher is better beyond it",
               "not decided": "not decided"}[_verdict(tp)] if tp else
            f"the teachers' own dev predictions are not kept, so this gap has no paired CI{_teacher_intervals(t)}")
    lead = (f"A's teacher scores {t['a']['accuracy']:.4f} and B's {t['b']['accuracy']:.4f} "
            f"({100 * (t['a']['accuracy'] - t['b']['accuracy']):+.2f} points, A − B; {said}).")
    parts = []
    for r in c["rows"]:
        p, v = r["paired"], _verdict(r["paired"])
        ci = f", paired 95% CI [{100 * p['ci95'][0]:+.2f}, {100 * p['ci95'][1]:+.2f}]" if p else ""
        said = {"A": "A is better beyond the CI", "B": "B is better beyond the CI",
                "not decided": "the CI includes zero: not decided", "": "no dev predictions to pair"}[v]
        parts.append(f"{r['name']}: A − B = {100 * (r['a_mean'] - r['b_mean']):+.2f} points{ci} ({said}); "
                     f"A keeps {100 * r['a_of_teacher']:.1f}% of its teacher, B {100 * r['b_of_teacher']:.1f}%")
    return lead + " Students (mean over seeds): " + "; ".join(parts) + "."


def render(c: dict) -> str:
    t = c["teachers"]
    body = []
    for r in c["rows"]:
        p = r["paired"]
        body.append([r["name"], f"{r['a_mean']:.4f} ({r['a_seeds']})", f"{r['b_mean']:.4f} ({r['b_seeds']})",
                     f"{100 * (r['a_mean'] - r['b_mean']):+.2f}",
                     f"[{100 * p['ci95'][0]:+.2f}, {100 * p['ci95'][1]:+.2f}]" if p else "no predictions",
                     _verdict(p),
                     f"{100 * r['a_of_teacher']:.1f}%", f"{100 * r['b_of_teacher']:.1f}%"])

    def teacher_line(side: str, label: str) -> str:
        ci = t[side]["ci95"]
        size = f", {t[side]['params'] / 1e6:.1f}M params" if t[side].get("params") else ""
        return (f"- {label}: run `{c['run_' + side]}` ({c[side]}), teacher {t[side]['model']}{size}: dev accuracy "
                f"{t[side]['accuracy']:.4f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""))

    return "\n".join([
        f"# {c['task'].upper()}: run `{c['run_a']}` (A) against run `{c['run_b']}` (B)", "",
        f"Made by `distill-bench compare {c['a']} {c['b']}"
        + (f" --rows {','.join(r['a_row'] + '=' + r['b_row'] for r in c['rows'])}" if any(
            r["a_row"] != r["b_row"] for r in c["rows"]) else "") + f"`; both on the same {c['n']:,} dev examples"
        + (f" ({c['protocol']})" if c.get("protocol") else "") + ". Every figure is read from the two folders' "
        "ablation.json and predictions/.", "",
        teacher_line("a", "A"), teacher_line("b", "B"), "", summary_paragraph(c), "",
        tabulate(body, headers=["row", "A mean (seeds)", "B mean (seeds)", "A − B (points)", "paired 95% CI",
                                "better beyond the CI", "A of its teacher", "B of its teacher"],
                 tablefmt="github", disable_numparse=True), "",
        "Paired 95% CI: a two-level bootstrap (2,000 resamples; each run's seeds resampled, one set of dev examples "
        "shared by both), so it carries seed-to-seed spread and the pairing of examples. \"Of its teacher\": the "
        "row's mean accuracy over its own teacher's.", ""])


def write_compare(a: Path, b: Path, out: Path, pairs: list[tuple[str, str]] | None = None) -> dict:
    c = compare(a, b, pairs)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "compare.json", c)
    md = render(c)
    write_text(out / "compare.md", md)
    print(md)
    return c
