"""`tiny-transformer`: the teacher's first k layers (default 2) as a student, distilled on the teacher's logits
(prediction-layer distillation, as TinyBERT's last stage and TextBrewer's default).

Token vectors are the teacher's own WordPiece input embeddings for the student's vocabulary (embedding
"wordpiece"); position embeddings (with the constant segment-0 vector folded in), the embedding LayerNorm
and the first `layers` encoder layers are copied from a BERT-architecture teacher at the start of training
(`init_from_teacher`). Pooling is the mean of the real tokens' outputs (the student vocabulary has no [CLS]),
pads are masked out of attention, so a sentence gets the same logits alone and in a padded batch. Pairs:
the shared Siamese combination over each sentence's pooled vector.

Optimiser: AdamW at `lr` (options; 5e-5, warm-free) instead of the BiLSTM's Adadelta — a transformer does
not train at Adadelta's lr 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from distill.errors import UserError
from distill.families import Family, register
from distill.families.base import EmbeddingStudent, length_mask


@dataclass(kw_only=True)
class TinyTransformerOptions:
    layers: int = field(default=2, metadata={"help": "encoder layers (the teacher's first k)"})
    heads: int = field(default=0, metadata={"help": "attention heads (0: the teacher's)"})
    intermediate: int = field(default=0, metadata={"help": "feed-forward width (0: the teacher's)"})
    max_positions: int = field(default=0, metadata={"help": "position table size (0: the teacher's)"})
    lr: float = field(default=5e-5, metadata={"help": "AdamW learning rate"})

    def __post_init__(self):
        if self.layers <= 0 or min(self.heads, self.intermediate, self.max_positions) < 0 or self.lr <= 0:
            raise UserError(f"tiny-transformer options: layers and lr must be positive and sizes ≥ 0, got "
                            f"{self.layers}, {self.lr}, {self.heads}, {self.intermediate}, {self.max_positions}")


def _bert_config(width: int, options: TinyTransformerOptions):
    from transformers import BertConfig

    if not (options.heads and options.intermediate and options.max_positions):
        raise UserError("tiny-transformer: heads, intermediate and max_positions are read from the teacher "
                        "(prepare) before the model is built; give them, or a teacher folder")
    return BertConfig(hidden_size=width, num_attention_heads=options.heads, intermediate_size=options.intermediate,
                      num_hidden_layers=options.layers, max_position_embeddings=options.max_positions,
                      attn_implementation="eager")


class TinyTransformerClassifier(EmbeddingStudent):
    def __init__(self, cfg, options: TinyTransformerOptions):
        super().__init__(cfg)
        from transformers.models.bert.modeling_bert import BertLayer

        config = _bert_config(cfg.embed_dim, options)
        self.position = nn.Embedding(options.max_positions, cfg.embed_dim)
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=config.layer_norm_eps)
        self.embed_dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layers = nn.ModuleList(BertLayer(config) for _ in range(options.layers))
        self._head(cfg.embed_dim)

    def encode(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        seq_len = input_ids.shape[1]
        real = length_mask(lengths, seq_len)
        positions = torch.arange(seq_len, device=input_ids.device).unsqueeze(0)
        x = self.embed_dropout(self.norm(self.embed_tokens(input_ids) + self.position(positions)))
        # additive mask: a pad key gets a large negative score, so no real token reads it
        additive = (~real).to(x.dtype)[:, None, None, :] * torch.finfo(x.dtype).min
        for layer in self.layers:
            out = layer(x, attention_mask=additive)
            x = out[0] if isinstance(out, tuple) else out
        w = real.to(x.dtype).unsqueeze(-1)
        return (x * w).sum(1) / w.sum(1)

    def init_from_teacher(self, teacher: str | Path) -> dict:
        """Copy the teacher's position embeddings (+ segment 0), embedding LayerNorm and first layers."""
        from transformers import AutoModel

        model = AutoModel.from_pretrained(str(teacher))
        emb, layers = getattr(model, "embeddings", None), getattr(getattr(model, "encoder", None), "layer", None)
        if model.config.model_type != "bert" or emb is None or layers is None:
            raise UserError(f"{teacher}: tiny-transformer starts from a BERT-architecture teacher's layers; this "
                            f"teacher is {model.config.model_type!r}")
        if model.config.hidden_size != self.cfg.embed_dim:
            raise UserError(f"tiny-transformer: token vectors of width {self.cfg.embed_dim}, but the teacher's "
                            f"layers are {model.config.hidden_size} wide; train it with embedding = 'wordpiece' "
                            "(the teacher's own input vectors)")
        with torch.no_grad():
            pos = emb.position_embeddings.weight[:self.position.num_embeddings]
            segment = emb.token_type_embeddings.weight[0] if hasattr(emb, "token_type_embeddings") else 0.0
            self.position.weight.copy_(pos + segment)
            self.norm.load_state_dict(emb.LayerNorm.state_dict())
            for mine, theirs in zip(self.layers, layers):
                mine.load_state_dict(theirs.state_dict())
        return {"from_teacher_layers": len(self.layers), "teacher_layers": len(layers)}


def prepare(options: dict, teacher: str | Path | None) -> dict:
    """The options with the sizes left at 0 read from the teacher's config (saved with the student, so it
    rebuilds without the teacher)."""
    filled = dict(options)
    if teacher is None:
        return filled
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(teacher))
    for key, attr in (("heads", "num_attention_heads"), ("intermediate", "intermediate_size"),
                      ("max_positions", "max_position_embeddings")):
        if not filled.get(key):
            filled[key] = int(getattr(config, attr))
    return filled


def optimizer(model: nn.Module, run_cfg, options: TinyTransformerOptions) -> torch.optim.Optimizer:
    return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=options.lr, weight_decay=0.01)


register(Family(name="tiny-transformer", summary="the teacher's first k layers, mean-pooled, distilled on its "
                                                 "logits", options=TinyTransformerOptions,
                build=TinyTransformerClassifier, reads=("embed_dim", "fc", "dropout"), prepare=prepare,
                optimizer=optimizer))
