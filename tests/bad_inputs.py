"""Every way a user can hand distill-bench something wrong, what they see, and the exit code.

    python -m tests.bad_inputs --out results/robustness.md      # the table (~1 min, tiny random models)

One list of cases serves the table and tests/test_bad_inputs.py. Each case writes its input into a workspace
of good files (tiny data, a tiny random BERT teacher, a tiny run folder and its ONNX export), runs the real
command line in this process, and records the exit code and the first line the user sees. Exit 2 is a user
error (one line, no traceback); exit 0 means the input is accepted and handled (the note says how).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import pickle
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

GOOD_ROWS = [("a gorgeous , witty film", "1"), ("dull and lifeless", "0"), ("the best of the year", "1"),
             ("a waste of two hours", "0"), ("charming and funny", "1"), ("tedious", "0")]


@dataclass
class Workspace:
    root: Path
    teacher: Path = field(init=False)
    run: Path = field(init=False)
    artifact: Path = field(init=False)  # the tiny student's ONNX export (word vocabulary, max length 8)
    good: Path = field(init=False)  # a valid SST-2-style train/dev file

    def file(self, name: str, content: str | bytes) -> Path:
        path = self.root / "inputs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path

    def tsv(self, name: str, rows=GOOD_ROWS, header: str = "sentence\tlabel") -> Path:
        return self.file(name, header + "\n" + "".join("\t".join(r) + "\n" for r in rows))

    def out(self, name: str) -> Path:
        return self.root / "outputs" / name

    def copy(self, src: Path, name: str) -> Path:
        dst = self.root / "inputs" / name
        shutil.rmtree(dst, ignore_errors=True)  # a case that runs twice (or two cases) start from a fresh copy
        shutil.copytree(src, dst)
        return dst


def make_workspace(root: Path) -> Workspace:
    from export.context import ExportOptions
    from export.run import export_run
    from tests.tiny import make_tiny_run, make_tiny_teacher

    ws = Workspace(root)
    ws.teacher = make_tiny_teacher(root / "teacher")
    ws.run = make_tiny_run(root / "run", ws.teacher)
    export_run(ws.run, models=["tiny-s0"], targets=["onnx", "pt2"], out=root / "export",
               options=ExportOptions(dev_limit=32))
    ws.artifact = root / "export" / "tiny-s0" / "onnx"
    ws.good = ws.tsv("good.tsv")
    return ws


@dataclass
class Case:
    category: str
    given: str  # what the user hands in
    argv: Callable[[Workspace], list[str]]
    expect: str  # a fragment of what the user must see (the file, line, field or option, and what was wrong)
    exit: int = 2
    handled: str = ""  # for accepted input (exit 0): how it is handled
    not_created: str = ""  # a file a pickle payload would create if it were ever run


def augment_with(train: Callable[[Workspace], Path], *extra: str) -> Callable[[Workspace], list[str]]:
    """`augment` reads and validates a user's train file (labels, columns, text) before any work."""
    def argv(ws: Workspace) -> list[str]:
        return ["augment", "--train", str(train(ws)), "--dev", str(ws.good), *extra, "--n-iter", "1",
                "--workers", "1", "--out", str(ws.out(f"{train(ws).stem}.tsv"))]
    return argv


def teacher_with(model: Callable[[Workspace], Path], dev: Callable[[Workspace], Path] | None = None):
    def argv(ws: Workspace) -> list[str]:
        return ["teacher", "--train", str(ws.good), "--dev", str(dev(ws) if dev else ws.good), "--model",
                str(model(ws)), "--epochs", "1", "--batch-size", "2", "--out", str(ws.out("teacher"))]
    return argv


def label_with(teacher: Callable[[Workspace], Path]):
    def argv(ws: Workspace) -> list[str]:
        transfer = ws.file("transfer.tsv", "text\tlabel\torigin\nfine film\t1\t0\n")
        return ["label", "--teacher", str(teacher(ws)), "--transfer", str(transfer), "--out",
                str(ws.out(f"logits-{teacher.__name__}"))]
    return argv


