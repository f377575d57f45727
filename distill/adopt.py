"""A run made from a published results folder's committed teacher logits, without the teacher's weights.

    [label]
    from_results = "results/sst2-mpnet"      # holds logits/{logits.npy,label.json} and teacher/metrics.json

Labelling with an expensive teacher can take hours, and a teacher trained again is not bit-identical; its logits
over the transfer set are a few MB, so a results folder may keep them (distill/ablation.py publishes them when
the run took ≥ 30 min in all). A fresh machine then retrains the students without the teacher: the augment
stage remakes the transfer set from the config (the same data, settings and seed), whose sha256 must equal the
one the logits were made over (their label.json), else the run is refused; the teacher stage takes the teacher's
metrics.json (its dev accuracy, size and training time as measured where it was trained) and the label stage
the logits, each under a record naming the folder and the sha256 of what it copied. A student that reads the
teacher's own folder (its vectors or layers) cannot run here: give it `vectors_from`.

With `fraction` < 1 (and `subset_seed`) the run keeps only the rows a labelling at that fraction would have
labelled (distill/transfer_set.label_subset: every original, a seeded share of each original's augmented rows),
the others NaN as in a partial labelling: the augmentation multiplier measured on the very logits a run used,
without labelling again. Those logits are then not a byte copy: label.json says which rows, and where from.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from distill.errors import UserError
from distill.io import atomic_path, file_sha256, read_json, write_json
from distill.layout import RunLayout
from distill.record import claim, complete, make_record
from distill.transfer_set import label_subset, read_transfer_set


def source_folder(folder: str | Path) -> RunLayout:
    """The results folder `from_results` names, refused unless it holds what the run takes from it."""
    source = RunLayout(Path(folder))
    for path in (source.teacher_metrics, source.logits / "logits.npy", source.label_stats):
        if not path.is_file():
            raise UserError(f"[label] from_results: {path} not found (publish a run that took ≥ 30 min in all "
                            "with `distill-bench ablation RUN --out FOLDER`, which keeps its logits)")
    return source


def _copy(source: Path, target: Path) -> None:
    """Byte for byte: the stage's record names the folder and sha256, so the copy adds nothing to the file. A
    copy that did (its source's path, say) would come back changed when the run is published into the folder it
    came from, and the next run from that folder would be refused as made from other inputs."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def adopt_teacher_metrics(folder: str | Path, run: RunLayout, force: bool) -> dict:
    """The teacher stage of a run made from committed logits: the source's teacher metrics, no weights."""
    source = source_folder(folder)
    record = make_record("teacher", {"teacher": {"from_results": str(folder)}},
                         {"teacher_metrics": file_sha256(source.teacher_metrics)})
    decision = claim(run.teacher, record, force, what=f"teacher {run.teacher}")
    if decision != "skip":
        _copy(source.teacher_metrics, run.teacher_metrics)
        complete(run.teacher)
    return read_json(run.teacher_metrics)


def adopt_logits(folder: str | Path, transfer: Path, out: Path, force: bool, fraction: float = 1.0,
                 subset_seed: int = 0) -> dict:
    """The label stage of a run made from committed logits: copied once the transfer sets match (the rows of
    the subset `fraction`, `subset_seed` chooses, when fraction < 1)."""
    source = source_folder(folder)
    stats = read_json(source.label_stats)
    mine = file_sha256(transfer)
    if stats.get("transfer_sha256") != mine:
        raise UserError(f"{source.label_stats}: its logits label a transfer set with sha256 "
                        f"{str(stats.get('transfer_sha256'))[:12]}…, this run's {transfer} is {mine[:12]}…: the "
                        "augment settings, seed or data differ from the run that made them")
    logits = source.logits / "logits.npy"
    settings = {"from_results": str(folder), **({"fraction": fraction, "subset_seed": subset_seed}
                                                  if fraction < 1.0 else {})}
    record = make_record("label", settings, {"logits": file_sha256(logits), "transfer": mine})
    decision = claim(out, record, force, what=f"logits {out}")
    if decision != "skip":
        if fraction < 1.0:
            _subset(logits, stats, transfer, out, folder, fraction, subset_seed)
        else:
            _copy(logits, out / "logits.npy")
            _copy(source.label_stats, out / "label.json")
        complete(out)
    return read_json(out / "label.json")


def _subset(logits: Path, stats: dict, transfer: Path, out: Path, folder, fraction: float, seed: int) -> None:
    full = np.load(logits, allow_pickle=False)
    keep = label_subset(read_transfer_set(transfer), fraction, seed)
    if np.isnan(full[keep]).any():
        raise UserError(f"{logits}: some rows of the fraction-{fraction:g} subset (seed {seed}) have no logits there "
                        "(that run labelled another subset); take its own fraction and subset_seed")
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "logits.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, np.where(keep[:, None], full, np.nan).astype(np.float32))
    # the source's labelling facts (teacher, labeller, time over all its rows) with what this run kept of them
    write_json(out / "label.json", {**stats, "fraction": fraction, "subset_seed": seed,
                                    "labelled_rows": int(keep.sum()), "from_results": str(folder),
                                    "source_labelled_rows": stats.get("labelled_rows") or stats.get("n")})
