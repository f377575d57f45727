"""A trained student folder as an export Source, at the length it was trained at.

Export traces the trained module as it is (the folded targets fold it themselves); `folded=True` gives the
inference form the benchmark times as "torch" instead: the trained or the folded student (distill/folded.py),
whichever measured faster at load for small and for large batches — the same logits either way — so
eager-vs-eager ratios measure the architecture, not a missed optimisation."""

from __future__ import annotations

from pathlib import Path

from distill.errors import UserError
from distill.families import get_family
from distill.folded import MeasuredForm
from distill.student_files import load_student
from export.contract import PairStudentForExport, StudentForExport
from export.encoder import TextEncoder
from export.source import Source


def load_student_source(folder: str | Path, name: str | None = None, folded: bool = False) -> Source:
    folder = Path(folder)
    model, vocab, config = load_student(folder)
    if not isinstance(config.get("max_length"), int) or config["max_length"] < 1:
        raise UserError(f"{folder / 'config.json'}: no max_length recorded (the length the student was trained "
                        f"at, a positive integer; got {config.get('max_length')!r})")
    wrapper = PairStudentForExport if model.cfg.pair else StudentForExport
    folded = folded and get_family(model.cfg.family).foldable  # a family without a fold runs as trained
    form = MeasuredForm(model) if folded else model
    module = wrapper(form).eval()
    return Source(name=name or folder.name, kind="student", module=module, pair=model.cfg.pair,
                  encoder=TextEncoder("student", folder), checkpoint=folder / "model.safetensors",
                  label_names=list(config.get("label_names") or range(model.cfg.num_labels)),
                  max_length=config["max_length"], vocab_size=len(vocab), first_token_id=3,
                  info={"params": model.num_params(False), "params_no_embedding": model.num_params(True),
                        "student": config["student"], "max_length": config["max_length"],
                        "max_length_from": "config.json max_length",
                        "eager_form": form.choice if folded else "trained"})
