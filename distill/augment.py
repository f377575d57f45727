"""Stage 2: the augmented transfer set of Tang et al. (2019), section 3.2.

    distill-bench augment --task sst2 --out runs/x/transfer.tsv          # p_mask .1, p_pos .1, p_ng .25, ×20

For every word w_i draw X_i ~ U[0,1]: X_i < p_mask → `[MASK]`; p_mask ≤ X_i < p_mask + p_pos → a word with
the same POS tag drawn from the training set's unigram distribution of that tag; then with probability p_ng
replace the whole example by a random n-gram of it, n ~ U{1..max_ngram}. n_iter rounds per example,
duplicates dropped, originals kept (first, in file order, with their gold labels). For sentence pairs the
rounds cycle through augmenting the first sentence only, the second only, and both (the paper's recipe), and
a variant is dropped only when the whole pair repeats one already kept.

Each example gets its own RNG seeded by (seed, example index), so the output depends only on the seed and
the input: the same seed gives the same file however the work is split across processes. POS tagging and the
rounds run on `workers` processes (all local cores by default), in contiguous slices put back in order.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import multiprocessing
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from distill.data import NLTK_DATA, Task, load_split
from distill.errors import UserError
from distill.io import atomic_path, read_json, write_json
from distill.record import claim, complete, make_record, task_identity
from distill.transfer_set import transfer_header
from distill.workers import bound_pool

MASK = "[MASK]"


@dataclass
class AugmentConfig:
    p_mask: float = 0.1
    p_pos: float = 0.1
    p_ng: float = 0.25
    max_ngram: int = 5
    n_iter: int = 20
    train_limit: int | None = None
    seed: int = 0

    def __post_init__(self):
        for name in ("p_mask", "p_pos", "p_ng"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise UserError(f"{name} must be in [0, 1], got {v}")
        if self.p_mask + self.p_pos > 1.0:
            raise UserError(f"p_mask + p_pos must be ≤ 1, got {self.p_mask + self.p_pos}")
        if self.n_iter < 0 or self.max_ngram < 1:
            raise UserError(f"n_iter must be ≥ 0 and max_ngram ≥ 1 (got {self.n_iter}, {self.max_ngram})")


def pos_tagger():
    """NLTK's averaged perceptron tagger, loaded from the data vendored in this package (never downloaded)."""
    import nltk  # heavy to import (~1 s), and only tagging needs it

    if str(NLTK_DATA) not in nltk.data.path:
        nltk.data.path.insert(0, str(NLTK_DATA))
    from nltk.tag.perceptron import PerceptronTagger  # after the data path is set

    return PerceptronTagger()


class TagSampler:
    """Draws a word for a POS tag from the unigram distribution of that tag (every occurrence counts)."""

    def __init__(self, tagged_sentences):
        counts: dict[str, Counter] = defaultdict(Counter)
        for sent in tagged_sentences:
            for word, tag in sent:
                counts[tag][word] += 1
        self.words, self.cum = {}, {}
        for tag, c in counts.items():
            words = sorted(c)  # sorted so the table, and so each draw, is independent of hash order
            self.words[tag] = words
            self.cum[tag] = list(itertools.accumulate(c[w] for w in words))

    def sample(self, tag: str, rng: random.Random) -> str | None:
        """A word of this tag; None if the table never saw the tag (a sampler built from other sentences)."""
        cum = self.cum.get(tag)
        if cum is None:
            return None
        return self.words[tag][bisect.bisect_right(cum, rng.random() * cum[-1])]


def augment_once(tagged: list[tuple[str, str]], sampler: TagSampler, cfg: AugmentConfig,
                 rng: random.Random) -> list[str]:
    """One application of the three rules to one tagged sentence."""
    out = []
    for word, tag in tagged:
        x = rng.random()
        if x < cfg.p_mask:
            out.append(MASK)
        elif x < cfg.p_mask + cfg.p_pos:
            out.append(sampler.sample(tag, rng) or word)
        else:
            out.append(word)
    if rng.random() < cfg.p_ng:
        n = min(rng.randint(1, cfg.max_ngram), len(out))
        start = rng.randint(0, len(out) - n)
        out = out[start:start + n]
    return out


def example_rng(seed: int, index: int) -> random.Random:
    return random.Random(f"{seed}:{index}")


def sides_for_round(r: int, n_sides: int) -> tuple[int, ...]:
    """Which sentences round r augments: the only one, or for pairs the first, the second, both, in turn."""
    return (0,) if n_sides == 1 else ((0,), (1,), (0, 1))[r % 3]


def _augment_slice(tagged: Sequence, start: int, sampler: TagSampler, cfg: AugmentConfig, progress: bool) -> list:
    return augment_examples(tagged, sampler, cfg, start_index=start, progress=progress)


