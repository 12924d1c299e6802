#!/usr/bin/env bash
# Rebuild models/flagger-edos from the EDOS file with the recipe in training/edos.json and the
# hard-case augmentations from training/augment.py, then record the behavioural suite in its model
# card and print its dev and suite figures. About 45 minutes on 2 CPU cores.
# Usage: bash training/build_shipped.sh [EDOS_CSV] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/edos/edos_train_dev.csv}
out=${2:-models/flagger-edos}
make dev >/dev/null
.venv/bin/python training/augment.py --out runs/augment.csv
.venv/bin/flagger --verbose train --data "$data" --extra-train runs/augment.csv --out "$out" \
    --config training/edos.json --version 1.1.0
.venv/bin/flagger calibrate "$out" --data "$data" --split dev --suite training/behaviour \
    --steps training/hard_case_steps.json
.venv/bin/flagger export-onnx "$out" --data "$data" --split dev
.venv/bin/flagger evaluate --data "$data" --split dev --suite training/behaviour --model "$out"
