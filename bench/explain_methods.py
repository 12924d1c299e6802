"""Compare ways of finding the spans behind a flag, at the same word budget, on flagged messages.

- ``occlusion search`` (what flagger ships): remove words, re-score, keep the smallest set that
  un-flags the message; works on any backend.
- ``integrated gradients`` (Captum, on the word embeddings, 32 steps, [PAD] baseline): the same
  number of words per message as the occlusion search chose, taken by attribution; needs gradients,
  so only the PyTorch backend can serve it.
- ``random``: the same number of words at random.

Each is scored with ERASER comprehensiveness (score drop when the spans are removed; higher is
better) and sufficiency (score drop when only the spans are kept; lower is better), plus the time
per message. Needs the ``bench`` extra (``pip install -e '.[bench]'``).

    .venv/bin/python bench/explain_methods.py --data ../shared/data/edos/edos_train_dev.csv \\
        --split dev --limit 150
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients

from flagger import Flagger
from flagger.data import load_examples, select_split
from flagger.explain import Range, candidate_tokens, find_spans, keep_spans, merge_tokens
from flagger.explain import remove_spans as removed
from flagger.faithfulness import random_spans


def integrated_gradient_words(flagger: Flagger, text: str, steps: int = 32) -> np.ndarray:
    """Attribution of the sexist logit to each candidate word of ``text`` (sum over its tokens)."""
    encoded = flagger.tokenizer.encode(text)  # [CLS] ... [SEP], offsets (0, 0) for specials
    body = slice(1, min(len(encoded.ids) - 1, flagger.info.max_length - 1))
    token_ids = [encoded.ids[0], *encoded.ids[body], encoded.ids[-1]]
    offsets = [(0, 0), *encoded.offsets[body], (0, 0)]
    input_ids = torch.tensor([token_ids])
    mask = torch.ones_like(input_ids)
    baseline = torch.full_like(input_ids, flagger.pad_id)
    baseline[0, 0], baseline[0, -1] = input_ids[0, 0], input_ids[0, -1]  # keep [CLS] and [SEP]

    def sexist_logit(ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        return flagger.network(ids, attention).sexist

    explainer = LayerIntegratedGradients(sexist_logit, flagger.network.encoder.embeddings)
    attributions = explainer.attribute(
        input_ids, baselines=baseline, additional_forward_args=(mask,), n_steps=steps
    )
    per_token = attributions.sum(dim=-1)[0].detach().numpy()
    words = candidate_tokens(text)
    scores = np.zeros(len(words))
    for (start, end), value in zip(offsets, per_token, strict=True):
        if end <= start:
            continue  # special tokens
        for w, (word_start, word_end) in enumerate(words):
            if start < word_end and end > word_start:
                scores[w] += value
                break
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default=None)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=150, help="flagged messages to compare")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    flagger = Flagger.load(args.model, backend="torch")
    texts = [e.text for e in select_split(load_examples(args.data), args.split)]
    probs = flagger.probabilities(texts)
    threshold = flagger.resolve_threshold(None).value
    chosen = [i for i, s in enumerate(probs.sexist) if s >= threshold][: args.limit]
    flagged = [texts[i] for i in chosen]
    scores = probs.sexist[chosen]

    started = time.perf_counter()
    found = find_spans(
        flagger.sexist_scores,
        flagged,
        scores.tolist(),
        threshold,
        focus=[probs.focus[i] for i in chosen],
        search=flagger.span_search,
    )
    occlusion_s = (time.perf_counter() - started) / len(flagged)
    methods: dict[str, list[list[Range]]] = {
        "occlusion search": [[(s.start, s.end) for s in e.spans] for e in found]
    }
    budgets = [
        sum(len(candidate_tokens(t, *span)) for span in spans)
        for t, spans in zip(flagged, methods["occlusion search"], strict=True)
    ]
    started = time.perf_counter()
    methods["integrated gradients"] = []
    for text, budget in zip(flagged, budgets, strict=True):
        attribution = integrated_gradient_words(flagger, text)
        top = np.argsort(-attribution)[:budget].tolist()
        methods["integrated gradients"].append(merge_tokens(candidate_tokens(text), top))
    ig_s = (time.perf_counter() - started) / len(flagged)
    rng = random.Random(args.seed)
    methods["random"] = [
        random_spans(t, s, rng) for t, s in zip(flagged, methods["occlusion search"], strict=True)
    ]
    seconds = {"occlusion search": occlusion_s, "integrated gradients": ig_s, "random": 0.0}

    print(f"{flagger.version}: {len(flagged)} flagged messages, {np.mean(budgets):.2f} words each")
    print("| method | comprehensiveness | sufficiency | un-flagged | ms per message |")
    print("|---|---|---|---|---|")
    for name, spans in methods.items():
        without = flagger.sexist_scores(
            [removed(t, s) for t, s in zip(flagged, spans, strict=True)]
        )
        kept = flagger.sexist_scores(
            [keep_spans(t, s) for t, s in zip(flagged, spans, strict=True)]
        )
        print(
            f"| {name} | {np.mean(scores - without):.4f} | {np.mean(scores - kept):.4f} | "
            f"{np.mean(without < threshold):.3f} | {1000 * seconds[name]:.0f} |"
        )


if __name__ == "__main__":
    main()