def augment_examples(tagged: Sequence[tuple[list, ...]], sampler: TagSampler, cfg: AugmentConfig,
                     start_index: int = 0, progress: bool = True) -> list[list[tuple[str, ...]]]:
    """n_iter variants per example (a tuple of 1 or 2 tagged sentences); each variant is a tuple of strings.

    Example i uses RNG (seed, start_index + i); a sentence a round leaves alone is copied unchanged.
    """
    variants = []
    for i, sents in enumerate(tqdm(tagged, desc="augment", unit="ex", disable=not progress, mininterval=2)):
        rng = example_rng(cfg.seed, start_index + i)
        plain = tuple(" ".join(w for w, _ in s) for s in sents)
        rounds = []
        for r in range(cfg.n_iter):
            sides = sides_for_round(r, len(sents))
            rounds.append(tuple(" ".join(augment_once(s, sampler, cfg, rng)) if k in sides else plain[k]
                                for k, s in enumerate(sents)))
        variants.append(rounds)
    return variants


MIN_PER_WORKER = 2000  # below this many items per worker a pool costs more than it saves


def parallel_slices(fn: Callable[[Sequence, int], list], items: Sequence, workers: int, desc: str,
                    progress: bool = True) -> list:
    """fn(slice, start) over contiguous slices of `items` on `workers` processes, results joined in order.

    `fn` sees each slice with its start index, so per-item RNGs (seed, index) are the same however the items
    are cut: the output equals fn(items, 0). Small inputs stay in this process (a pool costs ~1 s to start).
    """
    workers = max(1, min(workers, len(items) // MIN_PER_WORKER))
    if workers == 1:
        return fn(items, 0)
    size = -(-len(items) // (workers * 4))  # a few slices per worker so the bar moves and the load evens out
    starts = range(0, len(items), size)
    out: list = []
    # forkserver (spawn where there is none): a fork of a process that has loaded torch / OpenMP can hang or
    # inherit their thread pools; `fn` and the slices are pickled to the workers either way
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    with bound_pool(workers, method) as pool, \
            tqdm(total=len(items), desc=desc, unit="ex", disable=not progress, mininterval=2) as bar:
        for start, part in zip(starts, pool.map(fn, [items[i:i + size] for i in starts], starts)):
            out.extend(part)
            bar.update(min(size, len(items) - start))
    return out


def _tag_slice(examples: Sequence[tuple[str, ...]], start: int, progress: bool = False) -> list:
    tagger = pos_tagger()
    return [tuple(tagger.tag(t.split()) for t in ex)
            for ex in tqdm(examples, desc="pos-tag", unit="ex", disable=not progress, mininterval=2)]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def build_transfer_set(task: Task, out: str | Path, cfg: AugmentConfig, progress: bool = True,
                       workers: int | None = None, force: bool = False) -> dict:
    """Write `out` (TSV: text[, text_b], label, origin) and `out`.json (counts, timing, config); `workers`
    processes tag and augment (None: every core this process may use; the file is the same). Rerun rules:
    distill/record.py."""
    workers = workers or default_workers()
    out = Path(out)
    task_settings, task_inputs = task_identity(task, splits=("train",))
    record = make_record("augment", {"task": task_settings, "augment": asdict(cfg)}, task_inputs)
    if claim(out, record, force, what=f"transfer set {out}") == "skip":
        return read_json(out.with_suffix(".json"))
    start = time.time()
    ds = load_split(task, "train", cfg.train_limit)
    columns = ["text", "text_b"] if task.is_pair else ["text"]
    # a CSV field may hold a tab or newline; the transfer set is TSV, and whitespace is whitespace to a tokenizer
    originals = [tuple(" ".join(t.split()) for t in ex) for ex in zip(*(ds[c] for c in columns))]
    labels = ds["label"]
    tagged = parallel_slices(functools.partial(_tag_slice, progress=progress and workers == 1), originals,
                             workers, "pos-tag", progress)
    sampler = TagSampler(s for ex in tagged for s in ex)
    rounds = functools.partial(_augment_slice, sampler=sampler, cfg=cfg, progress=progress and workers == 1)
    variants = parallel_slices(rounds, tagged, workers, "augment", progress)

    seen = set(originals)  # a pair is a duplicate only when both of its sentences are
    made = dropped = 0
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(transfer_header(task.is_pair) + "\n")
        for i, (ex, label) in enumerate(zip(originals, labels)):
            f.write("\t".join((*ex, str(label), str(i))) + "\n")
        for i, vs in enumerate(variants):
            for v in vs:
                made += 1
                if not all(v) or v in seen:
                    dropped += 1
                    continue
                seen.add(v)
                f.write("\t".join((*v, "-1", str(i))) + "\n")
    stats = {
        "task": task.name, "pair": task.is_pair, "originals": len(originals), "made": made,
        "dropped_duplicates": dropped, "kept_augmented": made - dropped, "rows": len(originals) + made - dropped,
        "seconds": round(time.time() - start, 1), "workers": workers, "config": asdict(cfg),
    }
    write_json(out.with_suffix(".json"), stats)
    complete(out, seconds=stats["seconds"])
    print(f"augment: {stats['originals']} originals, {made} made, {dropped} duplicates dropped, "
          f"{made - dropped} kept → {stats['rows']} rows in {stats['seconds']} s → {out}")
    return stats
