"""The student's vocabulary: word-level (whitespace tokens, lower-cased) or the teacher's WordPiece, pruned to
the tokens the training data uses. Saved as `vocab.json` (plus the teacher's `tokenizer.json` for WordPiece),
so a student can tokenize raw text with nothing from the training run but its own folder.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from distill.errors import UserError
from distill.io import read_json, write_json

PAD, UNK, MASK = "[PAD]", "[UNK]", "[MASK]"
SPECIALS = (PAD, UNK, MASK)


class Vocab:
    def __init__(self, tokens: list[str], kind: str = "word", wordpiece=None):
        if kind not in ("word", "wordpiece"):
            raise UserError(f"vocabulary kind must be 'word' or 'wordpiece', got {kind!r}")
        if tuple(tokens[:3]) != SPECIALS:
            raise UserError(f"vocabulary must start with {SPECIALS}, got {tokens[:3]}")
        self.tokens, self.kind, self.wordpiece = list(tokens), kind, wordpiece
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    # --- tokenization -------------------------------------------------------------------------------
    def split(self, text: str) -> list[str]:
        if self.kind == "word":
            return [w if w == MASK else w.lower() for w in text.split()]
        return self.wordpiece.tokenize(text)

    def split_many(self, texts: list[str]) -> list[list[str]]:
        texts = list(texts)  # datasets columns are lazy sequences; tokenizers want a list
        if self.kind == "word":
            return [self.split(t) for t in texts]
        enc = self.wordpiece(texts, add_special_tokens=False)
        return [enc.tokens(i) for i in range(len(texts))]

    def encode(self, texts: list[str], max_length: int = 128) -> list[np.ndarray]:
        """Token ids per text (truncated to max_length; unknown tokens → [UNK]; empty text → one [UNK])."""
        unk = self.index[UNK]
        out = []
        for toks in self.split_many(texts):
            ids = [self.index.get(t, unk) for t in toks[:max_length]] or [unk]
            out.append(np.asarray(ids, dtype=np.int64))
        return out

    # --- building and saving ------------------------------------------------------------------------
    @classmethod
    def build(cls, texts: list[str], kind: str = "word", wordpiece=None, min_count: int = 1) -> Vocab:
        """Every token of `texts` seen at least min_count times, most frequent first (ties alphabetical)."""
        v = cls(list(SPECIALS), kind, wordpiece)
        counts = Counter(t for toks in v.split_many(texts) for t in toks)
        keep = sorted((t for t, c in counts.items() if c >= min_count and t not in SPECIALS),
                      key=lambda t: (-counts[t], t))
        return cls([*SPECIALS, *keep], kind, wordpiece)

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        write_json(folder / "vocab.json", {"kind": self.kind, "tokens": self.tokens})
        if self.kind == "wordpiece":
            self.wordpiece.save_pretrained(str(folder / "wordpiece"))

    @classmethod
    def load(cls, folder: str | Path) -> Vocab:
        folder = Path(folder)
        data = read_json(folder / "vocab.json")
        if not isinstance(data, dict) or "tokens" not in data or "kind" not in data:
            raise UserError(f"{folder / 'vocab.json'}: expected keys 'kind' and 'tokens'")
        wordpiece = load_wordpiece(folder / "wordpiece") if data["kind"] == "wordpiece" else None
        return cls(data["tokens"], data["kind"], wordpiece)


def load_wordpiece(folder: str | Path):
    from transformers import AutoTokenizer  # takes seconds to import; only WordPiece students need it

    try:
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as e:
        raise UserError(f"{folder}: cannot load the WordPiece tokenizer ({e})") from None
