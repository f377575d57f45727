"""Raw text → the artifact's inputs: the text encoder shipped in every artifact's `tokenizer/` folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from distill.encode import pad_sides
from distill.errors import UserError
from distill.vocab import Vocab


class TextEncoder:
    """Raw text → right-padded (input_ids, attention_mask) int64 arrays, from a `tokenizer/` folder.

    kind "student": the student's vocab.json (+ wordpiece/); kind "hf": a Hugging Face tokenizer folder.
    """

    def __init__(self, kind: str, folder: Path):
        self.kind, self.folder = kind, Path(folder)
        if kind == "student":
            self.vocab = Vocab.load(self.folder)
        elif kind == "hf":
            # transformers takes seconds to import; a student's artifact runs without it
            from transformers import AutoTokenizer

            try:
                self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder), local_files_only=True)
            except (OSError, ValueError) as e:
                raise UserError(f"{self.folder}: cannot load the tokenizer ({e})") from None
        else:
            raise UserError(f"{self.folder}: unknown tokenizer kind {kind!r} (expected 'student' or 'hf')")

    def __call__(self, texts: list[str], max_length: int,
                 texts_b: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Texts (and their second sentences) → (input_ids, attention_mask): (n, seq) for a single sentence
        or an HF pair; (n, 2, seq) for a student pair, each sentence cut at max_length on its own."""
        if self.kind == "hf":
            args = (list(texts),) + ((list(texts_b),) if texts_b is not None else ())
            enc = self.tokenizer(*args, truncation=True, max_length=max_length, padding=True, return_tensors="np")
            return enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
        ids = pad_sides([self.vocab.encode(list(t), max_length=max_length) for t in (texts, texts_b)
                         if t is not None])
        ids = ids[:, 0] if texts_b is None else ids
        return ids, (ids != 0).astype(np.int64)  # id 0 is [PAD] only: every real token, [UNK] too, is ≥ 1

    def token_counts(self, texts: list[str], texts_b: list[str] | None = None) -> list[int]:
        """Untruncated token count of each input as the model would read it (a pair: its longer side for a
        student, the joined row for an HF teacher), to tell the user what truncation would cut."""
        if self.kind == "hf":
            args = (list(texts),) + ((list(texts_b),) if texts_b is not None else ())
            return [len(x) for x in self.tokenizer(*args, truncation=False)["input_ids"]]
        sides = [[len(s) for s in self.vocab.split_many(list(t))] for t in (texts, texts_b) if t is not None]
        return [max(c) for c in zip(*sides)]

    def unknown_only(self, texts: list[str]) -> list[bool]:
        """True where no token of the text is in a student's vocabulary (it reads [UNK] only)."""
        if self.kind == "hf":
            return [False] * len(texts)
        return [all(t not in self.vocab.index for t in toks) for toks in self.vocab.split_many(list(texts))]

    def save(self, folder: Path) -> None:
        """Ship the tokenizer files only (never the weights that may sit in the same source folder)."""
        if self.kind == "hf":
            self.tokenizer.save_pretrained(str(folder))
            return
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.folder / "vocab.json", folder / "vocab.json")
        if (self.folder / "wordpiece").is_dir():
            shutil.copytree(self.folder / "wordpiece", folder / "wordpiece", dirs_exist_ok=True)
