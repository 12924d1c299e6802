"""Cut the packaged all-MiniLM-L6-v2 down to some of its layers, as a base for a smaller model.

Used to measure what a faster network costs in accuracy (README, "Speed"): the cut encoder is a
local directory that ``flagger train --base-model DIR`` fine-tunes like the full one.

    .venv/bin/python training/augment.py --out runs/augment.csv
    .venv/bin/python training/truncate_encoder.py --layers 0 2 4 5 --out runs/minilm-l4
    .venv/bin/flagger train --data ../shared/data/edos/edos_train_dev.csv \\
        --extra-train runs/augment.csv --config training/retrain.json \\
        --base-model runs/minilm-l4 --out runs/flagger-l4
    # the int8 export loses more than the 0.005 a shipped model may; kept here to time it
    .venv/bin/flagger export-onnx runs/flagger-l4 --data ../shared/data/edos/edos_train_dev.csv \\
        --max-f1-loss 0.05
    .venv/bin/python bench/batching.py --data ../shared/data/edos/edos_train_dev.csv \\
        --chunks 2048 --tolerances 16 --model runs/flagger-l4
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from transformers import AutoModel

from flagger.training.config import packaged_base_model

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", required=True, help="layers to keep")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    source = Path(packaged_base_model())
    encoder = AutoModel.from_pretrained(source)
    total = len(encoder.encoder.layer)
    if not args.layers or any(not 0 <= i < total for i in args.layers):
        raise SystemExit(f"--layers must be indices in [0, {total - 1}], found {args.layers}")
    encoder.encoder.layer = torch.nn.ModuleList(encoder.encoder.layer[i] for i in args.layers)
    encoder.config.num_hidden_layers = len(args.layers)
    encoder.save_pretrained(args.out)
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy(source / name, args.out / name)
    print(f"wrote {args.out}: layers {args.layers} of {total}")


if __name__ == "__main__":
    main()
