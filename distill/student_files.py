"""A student on disk: model.safetensors + config.json + vocab.json, everything needed to run it."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_file, save_file

from distill.errors import UserError
from distill.io import atomic_path, read_json, write_json
from distill.students import BiLSTMClassifier, StudentConfig, build_student
from distill.vocab import Vocab


def weights_file(folder: str | Path) -> Path:
    """The student's weights inside its folder."""
    return Path(folder) / "model.safetensors"


def save_student(folder: Path, model: BiLSTMClassifier, vocab: Vocab, extra: dict) -> None:
    """model.safetensors + config.json + vocab.json: everything needed to run the student."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(weights_file(folder)) as tmp:
        save_file(state, str(tmp))
    vocab.save(folder)
    write_json(folder / "config.json", {"student": model.cfg.to_dict(), **extra})


def load_student(folder: str | Path) -> tuple[BiLSTMClassifier, Vocab, dict]:
    folder = Path(folder)
    config = read_json(folder / "config.json")
    try:
        model = build_student(StudentConfig(**config["student"]))
    except (KeyError, TypeError) as e:
        raise UserError(f"{folder / 'config.json'}: bad 'student' section ({e})") from None
    try:
        state = load_file(str(weights_file(folder)))
    except FileNotFoundError:
        raise UserError(f"{folder / 'model.safetensors'}: not found") from None
    except Exception as e:  # safetensors raises its own error types for truncated/corrupt files
        raise UserError(f"{folder / 'model.safetensors'}: not a valid safetensors file ({e})") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise UserError(f"{folder / 'model.safetensors'}: weights do not match config.json ({e})") from None
    return model.eval(), Vocab.load(folder), config
