#!/usr/bin/env bash
# Rebuild models/flagger-edos from the EDOS file with the recipe in training/edos.json, then
# print its dev figures. About 40 minutes on 2 CPU cores.
# Usage: bash training/build_shipped.sh [EDOS_CSV] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/edos/edos_train_dev.csv}
out=${2:-models/flagger-edos}
make dev >/dev/null
.venv/bin/flagger --verbose train --data "$data" --out "$out" --config training/edos.json
.venv/bin/flagger evaluate --data "$data" --split dev --model "$out"
