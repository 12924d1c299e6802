"""The baseline a scan is compared with: ``transformers.pipeline`` over the same model and texts.

The flagger network (BERT encoder, mean pooling, a sexist head) is wrapped as a Hugging Face
``PreTrainedModel`` so the stock text-classification pipeline can run it exactly as it would any
sequence classifier: batch 32, truncation at the model's window, no length bucketing. It reads a
JSONL of ``{"id", "text"}`` and writes ``{"id", "score"}`` lines (sigmoid of the raw logit).

    .venv/bin/python bench/pipeline_baseline.py posts.jsonl out.jsonl --batch-size 32
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertPreTrainedModel, pipeline
from transformers.modeling_outputs import SequenceClassifierOutput

from flagger.model import default_threads
from flagger.model_dir import check_model_dir, default_model_dir
from flagger.network import MultiTaskClassifier, read_network


class SexistSequenceClassifier(BertPreTrainedModel):
    """The flagger network seen by ``transformers`` as a one-logit sequence classifier."""

    def __init__(self, config: BertConfig, network: MultiTaskClassifier) -> None:
        super().__init__(config)
        self.network = network

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: object
    ) -> SequenceClassifierOutput:
        return SequenceClassifierOutput(logits=self.network(input_ids, attention_mask).sexist)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path, help="JSONL with id and text")
    parser.add_argument("output", type=Path, help="JSONL of id and score")
    parser.add_argument("--model", type=Path, default=None, help="model directory")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    torch.set_num_threads(default_threads())
    directory, info = check_model_dir(args.model or default_model_dir())
    network = read_network(directory)
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    config = BertConfig.from_dict({**network.config.to_dict(), "num_labels": 1})
    model = SexistSequenceClassifier(config, network).eval()
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")
    with args.input.open(encoding="utf-8") as handle:
        posts = [json.loads(line) for line in handle]
    results = classify(
        [p["text"] for p in posts],
        batch_size=args.batch_size,
        truncation=True,
        max_length=info.max_length,
        function_to_apply="sigmoid",
    )
    with args.output.open("w", encoding="utf-8") as out:
        for post, result in zip(posts, results, strict=True):
            out.write(json.dumps({"id": post["id"], "score": result["score"]}) + "\n")


if __name__ == "__main__":
    main()
