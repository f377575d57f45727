"""A trained BiLSTM student folded for inference: each direction's embedding lookup and input projection become
one lookup in a precomputed gate table.

A token's input to the LSTM is an embedding row (both channels concatenated when multichannel), so
W_ih·e(id) + b_ih + b_hh is a constant per token id: the table G (vocab × 4·hidden per direction) holds it, and
the only per-token arithmetic left is the recurrent W_hh·h. The result is exactly the unfolded student's (to
float rounding): the same reverse-within-length trick keeps pads out of the features (distill/students.py).

Both directions run as one batched recurrence (their W_hh stacked, one batched matmul per step), with the gate
columns reordered i, f, o | g so one sigmoid and one tanh cover them. Eager runs as many steps as the batch's
longest sentence. An exported graph (`export_buckets`) cannot loop over a dynamic length, so it unrolls one
recurrence per length bucket and picks the smallest bucket that fits with torch.cond (an ONNX If): the cost
follows the sentence, not the maximum length.

`int8=True` stores the tables as int8 with one fp32 scale per row (symmetric, per-row absmax): a row is
dequantised after its lookup, so only the rows a sentence reads are touched. W_hh and the head stay fp32.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.fx.experimental.symbolic_shapes import sym_and

from distill.students import BiLSTMClassifier


def _ifog(t: torch.Tensor, dim: int) -> torch.Tensor:
    """PyTorch's gate order i, f, g, o → i, f, o, g (the three sigmoid gates first)."""
    i, f, g, o = t.chunk(4, dim)
    return torch.cat([i, f, o, g], dim)


class FoldedStudent(nn.Module):
    """Inference-only form of a BiLSTMClassifier (or its Siamese subclass), same inputs and logits."""

    def __init__(self, student: BiLSTMClassifier, int8: bool = False, export_buckets: tuple[int, ...] = ()):
        super().__init__()
        self.cfg, self.int8, self.export_buckets = student.cfg, int8, tuple(sorted(export_buckets))
        with torch.no_grad():
            vectors = student.embed.weight
            if student.embed_static is not None:
                vectors = torch.cat([vectors, student.embed_static.weight], -1)
            tables, recurrent = [], []
            for lstm in (student.lstm_fwd, student.lstm_bwd):
                table = vectors @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0
                tables.append(_ifog(table, -1))
                recurrent.append(_ifog(lstm.weight_hh_l0, 0).T)
            tables = torch.stack(tables)  # (2, vocab, 4H)
            if int8:
                scale = tables.abs().amax(-1, keepdim=True).clamp(min=1e-12) / 127.0
                self.register_buffer("gates", torch.round(tables / scale).to(torch.int8))
                self.register_buffer("gate_scale", scale)
            else:
                self.register_buffer("gates", tables.contiguous())
            self.register_buffer("w_hh", torch.stack(recurrent).unsqueeze(0).contiguous())  # (1, 2, H, 4H)
        self.fc, self.out = student.fc, student.out

    def _lookup(self, direction: int, ids: torch.Tensor) -> torch.Tensor:
        rows = self.gates[direction][ids]
        if self.int8:
            rows = rows.to(torch.float32) * self.gate_scale[direction][ids]
        return rows

    def _recur(self, gx: torch.Tensor, last: torch.Tensor, steps: int) -> torch.Tensor:
        """Run `steps` steps over gx (T, 2, B, 4H), zero-padded past T when steps > T (never picked: last < T);
        return each direction's state at position `last`, as (B, 2H). Written for few graph nodes per step
        (one split of gx up front, two splits of the gates, no per-step slicing or stacking): an exported
        graph pays a dispatch per node, which at batch 1 costs more than the step's arithmetic."""
        hidden = self.cfg.hidden
        if steps > gx.shape[0]:
            gx = nn.functional.pad(gx, (0, 0, 0, 0, 0, 0, 0, steps - gx.shape[0]))
        h = gx.new_zeros(1, 2, gx.shape[2], hidden)
        c = torch.zeros_like(h)
        states = []
        for g_in in gx.split(1, 0):  # (1, 2, B, 4H) each
            sig, candidate = torch.split(torch.matmul(h, self.w_hh) + g_in, [3 * hidden, hidden], -1)
            i, f, o = torch.sigmoid(sig).split(hidden, -1)
            c = f * c + i * torch.tanh(candidate)
            h = o * torch.tanh(c)
            states.append(h)
        picked = torch.cat(states, 0).gather(0, last.view(1, 1, -1, 1).expand(1, 2, -1, hidden)).squeeze(0)
        return torch.cat([picked[0], picked[1]], -1)

    def encode(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        seq_len = input_ids.shape[1]
        lengths = lengths.clamp(min=1, max=seq_len).to(torch.long)
        positions = torch.arange(seq_len, device=input_ids.device).unsqueeze(0)
        last = (lengths - 1).unsqueeze(1)
        reverse_ids = torch.gather(input_ids, 1, torch.where(positions <= last, last - positions, positions))
        gx = torch.stack([self._lookup(0, input_ids), self._lookup(1, reverse_ids)]).permute(2, 0, 1, 3)
        last = last.squeeze(1)
        if not self.export_buckets:
            return self._recur(gx, last, seq_len)
        return self._bucketed(gx, last, list(self.export_buckets))

    def _bucketed(self, gx: torch.Tensor, last: torch.Tensor, buckets: list[int]) -> torch.Tensor:
        """One torch.cond per bucket, side by side: bucket b runs when the one before < T <= b (the largest
        takes the rest); the others pass the previous result through. Nested conds (else → the next cond)
        re-trace the inner branches at every level: a 128-token student's 8 buckets took over 20 minutes to
        export that way; side by side each branch is traced once, for a few If nodes more per call."""
        if len(buckets) == 1:
            return self._recur(gx, last, buckets[0])
        seq = gx.shape[0]
        out = gx.new_zeros(gx.shape[2], 2 * self.cfg.hidden)
        for k, b in enumerate(buckets):
            lo = buckets[k - 1] if k else 0
            fits = seq <= b if k == 0 else seq > lo if k == len(buckets) - 1 else sym_and(seq > lo, seq <= b)
            out = torch.cond(fits, lambda g, s, o, b=b: self._recur(g, s, b), lambda g, s, o: o.clone(),
                             (gx, last, out))
        return out

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.fc(features)))

    def classify_pair(self, h1: torch.Tensor, h2: torch.Tensor) -> torch.Tensor:
        return self.classify(torch.cat([h1, h2, h1 * h2, (h1 - h2).abs()], dim=-1))

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor, input_ids_b: torch.Tensor | None = None,
                lengths_b: torch.Tensor | None = None) -> torch.Tensor:
        if input_ids_b is None:
            return self.classify(self.encode(input_ids, lengths))
        return self.classify_pair(self.encode(input_ids, lengths), self.encode(input_ids_b, lengths_b))

    def table_bytes(self) -> int:
        """Bytes of the gate tables (and their scales), the folded form's size cost."""
        extra = self.gate_scale.numel() * 4 if self.int8 else 0
        return self.gates.numel() * self.gates.element_size() + extra


