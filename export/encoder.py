"""Raw text → the artifact's inputs: the text encoder shipped in every artifact's `tokenizer/` folder."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np

from distill.encode import pad_sides
from distill.errors import UserError
from distill.vocab import UNK, Vocab


class TextEncoder:
    """Raw text → right-padded (input_ids, attention_mask) int64 arrays, from a `tokenizer/` folder.

    kind "student": the student's vocab.json (+ wordpiece/); kind "hf": a Hugging Face tokenizer folder.
    """

    def __init__(self, kind: str, folder: Path):
        self.kind, self.folder = kind, Path(folder)
        self._fast: dict[int, tuple] = {}  # max_length → (Rust tokenizer, WordPiece → student ids) for one()
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

    def one(self, text: str, max_length: int, text_b: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One text (and its second sentence) → the same arrays as `self([text], max_length, [text_b])`, on the
        `tokenizers` library's Rust tokenizer directly: what an app pays per request, without the batch
        API's Python overhead (bench/test_e2e.py times it)."""
        if max_length not in self._fast:  # built once per length: the per-call path only encodes
            self._fast[max_length] = self._fast_tokenizer(max_length)
        tok, to_student = self._fast[max_length]
        if self.kind == "hf":
            ids = np.asarray(tok.encode(text, text_b).ids, np.int64)[None]
            return ids, np.ones_like(ids)
        if to_student is None:  # a word-level student vocabulary: whitespace split, no subword model
            return self([text], max_length, None if text_b is None else [text_b])
        sides = []
        for t in (text, text_b) if text_b is not None else (text,):
            wp = tok.encode(t, add_special_tokens=False).ids[:max_length]
            sides.append(to_student[wp] if wp else np.array([self.vocab.index[UNK]], np.int64))
        width = max(len(x) for x in sides)
        ids = np.zeros((len(sides), width), np.int64)
        for i, x in enumerate(sides):
            ids[i, :len(x)] = x
        ids = ids[None] if text_b is not None else ids
        return ids, (ids != 0).astype(np.int64)

    def _fast_tokenizer(self, max_length: int):
        if self.kind == "hf":
            tok = copy.deepcopy(self.tokenizer.backend_tokenizer)
            tok.no_padding()
            tok.enable_truncation(max_length)
            return tok, None
        if self.vocab.kind != "wordpiece":
            return None, None
        tok = copy.deepcopy(self.vocab.wordpiece.backend_tokenizer)
        tok.no_padding()
        tok.no_truncation()
        # WordPiece id → the student's id ([UNK] where the student's vocabulary lacks the piece)
        pieces = tok.get_vocab()
        to_student = np.full(max(pieces.values()) + 1, self.vocab.index[UNK], np.int64)
        for piece, i in pieces.items():
            if piece in self.vocab.index:
                to_student[i] = self.vocab.index[piece]
        return tok, to_student

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