def finetuned_with(folder: Callable[[Workspace], Path], *extra: str):
    def argv(ws: Workspace) -> list[str]:
        return ["teacher", "--train", str(ws.good), "--dev", str(ws.good), "--finetuned", str(folder(ws)), *extra,
                "--out", str(ws.out(f"adopted-{folder.__name__}"))]
    return argv


def import_with(file: Callable[[Workspace], Path], *extra: str):
    def argv(ws: Workspace) -> list[str]:
        return ["import", str(ws.run), str(file(ws)), "--name", "theirs", "--tokenizer", str(ws.teacher),
                "--max-length", "16", *extra]
    return argv


def onnx_with_odd_inputs(ws):
    """An ONNX classifier whose second input is named so nothing can be inferred from it."""
    import torch

    class Odd(torch.nn.Module):
        def forward(self, input_ids, q):
            return torch.nn.functional.one_hot(input_ids[:, 0] % 2, 2).float() + q[:, :1].float()
    path = ws.root / "inputs" / "odd.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    ex = (torch.ones(2, 5, dtype=torch.long), torch.ones(2, 5, dtype=torch.long))
    torch.onnx.export(Odd(), ex, str(path), dynamo=False, input_names=["input_ids", "q"],
                      dynamic_axes={"input_ids": {0: "b", 1: "s"}, "q": {0: "b", 1: "s"}})
    return path


def three_label_classifier(ws):
    """A real 3-label classifier (head and config agree), for a 2-class task."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    folder = ws.copy(ws.teacher, "three-label-classifier")
    config = json.loads((folder / "config.json").read_text())
    keep = {k: v for k, v in config.items() if k not in ("architectures", "id2label", "label2id")}
    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(**keep, num_labels=3)).save_pretrained(folder)
    return folder


def named_labels(ws):
    folder = ws.copy(ws.teacher, "named-labels")
    config = json.loads((folder / "config.json").read_text())
    config.update(id2label={"0": "NEG", "1": "POS"}, label2id={"NEG": 0, "POS": 1})
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def predict_with(*texts: str, artifact: Callable[[Workspace], Path] | None = None, extra: tuple = ()):
    def argv(ws: Workspace) -> list[str]:
        return ["predict", str(artifact(ws) if artifact else ws.artifact), *extra, "--", *texts]
    return argv


def config_with(body: str):
    def argv(ws: Workspace) -> list[str]:
        return ["pipeline", "--config", str(ws.file("config.toml", body)), "--runs", str(ws.out("runs"))]
    return argv


# --- model folders, checkpoints and artifacts the cases break -------------------------------------------------
def teacher_without_config(ws):
    folder = ws.copy(ws.teacher, "no-config")
    (folder / "config.json").unlink()
    return folder


def teacher_bad_config(ws):
    folder = ws.copy(ws.teacher, "bad-config")
    (folder / "config.json").write_text("{not json")
    return folder


def teacher_three_labels(ws):
    folder = ws.copy(ws.teacher, "three-labels")
    config = json.loads((folder / "config.json").read_text())
    config.update(id2label={"0": "a", "1": "b", "2": "c"}, label2id={"a": 0, "b": 1, "c": 2})
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def teacher_pickle_only(ws):
    folder = ws.copy(ws.teacher, "pickle-only")
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    return folder


def teacher_no_tokenizer(ws):
    folder = ws.copy(ws.teacher, "no-tokenizer")
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (folder / name).unlink(missing_ok=True)
    return folder


def teacher_truncated_weights(ws):
    folder = ws.copy(ws.teacher, "truncated")
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    return folder


class Payload:
    """A pickle that would create a file when unpickled: the proof that nothing was unpickled."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def run_with_student_weights(content: Callable[[Workspace], bytes]):
    def argv(ws: Workspace) -> list[str]:
        run = ws.copy(ws.run, f"run-{content.__name__}")
        (run / "students" / "tiny-s0" / "model.safetensors").write_bytes(content(ws))
        return ["export", str(run), "--models", "tiny-s0", "--targets", "onnx", "--out", str(ws.out("export"))]
    return argv