def fold(student: BiLSTMClassifier, int8: bool = False, export_buckets: tuple[int, ...] = ()) -> FoldedStudent:
    """The folded inference form of a trained student (eval mode: no dropout)."""
    return FoldedStudent(student.eval(), int8=int8, export_buckets=export_buckets).eval()


class MeasuredForm(nn.Module):
    """The eager inference form chosen by measurement at load: for small batches (< SMALL) the faster of the
    trained and the folded student at batch 1, for larger ones the faster at batch 64. Folding removes the
    input projection but runs the recurrence as Python-level steps, so it can lose at batch 1 when the input
    is narrow (the projection was cheap); `choice` records both timings and what was picked."""

    SMALL = 8

    def __init__(self, student: BiLSTMClassifier, seq_len: int = 32, repeats: int = 5):
        super().__init__()
        self.cfg, self.trained, self.folded = student.cfg, student.eval(), fold(student)
        self.choice = {}
        for label, batch in (("batch 1", 1), ("batch 64", 64)):
            timing = {name: _time(m, batch, seq_len, repeats) for name, m in (("trained", self.trained),
                                                                              ("folded", self.folded))}
            self.choice[label] = {**{f"{k}_ms": round(v * 1e3, 3) for k, v in timing.items()},
                                  "picked": min(timing, key=timing.get)}
        self.small = self.folded if self.choice["batch 1"]["picked"] == "folded" else self.trained
        self.large = self.folded if self.choice["batch 64"]["picked"] == "folded" else self.trained

    def _form(self, rows: int) -> nn.Module:
        return self.small if rows < self.SMALL else self.large

    def encode(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self._form(input_ids.shape[0]).encode(input_ids, lengths)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        return self.folded.classify(features)

    def classify_pair(self, h1: torch.Tensor, h2: torch.Tensor) -> torch.Tensor:
        return self.folded.classify_pair(h1, h2)

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return self._form(args[0].shape[0])(*args)


@torch.inference_mode()
def _time(module: nn.Module, batch: int, seq_len: int, repeats: int) -> float:
    """Median seconds of one forward over random ids (after one untimed call)."""
    import time

    ids = torch.randint(1, module.cfg.vocab_size, (batch, seq_len))
    lengths = torch.full((batch,), seq_len)
    args = (ids, lengths, ids, lengths) if module.cfg.pair else (ids, lengths)
    module(*args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        module(*args)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]
