"""`distill-bench import RUN FILE --name NAME --tokenizer DIR`: bring a model made elsewhere into a run's export
folder, as an artifact that export tables, `pytest bench`, `report`, `ship` and `recommend` treat like ours.

    distill-bench import runs/x my-classifier.onnx --name theirs --tokenizer their-tokenizer/ --reference teacher
    distill-bench import runs/x model.tflite --name theirs --tokenizer tok/ --inputs "args_0=ids,args_1=mask"

Accepted: `.onnx` and `.ort` (ONNX Runtime), `.tflite` (LiteRT) and `.pte` (ExecuTorch; its inputs are named by
position, input_0 …, so their meanings are stated) files, with a Hugging Face tokenizer folder (or a
distill-bench student's vocab.json folder); or a Hugging Face sequence-classification folder, which becomes a
teacher-like model of the run (`import_hf_model`) that `export --models NAME` exports and the bench times.
Each graph input gets a meaning — ids, mask, token_types or lengths — stated with --inputs NAME=MEANING or
inferred from its name (and the import says which it inferred); an input that has none is refused in one line,
as is a file whose output is not (batch, labels). A fixed sequence length or batch in the graph is read from
it and honoured (inputs padded or cut to the length, bigger batches run in slices).

Everything read is untrusted: the size is checked before parsing, ONNX is parsed as protobuf and LiteRT as a
flatbuffer (no pickle anywhere), the tokenizer is loaded from local files without remote code. The import
validates on the run's dev split — accuracy with its 95% CI and, with --reference MODEL (the run's `teacher` or
a student folder name), argmax agreement and max |Δlogit| against that model's eager fp32 logits — and writes
a manifest like an export's, with the file's sha256 and the inferred precision (int8 when the graph holds int8
weights).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from distill.errors import UserError, first_line
from distill.io import atomic_path, file_sha256, write_json
from distill.layout import RunLayout
from distill.metrics import accuracy_ci
from export.encoder import TextEncoder
from export.manifest import MANIFEST, TOKENIZER_DIR, versions
from export.registry import all_targets
from export.targets.imported import MEANINGS
from export.validate import dev_batches, predict_dev

FORMATS = {".onnx": "imported-onnx", ".ort": "imported-ort", ".tflite": "imported-tflite", ".pte": "imported-pte"}
PTE_DTYPES = {4: "int64", 3: "int32", 6: "float32"}  # ExecuTorch ScalarType codes of the inputs it can be fed
MAX_BYTES = 4 * 2**30  # larger files are refused before anything parses them
DTYPES = {"tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(float)": "float32"}


def infer_meaning(name: str) -> str | None:
    n = name.lower()
    for meaning, keys in (("mask", ("mask",)), ("token_types", ("type", "seg")), ("lengths", ("len",)),
                          ("ids", ("id", "tok", "input", "word"))):
        if any(k in n for k in keys):
            return meaning
    return None


def parse_inputs(text: str | None) -> dict[str, str]:
    stated = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        name, _, meaning = part.partition("=")
        if meaning not in MEANINGS:
            raise UserError(f"--inputs: {part!r} is not NAME=MEANING with MEANING one of {', '.join(MEANINGS)}")
        stated[name] = meaning
    return stated


def graph_inputs(path: Path, fmt: str) -> tuple[list[dict], list[dict]]:
    """[{name, dtype, shape}] of the file's inputs and outputs (shape entries None where dynamic)."""
    try:
        if fmt == "imported-pte":
            from executorch.runtime import Runtime

            meta = Runtime.get().load_program(str(path)).load_method("forward").metadata
            ins = []
            for i in range(meta.num_inputs()):
                t = meta.input_tensor_meta(i)
                ins.append({"name": f"input_{i}", "dtype": PTE_DTYPES.get(int(t.dtype()), f"code {t.dtype()}"),
                            "shape": [int(x) for x in t.sizes()]})
            return ins, [{"name": "output_0", "dtype": "float32", "shape": None}]
        if fmt == "imported-tflite":
            from ai_edge_litert.interpreter import Interpreter

            runner = Interpreter(model_path=str(path)).get_signature_runner()
            ins = [{"name": k, "dtype": np.dtype(d["dtype"]).name, "shape": [int(x) for x in d["shape"]]}
                   for k, d in runner.get_input_details().items()]
            outs = [{"name": k, "dtype": np.dtype(d["dtype"]).name, "shape": [int(x) for x in d["shape"]]}
                    for k, d in runner.get_output_details().items()]
            return ins, outs
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:  # each runtime raises its own parse errors; the file is the user's: one line
        raise UserError(f"{path}: cannot be loaded as {fmt.removeprefix('imported-')} ({first_line(e)})") from None

    def describe(x):
        return {"name": x.name, "dtype": DTYPES.get(x.type, x.type),
                "shape": [d if isinstance(d, int) else None for d in x.shape]}
    return [describe(x) for x in session.get_inputs()], [describe(x) for x in session.get_outputs()]


