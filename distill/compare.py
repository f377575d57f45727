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


def compare(a: Path, b: Path) -> dict:
    (run_a, ab_a), (run_b, ab_b) = _side(a), _side(b)
    for key in ("task", "protocol", "n"):
        if ab_a.get(key) != ab_b.get(key):
            raise UserError(f"{a} and {b} score different dev sets ({key}: {ab_a.get(key)!r} vs {ab_b.get(key)!r})")
    correct_a = correct_by_row(run_a, run_a.task(), ab_a["rows"])
    correct_b = correct_by_row(run_b, run_b.task(), ab_b["rows"])
    teacher = {side: next(r for r in ab["rows"] if r["name"] == "teacher") for side, ab in (("a", ab_a), ("b", ab_b))}
    means = {side: {s["name"]: s for s in ab["summary"]} for side, ab in (("a", ab_a), ("b", ab_b))}
    rows = []
    for name in (n for n in means["a"] if n != "teacher" and n in means["b"]):
        gap = paired_gap(correct_a[name], correct_b[name]) if name in correct_a and name in correct_b else None
        rows.append({"name": name, "a_mean": means["a"][name]["mean"], "b_mean": means["b"][name]["mean"],
                     "a_seeds": means["a"][name]["n_seeds"], "b_seeds": means["b"][name]["n_seeds"],
                     "a_of_teacher": means["a"][name]["mean"] / teacher["a"]["accuracy"],
                     "b_of_teacher": means["b"][name]["mean"] / teacher["b"]["accuracy"], "paired": gap})
    if not rows:
        raise UserError(f"{a} and {b} have no student row name in common")
    return {"a": str(a), "b": str(b), "run_a": ab_a["run_id"], "run_b": ab_b["run_id"], "task": ab_a["task"],
            "n": ab_a["n"], "protocol": ab_a.get("protocol"),
            "teachers": {side: {"accuracy": t["accuracy"], "ci95": t.get("ci95"), "params": t.get("params"),
                                "model": _teacher_name(run)}
                         for side, t, run in (("a", teacher["a"], run_a), ("b", teacher["b"], run_b))},
            "rows": rows}


def _teacher_name(run: RunLayout) -> str | None:
    return teacher_name(read_json(run.teacher_metrics)) if run.teacher_metrics.is_file() else None


def render(c: dict) -> str:
    t = c["teachers"]
    body = []
    for r in c["rows"]:
        p = r["paired"]
        body.append([r["name"], f"{r['a_mean']:.4f} ({r['a_seeds']})", f"{r['b_mean']:.4f} ({r['b_seeds']})",
                     f"{100 * (r['a_mean'] - r['b_mean']):+.2f}",
                     f"[{100 * p['ci95'][0]:+.2f}, {100 * p['ci95'][1]:+.2f}]" if p else "no predictions",
                     ("A" if p["ci95"][0] > 0 else "B" if p["ci95"][1] < 0 else "not decided") if p else "",
                     f"{100 * r['a_of_teacher']:.1f}%", f"{100 * r['b_of_teacher']:.1f}%"])

    def teacher_line(side: str, label: str) -> str:
        ci = t[side]["ci95"]
        size = f", {t[side]['params'] / 1e6:.1f}M params" if t[side].get("params") else ""
        return (f"- {label}: run `{c['run_' + side]}` ({c[side]}), teacher {t[side]['model']}{size}: dev accuracy "
                f"{t[side]['accuracy']:.4f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""))

    return "\n".join([
        f"# {c['task'].upper()}: run `{c['run_a']}` (A) against run `{c['run_b']}` (B)", "",
        f"Made by `distill-bench compare {c['a']} {c['b']}`; both on the same {c['n']:,} dev examples"
        + (f" ({c['protocol']})" if c.get("protocol") else "") + ". Every figure is read from the two folders' "
        "ablation.json and predictions/.", "",
        teacher_line("a", "A"), teacher_line("b", "B"), "",
        tabulate(body, headers=["row", "A mean (seeds)", "B mean (seeds)", "A − B (points)", "paired 95% CI",
                                "better beyond the CI", "A of its teacher", "B of its teacher"],
                 tablefmt="github", disable_numparse=True), "",
        "Paired 95% CI: a two-level bootstrap (2,000 resamples; each run's seeds resampled, one set of dev examples "
        "shared by both), so it carries seed-to-seed spread and the pairing of examples. \"Of its teacher\": the "
        "row's mean accuracy over its own teacher's.", ""])


def write_compare(a: Path, b: Path, out: Path) -> dict:
    c = compare(a, b)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "compare.json", c)
    md = render(c)
    write_text(out / "compare.md", md)
    print(md)
    return c
