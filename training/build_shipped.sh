#!/usr/bin/env bash
# Rebuild models/flagger-edos (1.2.0) from the EDOS file: the recipe in training/judgement.json
# (EDOS train + the first ten slices of the authored corpus in training/corpus, twice) plus the
# hard-case augmentations from training/augment.py; calibration and operating points on EDOS
# dev; the int8 export, gated on EDOS dev and on the out-of-domain checks; the behavioural suite
# and the generalisation table (before: 1.1.0, taken from git history) recorded in the model
# card. About 40 minutes on 2 CPU cores. The blind split (training/blind) is never trained on:
# training refuses it.
# Usage: bash training/build_shipped.sh [EDOS_CSV] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/edos/edos_train_dev.csv}
out=${2:-models/flagger-edos}
shared=$(dirname "$(dirname "$data")")
before=runs/flagger-edos-1.1.0
make dev >/dev/null
mkdir -p runs
if [ ! -d "$before" ]; then  # the model 1.2.0 replaces, for the before/after tables
    git archive 5a4a135e49262312536a249d32798305e2d20714 models/flagger-edos | tar -x -C runs
    mv runs/models/flagger-edos "$before" && rmdir runs/models
fi
.venv/bin/python training/augment.py --out runs/augment.csv
.venv/bin/flagger --verbose train --data "$data" --extra-train runs/augment.csv --out "$out" \
    --config training/judgement.json --version 1.2.0
.venv/bin/flagger calibrate "$out" --data "$data" --split dev --suite training/behaviour \
    --baseline "$before"
checks=(--check training/blind/blind.csv)
for f in "$shared/workplace/workplace_visible.csv" "$shared/toxigen-women/toxigen_women_seeds.csv"; do
    [ -f "$f" ] && checks+=(--check "$f")
done
.venv/bin/flagger export-onnx "$out" --data "$data" --split dev "${checks[@]}"
.venv/bin/python training/generalisation.py --model "$before" --model "$out" --record \
    --json runs/generalisation.json