def int8_weights(path: Path, fmt: str) -> bool:
    """Whether the graph stores int8 weights (its precision fact): ONNX int8/uint8 initializers; LiteRT int8
    tensors."""
    if fmt == "imported-tflite":
        from ai_edge_litert.interpreter import Interpreter

        return any(np.dtype(t["dtype"]) in (np.int8, np.uint8)
                   for t in Interpreter(model_path=str(path)).get_tensor_details())
    if fmt in ("imported-ort", "imported-pte"):
        return False  # these flatbuffers are not parsed here: fp32 unless --precision says int8
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return any(i.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8) for i in model.graph.initializer)


def import_hf_model(run_dir: Path, folder: Path, name: str, label_map: str = "", max_length: int | None = None,
                    force: bool = False) -> dict:
    """An HF sequence-classification folder made elsewhere, into RUN/imported/NAME/model: checked, its labels put
    in the task's order and evaluated like a finetuned teacher (distill/teacher_stage.py); `export --models
    NAME` then exports it like the teacher and the bench times it."""
    from distill.teacher import TeacherConfig
    from distill.teacher_stage import run_teacher

    run = RunLayout(run_dir)
    if name in ("teacher", "best", "all") or run.student(name).is_dir():
        raise UserError(f"--name {name!r} is taken in {run.root}; choose another")
    cfg = TeacherConfig(finetuned=str(folder), label_map=label_map, **({"max_length": max_length} if max_length
                                                                       else {}))
    return run_teacher(run.task(), run.imported / name, cfg, force=force)


def import_artifact(run_dir: Path, file: Path, name: str, tokenizer: Path, inputs: str | None = None,
                    reference: str | None = None, max_length: int | None = None, precision: str | None = None,
                    force: bool = False) -> dict:
    run, file = RunLayout(run_dir), Path(file)
    if not file.is_file():
        raise UserError(f"{file}: not found")
    fmt = FORMATS.get(file.suffix.lower())
    if fmt is None:
        raise UserError(f"{file}: import takes {', '.join(FORMATS)} files, or a Hugging Face model folder")
    if not 0 < file.stat().st_size <= MAX_BYTES:
        raise UserError(f"{file}: {file.stat().st_size} bytes; import takes files of 1 byte to 4 GiB")
    if precision not in (None, "fp32", "int8"):
        raise UserError(f"--precision must be fp32 or int8, got {precision!r}")
    task = run.task()
    if not Path(tokenizer).is_dir():
        raise UserError(f"{tokenizer}: tokenizer folder not found")
    # a Hugging Face tokenizer folder (local files only, no remote code), or a distill-bench student's vocab.json
    kind = "student" if (Path(tokenizer) / "vocab.json").is_file() and not (Path(tokenizer) / "tokenizer_config.json"
                                                                            ).is_file() else "hf"
    encoder = TextEncoder(kind, tokenizer)
    hf = encoder.tokenizer if kind == "hf" else None
    ins, outs = graph_inputs(file, fmt)
    stated = parse_inputs(inputs)
    unknown = sorted(set(stated) - {i["name"] for i in ins})
    if unknown:
        raise UserError(f"--inputs names {unknown}, not inputs of {file.name} (its inputs: "
                        f"{', '.join(i['name'] for i in ins)})")
    mapped, notes = [], []
    for i in ins:
        meaning = stated.get(i["name"]) or infer_meaning(i["name"])
        if meaning is None:
            raise UserError(f"{file}: input {i['name']!r} ({i['dtype']}, shape {i['shape']}) has no meaning this "
                            f"import can feed; state it with --inputs \"{i['name']}=ids|mask|token_types|lengths\"")
        if i["name"] not in stated:
            notes.append(f"input {i['name']!r} read as {meaning} (from its name)")
        if i["dtype"] not in ("int64", "int32", "float32"):
            raise UserError(f"{file}: input {i['name']!r} has dtype {i['dtype']}; import feeds int64, int32 or "
                            "float32")
        mapped.append({"name": i["name"], "meaning": meaning, "dtype": i["dtype"], "shape": i["shape"]})
    meanings = [m["meaning"] for m in mapped]
    if "ids" not in meanings or len(set(meanings)) != len(meanings):
        raise UserError(f"{file}: inputs read as {meanings}; exactly one must be ids and none repeated "
                        "(state them with --inputs)")
    if len(outs) < 1:
        raise UserError(f"{file}: the graph has no output")
    seq_dims = {m["shape"][-1] for m in mapped if len(m["shape"]) >= 2}
    fixed_seq = next((d for d in seq_dims if isinstance(d, int) and d > 0), None)
    batch_dims = {m["shape"][0] for m in mapped if m["shape"]}
    fixed_batch = next((d for d in batch_dims if isinstance(d, int) and d > 0), None)
    length = fixed_seq or max_length or (hf.model_max_length if hf else None)
    if not isinstance(length, int) or not 0 < length <= 4096:
        raise UserError(f"{tokenizer}: no usable max length (model_max_length {length}); give --max-length")
    spec = {"inputs": mapped, "output": outs[0]["name"], "fixed_seq": fixed_seq, "fixed_batch": fixed_batch,
            "pair": task.is_pair, "sep_token_id": hf.sep_token_id if hf else None, "inferred": notes}
    target = all_targets()[f"{fmt}-int8" if (precision == "int8" or (precision is None and
                                                                      int8_weights(file, fmt))) else fmt]
    folder = run.export / name / target.name
    if folder.exists() and not force:
        raise UserError(f"{folder} exists; pass --force to import over it")
    manifest = {"target": target.name, "description": target.description, "lossy": target.lossy,
                "files": [file.name], "pair": task.is_pair,
                "file_info": {file.name: {"bytes": file.stat().st_size, "sha256": file_sha256(file)}},
                "size_mb": round(file.stat().st_size / 2**20, 3),
                "inputs": [{"name": m["name"], "dtype": m["dtype"], "shape": m["shape"], "meaning": m["meaning"]}
                           for m in mapped], "outputs": outs, "import": spec,
                "input_contract": "imported: the contract's ids and mask fed to the file's own inputs by meaning",
                "label_names": list(task.label_names), "max_length": int(length),
                "tokenizer": {"kind": kind, "folder": TOKENIZER_DIR},
                "source": {"name": name, "kind": "imported", "checkpoint": str(file),
                           "checkpoint_sha256": file_sha256(file), "reference": reference, "params": None,
                           "params_no_embedding": None, "architecture": f"imported {file.suffix} file"},
                "info": {"imported_from": str(file.resolve()), "precision_from": precision and "--precision"
                         or "the graph's initializers"}, "versions": versions()}
    with atomic_path(folder) as tmp:
        tmp.mkdir(parents=True)
        shutil.copy2(file, tmp / file.name)
        encoder.save(tmp / TOKENIZER_DIR)
        runner = target.load(tmp, manifest)
        manifest["dev"] = _validate(run, task, runner, TextEncoder(kind, tmp / TOKENIZER_DIR), length, reference)
        write_json(tmp / MANIFEST, manifest)
    return manifest