def truncated_student(ws):
    return (ws.run / "students" / "tiny-s0" / "model.safetensors").read_bytes()[:100]


def pickle_payload(ws):
    return pickle.dumps(Payload(ws.root / "PWNED-weights"))


def student_with_pickled_state(ws):
    """A student folder holding a state.pt that is really a pickle payload (resume reads state.pt)."""
    transfer = ws.file("transfer.tsv", "text\tlabel\torigin\n" + "".join(f"{t}\t{y}\t{i}\n" for i, (t, y)
                                                                        in enumerate(GOOD_ROWS)))
    from distill.data import task_from
    from distill.record import claim
    from distill.train import student_config, student_record

    out = ws.out("student-pickled-state")
    out.mkdir(parents=True, exist_ok=True)
    # what an interrupted run of this same command leaves: its unfinished record, and the state.pt it resumes from
    task = task_from(None, ws.good, ws.good)
    cfg = student_config(task, {"examples": "original", "alpha": 1.0, "embedding": "random"})
    claim(out, student_record(task, transfer, None, cfg, None), log=lambda *a: None)
    with open(out / "state.pt", "wb") as f:
        pickle.dump(Payload(ws.root / "PWNED-state"), f)
    return ["student", "--train", str(ws.good), "--dev", str(ws.good), "--transfer", str(transfer), "--examples",
            "original", "--alpha", "1", "--embedding", "random", "--out", str(out)]


def logits_pickled(ws):
    import numpy as np

    transfer = ws.file("transfer.tsv", "text\tlabel\torigin\nfine film\t-1\t0\n")
    folder = ws.out("logits-pickled")
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "logits.npy", np.array([Payload(ws.root / "PWNED-logits")], dtype=object), allow_pickle=True)
    return ["student", "--train", str(ws.good), "--dev", str(ws.good), "--transfer", str(transfer), "--logits",
            str(folder), "--embedding", "random", "--out", str(ws.out("student-pickled-logits"))]


def artifact_changed(ws):
    folder = ws.copy(ws.artifact, "changed-onnx")
    with open(folder / "model.onnx", "ab") as f:
        f.write(b"\0")
    return folder


def artifact_garbage(target: str, name: str, info: dict | None = None):
    """An artifact whose manifest matches its file's sha256, but the file is not a model of that format: the
    runtime's own parser must fail, as one line."""
    def make(ws):
        from distill.io import file_sha256

        folder = ws.copy(ws.artifact, f"garbage-{target}")
        manifest = json.loads((folder / "manifest.json").read_text())
        for old in manifest["files"]:
            (folder / old).unlink()
        (folder / name).write_bytes(b"this is not a model\n" * 50)
        manifest.update(target=target, files=[name], info={**manifest.get("info", {}), **(info or {})},
                        file_info={name: {"bytes": 1000, "sha256": file_sha256(folder / name)}})
        (folder / "manifest.json").write_text(json.dumps(manifest))
        return folder
    make.__name__ = f"garbage_{target}"
    return make


def pt2_with_payload(ws):
    """A real .pt2 whose sample-inputs entry is swapped for a pickle payload, the manifest's sha256 updated:
    torch.export.load would retry it with full unpickling (and run it) unless forced safe."""
    import zipfile

    import torch

    from distill.io import file_sha256

    folder = ws.copy(ws.artifact.parent / "pt2", "payload-pt2")
    payload = io.BytesIO()
    torch.save(Payload(ws.root / "PWNED-pt2"), payload)
    original = folder / "model.pt2"
    swapped = folder / "swapped.pt2"
    with zipfile.ZipFile(original) as zin, zipfile.ZipFile(swapped, "w") as zout:
        for item in zin.infolist():
            data = payload.getvalue() if item.filename.endswith("sample_inputs/model.pt") else zin.read(item)
            zout.writestr(item, data)
    swapped.replace(original)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["file_info"]["model.pt2"]["sha256"] = file_sha256(original)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def bad_manifest(ws):
    folder = ws.copy(ws.artifact, "bad-manifest")
    (folder / "manifest.json").write_text('{"target": "onnx"}')
    return folder