def _validate(run: RunLayout, task, runner, encoder: TextEncoder, length: int, reference: str | None) -> dict:
    """Dev accuracy with its CI; with a reference model, agreement and max |Δlogit| against its eager logits."""
    from distill.data import load_split

    dev = load_split(task, "dev")
    texts, pairs = list(dev["text"]), (list(dev["text_b"]) if task.is_pair else None)
    labels = np.asarray(dev["label"])
    try:
        logits = predict_dev(runner, dev_batches(encoder, texts, length, texts_b=pairs), len(texts))
    except Exception as e:  # the runtime's own error for a file that cannot run these inputs: one line
        raise UserError(f"the imported file does not run on {task.name} dev inputs ({first_line(e)})") from None
    if logits.ndim != 2 or logits.shape[1] != task.num_labels:
        raise UserError(f"the imported file's output has shape {list(logits.shape)}; expected (batch, "
                        f"{task.num_labels}) logits for task {task.name}")
    out = {**accuracy_ci(logits.argmax(-1) == labels), "n_dev": len(texts)}
    if reference:
        ref = _reference_logits(run, task, reference, texts, pairs)
        out.update(reference=reference, argmax_agreement=float((ref.argmax(-1) == logits.argmax(-1)).mean()),
                   max_abs_logit_diff=float(np.abs(ref - logits).max()))
    return out


def _reference_logits(run: RunLayout, task, reference: str, texts, pairs) -> np.ndarray:
    from export.student_source import load_student_source
    from export.teacher_source import load_teacher_source

    if reference == "teacher":
        source = load_teacher_source(run.teacher_model, pair=task.is_pair)
    elif run.student(reference).is_dir():
        source = load_student_source(run.student(reference))
    else:
        raise UserError(f"--reference {reference!r}: neither 'teacher' nor a student folder of {run.root}")
    return predict_dev(source.logits, dev_batches(source.encoder, texts, source.max_length, texts_b=pairs),
                       len(texts))