STUDENT_ROWS = """
[students.s]
embedding = "random"
epochs = 1.0
"""

CASES = [
    # --- data files -----------------------------------------------------------------------------------------
    Case("data", "missing train file", augment_with(lambda ws: ws.root / "inputs" / "nope.tsv"), "file not found"),
    Case("data", "empty file", augment_with(lambda ws: ws.file("empty.tsv", "")), "file is empty"),
    Case("data", "header only", augment_with(lambda ws: ws.file("header.tsv", "sentence\tlabel\n")),
         "has a header but no examples"),
    Case("data", "wrong column names", augment_with(lambda ws: ws.tsv("wrongcol.tsv", header="text\tlabel")),
         ":1: missing column(s) ['sentence']"),
    Case("data", "duplicate column", augment_with(lambda ws: ws.file("dup.tsv", "sentence\tsentence\tlabel\na\tb\t1\n")),
         ":1: duplicate column name(s)"),
    Case("data", "too many fields on a line",
         augment_with(lambda ws: ws.tsv("many.tsv", [*GOOD_ROWS[:2], ("x", "1", "extra"), *GOOD_ROWS[2:]])),
         ":4: expected 2 fields"),
    Case("data", "too few fields on a line", augment_with(lambda ws: ws.tsv("few.tsv", [*GOOD_ROWS[:3], ("x",)])),
         ":5: expected 2 fields"),
    Case("data", "blank line", augment_with(lambda ws: ws.tsv("blank.tsv", [*GOOD_ROWS[:2], ("",), *GOOD_ROWS[2:]])),
         ":4: blank line"),
    Case("data", "empty text", augment_with(lambda ws: ws.tsv("emptytext.tsv", [("", "1"), *GOOD_ROWS])),
         ":2: field 'sentence': empty text"),
    Case("data", "whitespace-only text", augment_with(lambda ws: ws.tsv("ws.tsv", [*GOOD_ROWS, ("   ", "0")])),
         ":8: field 'sentence': empty text"),
    Case("data", "label not in the train labels (dev file)",
         teacher_with(lambda ws: ws.teacher, dev=lambda ws: ws.tsv("devlabel.tsv", [*GOOD_ROWS, ("odd", "2")])),
         ":8: field 'label': unknown label '2'"),
    Case("data", "negative label", augment_with(lambda ws: ws.tsv("neg.tsv", [*GOOD_ROWS, ("x", "-1")])),
         ":8: field 'label': negative label '-1'"),
    Case("data", "float label", augment_with(lambda ws: ws.tsv("float.tsv", [*GOOD_ROWS, ("x", "0.5")])),
         ":8: field 'label': label '0.5' is a number but not an integer"),
    Case("data", "one class only", augment_with(lambda ws: ws.tsv("one.tsv", [(t, "1") for t, _ in GOOD_ROWS])),
         "only one class"),
    Case("data", "integer labels with a gap (0, 2)",
         augment_with(lambda ws: ws.tsv("gap.tsv", [(t, "2" if y == "1" else y) for t, y in GOOD_ROWS])),
         "integer labels must be 0..1"),
    Case("data", "non-UTF-8 bytes", augment_with(lambda ws: ws.file("latin1.tsv", "sentence\tlabel\ncafé\t1\n"
                                                                    .encode("latin-1"))),
         ":2: not valid UTF-8 (byte 0xe9)"),
    Case("data", "NUL bytes (UTF-16 file)",
         augment_with(lambda ws: ws.file("utf16.tsv", "sentence\tlabel\nfine\t1\n".encode("utf-16"))), "NUL byte"),
    Case("data", "unbalanced quote (CSV)",
         augment_with(lambda ws: ws.file("quote.csv", 'sentence,label\n"a good film,1\nbad,0\n')), "unbalanced quote"),
    Case("data", "neither .tsv nor .csv", augment_with(lambda ws: ws.file("data.txt", "sentence\tlabel\n")),
         "expected a .tsv or .csv file"),
    Case("data", "pair with one side missing",
         augment_with(lambda ws: ws.file("pairs.tsv", "q1\tq2\tlabel\nhow old ?\thow old is it ?\t1\nwhy ?\t0\n"
                                         "a ?\tb ?\t0\n"), "--text-columns", "q1,q2"),
         ":3: expected 3 fields"),
    Case("data", "CRLF line ends", augment_with(lambda ws: ws.file("crlf.tsv", "sentence\tlabel\r\n" + "".join(
        f"{t}\t{y}\r\n" for t, y in GOOD_ROWS))), "augment:", exit=0, handled="accepted: CRLF read as LF"),
    Case("data", "UTF-8 byte-order mark", augment_with(lambda ws: ws.file("bom.tsv", "\ufeffsentence\tlabel\n" + "".join(
        f"{t}\t{y}\n" for t, y in GOOD_ROWS))), "augment:", exit=0, handled="accepted: the BOM is dropped"),
    Case("data", "a 20,000-token line", augment_with(lambda ws: ws.tsv("long.tsv", [*GOOD_ROWS, (" ".join(
        ["word"] * 20000), "1")])), "augment:", exit=0,
        handled="accepted: kept whole in the transfer set; the teacher and students cut it at max_length (128)"),
    Case("data", "emoji and CJK text", augment_with(lambda ws: ws.tsv("unicode.tsv", [*GOOD_ROWS, ("最高の映画 🎬👍", "1"),
                                                                                   ("つまらない 😴", "0")])),
         "augment:", exit=0, handled="accepted: tokenised like any text ([UNK] where the vocabulary lacks it)"),
    # --- config files and options ---------------------------------------------------------------------------
    Case("config", "unknown section", config_with("[trainer]\nepochs = 1\n" + STUDENT_ROWS), "unknown section [trainer]"),
    Case("config", "unknown key", config_with("[teacher]\nepoch = 1\n" + STUDENT_ROWS), "[teacher]: unknown key 'epoch'"),
    Case("config", "wrong type", config_with("[teacher]\nepochs = \"three\"\n" + STUDENT_ROWS),
         "[teacher].epochs: expected float, got str"),
    Case("config", "out-of-range value", config_with("[teacher]\nepochs = -1\n" + STUDENT_ROWS),
         "teacher epochs must be positive, got -1"),
    Case("config", "out-of-range student value", config_with("[students.s]\ndropout = 1.5\n"),
         "dropout in [0, 1)"),
    Case("config", "target given as a percentage", config_with("[targets]\nrow_min = 89.5\n" + STUDENT_ROWS),
         "config.toml: [targets]: row_min must be in (0, 1] (a fraction, not a percentage), got 89.5"),
    Case("config", "not TOML", config_with("[teacher\nepochs = 1\n"), "not valid TOML"),
    Case("config", "from_results without committed logits",
         config_with("[label]\nfrom_results = \"results/nowhere\"\n" + STUDENT_ROWS),
         "[label] from_results: results/nowhere/teacher/metrics.json not found"),
    Case("config", "unknown student family", config_with("[students.s]\nfamily = \"gru\"\n"),
         "unknown student family 'gru'; registered: bilstm, cnn, static, tiny-transformer"),
    Case("config", "option the family does not have", config_with("[students.s]\nfamily = \"cnn\"\n"
                                                                  "options = { kernel = 3 }\n"),
         "family cnn options: unknown key 'kernel'; allowed: filters, widths"),
    Case("config", "a common size the family ignores", config_with("[students.s]\nfamily = \"static\"\n"
                                                                   "hidden = 300\n"),
         "family static does not use hidden"),
    Case("config", "vectors_from that is not a folder", config_with("[students.s]\nvectors_from = \"/no/such\"\n"),
         "vectors_from: /no/such is not a folder"),
    Case("config", "no student rows", config_with("[teacher]\nepochs = 1\n"), "no [students.<name>] sections"),
    Case("config", "--only names no row or seed", lambda ws: config_with(STUDENT_ROWS)(ws) + ["--only", "s-s9"],
         "--only: no student row or seed ['s-s9']"),
    Case("config", "unknown preset", lambda ws: ["pipeline", "--preset", "bert-huge"], "unknown preset 'bert-huge'"),
    Case("options", "option of the wrong type", lambda ws: ["teacher", "--epochs", "three", "--out", "x"],
         "--epochs: expected float, got str 'three'"),
    Case("options", "family options that are not JSON", lambda ws: [
        "student", "--family", "cnn", "--options", "filters=4", "--transfer", str(ws.good), "--out", "x"],
         "--options: expected a JSON object"),
    Case("options", "recommend on a folder without a bench summary", lambda ws: ["recommend", str(ws.root),
                                                                                 "--max-p90-ms", "1"],
         "no summary.json (give a results folder written by `pytest bench`)"),
    Case("options", "repro with one run", lambda ws: ["repro", str(ws.root), "--out", str(ws.out("repro"))],
         "give at least two bench results folders to compare"),
    Case("options", "out-of-range option", lambda ws: ["teacher", "--batch-size", "0", "--out", "x"],
         "teacher batch_size must be a positive integer, got 0"),
    Case("options", "export batch bound of zero", lambda ws: ["export", str(ws.run), "--max-batch", "0"],
         "argument --max-batch: must be a positive integer"),
    Case("options", "unknown task", lambda ws: ["augment", "--task", "cola", "--out", str(ws.out("x.tsv"))],
         "unknown task 'cola'"),
    # --- model folders --------------------------------------------------------------------------------------
    Case("model folder", "teacher folder without config.json", teacher_with(teacher_without_config),
         "not a Hugging Face model folder (no config.json)"),
    Case("model folder", "malformed config.json", teacher_with(teacher_bad_config), "cannot be read as a model config"),
    Case("model folder", "a folder that is not a model", teacher_with(lambda ws: ws.root / "inputs"),
         "not a Hugging Face model folder"),
    Case("model folder", "teacher with 3 labels for a 2-class task", teacher_with(teacher_three_labels),
         "classification head has 3 labels but task"),
    Case("model folder", "weights only as a pickle (pytorch_model.bin)", teacher_with(teacher_pickle_only),
         "no *.safetensors weights"),
    Case("model folder", "fine-tuned teacher without tokenizer files", label_with(teacher_no_tokenizer),
         "no usable tokenizer"),
    # --- checkpoints and artifacts --------------------------------------------------------------------------
    Case("checkpoint", "truncated teacher safetensors", label_with(teacher_truncated_weights),
         "cannot load this model folder"),
    Case("checkpoint", "truncated student safetensors", run_with_student_weights(truncated_student),
         "model.safetensors: not a valid safetensors file"),
    Case("checkpoint", "student weights that are a pickle payload", run_with_student_weights(pickle_payload),
         "model.safetensors: not a valid safetensors file", not_created="PWNED-weights"),
    Case("checkpoint", "training state (state.pt) that is a pickle payload", student_with_pickled_state,
         "state.pt: not a training state written by distill-bench", not_created="PWNED-state"),
    Case("checkpoint", "teacher logits (logits.npy) that are a pickle payload", logits_pickled,
         "not a valid logits file", not_created="PWNED-logits"),
    Case("artifact", "artifact changed after export (sha256 ≠ manifest)", predict_with("fine", artifact=artifact_changed),
         "sha256 differs from"),
    Case("artifact", "manifest missing fields", predict_with("fine", artifact=bad_manifest), "missing field(s)"),
    Case("artifact", "corrupt ONNX", predict_with("fine", artifact=artifact_garbage("onnx", "model.onnx")),
         "cannot load this onnx artifact"),
    Case("artifact", "corrupt .ort", predict_with("fine", artifact=artifact_garbage("ort-mobile", "model.ort")),
         "cannot load this ort-mobile artifact"),
    Case("artifact", "corrupt .pte", predict_with("fine", artifact=artifact_garbage(
        "executorch", "model_s8.pte", {"seq_buckets": [8]})), "cannot load this executorch artifact"),
    Case("artifact", "corrupt .tflite", predict_with("fine", artifact=artifact_garbage(
        "litert", "model_s8.tflite", {"seq_buckets": [8]})), "cannot load this litert artifact"),
    Case("artifact", "corrupt .pt2", predict_with("fine", artifact=artifact_garbage("pt2", "model.pt2")),
         "cannot load this pt2 artifact"),
    Case("artifact", ".pt2 carrying a pickle payload", predict_with("fine", artifact=pt2_with_payload),
         "cannot load this pt2 artifact", not_created="PWNED-pt2"),
    Case("artifact", "corrupt TorchScript", predict_with("fine", artifact=artifact_garbage("torchscript", "model.pt")),
         "cannot load this torchscript artifact"),
    Case("artifact", "not an artifact folder", predict_with("fine", artifact=lambda ws: ws.root / "inputs"),
         "no manifest.json here"),
    # --- a teacher fine-tuned elsewhere, labellers, models made elsewhere ---------------------------------------
    Case("bring your own", "finetuned teacher whose label names differ from the task's", finetuned_with(named_labels),
         "differ from task"),
    Case("bring your own", "finetuned teacher with a label_map that misses a label",
         finetuned_with(named_labels, "--label-map", "NEG=0"), "must map each of the folder's labels"),
    Case("bring your own", "finetuned teacher with 3 labels for a 2-class task",
         finetuned_with(three_label_classifier), "head has 3 labels"),
    Case("bring your own", "label_map without a finetuned folder",
         lambda ws: ["teacher", "--train", str(ws.good), "--dev", str(ws.good), "--label-map", "a=0", "--out",
                     str(ws.out("no-finetuned"))], "label_map maps a finetuned folder's labels"),
    Case("bring your own", "int8 labeller with an agreement floor above 1",
         lambda ws: [*label_with(lambda w: w.teacher)(ws)[:7], "--labeller", "onnx-int8", "--min-agreement", "1.5"],
         "min_agreement must be in (0, 1]"),
    Case("bring your own", "unknown labeller",
         lambda ws: [*label_with(lambda w: w.teacher)(ws)[:7], "--labeller", "tflite"], "labeller must be one of"),
    Case("bring your own", "import of a file type it does not take", import_with(lambda ws: ws.good),
         "import takes .onnx, .ort, .tflite, .pte files"),
    Case("bring your own", "import of a corrupt ONNX file",
         import_with(lambda ws: ws.file("broken.onnx", b"not a protobuf")), "cannot be loaded as onnx"),
    Case("bring your own", "import of an ONNX file with an input nothing can be fed to",
         import_with(onnx_with_odd_inputs), "input 'q' (int64, shape [None, None]) has no meaning"),
    Case("bring your own", "import --inputs naming an input the file lacks",
         import_with(onnx_with_odd_inputs, "--inputs", "nope=mask"), "--inputs names ['nope']"),
    # --- inference input ------------------------------------------------------------------------------------
    Case("inference", "empty string", predict_with(""), "text 1: empty"),
    Case("inference", "whitespace only", predict_with("fine", "   "), "text 2: empty"),
    Case("inference", "no word the student knows", predict_with("zzzqqq xxyyzz"), "no word of", exit=0,
         handled="classified; warning: it reads [UNK] only"),
    Case("inference", "longer than max_length (default)", predict_with("good " * 40), "truncated to max_length 8",
         exit=0, handled="classified on the first max_length tokens; warning says how many were cut"),
    Case("inference", "longer than max_length with --too-long error",
         predict_with("good " * 40, extra=("--too-long", "error")), "text 1: 40 tokens, longer than this artifact's "
         "max_length 8"),
    Case("inference", "odd number of texts for a pair model",
         predict_with("a", "b", "c", artifact=lambda ws: ws.root / "pair-export" / "tiny-pair-s0" / "onnx"),
         "give texts two at a time"),
]


def run_case(case: Case, ws: Workspace) -> dict:
    """Run one case through the real command line; exit code, what was printed, and the payload check."""
    from distill_bench import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(case.argv(ws))
        except SystemExit as e:  # argparse's own usage errors
            code = e.code
    shown = (err.getvalue() + out.getvalue()).replace(str(ws.root), "WS")
    errors = [ln for ln in err.getvalue().replace(str(ws.root), "WS").splitlines() if "error:" in ln]
    warnings = [ln for ln in err.getvalue().replace(str(ws.root), "WS").splitlines() if ln.startswith("warning:")]
    printed = [ln for ln in out.getvalue().replace(str(ws.root), "WS").splitlines() if ln.strip()]
    first = (errors or warnings or printed[-1:] or [""])[0]
    return {"category": case.category, "given": case.given, "exit": code, "message": first, "shown": shown,
            "payload_ran": bool(case.not_created) and (ws.root / case.not_created).exists()}


def make_pair_export(ws: Workspace) -> None:
    from export.context import ExportOptions
    from export.run import export_run
    from tests.tiny import make_tiny_pair_run

    run = make_tiny_pair_run(ws.root / "pair-run", ws.teacher)
    export_run(run, models=["tiny-pair-s0"], targets=["onnx"], out=ws.root / "pair-export",
               options=ExportOptions(dev_limit=16))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="Markdown file for the table")
    a = p.parse_args(argv)
    from tabulate import tabulate

    from distill.io import write_text

    rows = []
    with tempfile.TemporaryDirectory(prefix="bad-inputs-") as tmp:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            ws = make_workspace(Path(tmp))
            make_pair_export(ws)
        for case in CASES:
            r = run_case(case, ws)
            ok = r["exit"] == case.exit and case.expect in r["shown"] and "Traceback" not in r["shown"] \
                and not r["payload_ran"]
            message = r["message"] if case.exit else f"{case.handled} — `{r['message']}`"
            rows.append([case.category, case.given, r["exit"], message.replace("|", "\\|"),
                         "yes" if ok else "**NO**"] + (["not run"] if case.not_created else [""]))
            print(f"{'ok ' if ok else 'BAD'} {case.category:>12} | {case.given}: exit {r['exit']}", file=sys.stderr)
    table = tabulate(rows, headers=["category", "input", "exit", "what the user sees (first line)", "as expected",
                                    "pickle payload"], tablefmt="github")
    bad = sum(r[4] != "yes" for r in rows)
    write_text(a.out, "# Bad input: what the user sees\n\nGenerated by `python -m tests.bad_inputs --out "
               f"{a.out}` on tiny random models ({len(rows)} cases, {bad} not as expected). Exit 2: a user error, "
               "one line naming the file, line, field or option, no traceback (`--debug` shows one). Exit 0: the "
               "input is accepted and handled as the message says. `WS` is the temporary workspace. A pickle "
               "payload would create a file if it were ever unpickled; 'not run' means the file does not exist "
               f"after the command.\n\n{table}\n")
    print(a.out)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
