#!/usr/bin/env bash
# Rebuild models/flagger-edos from the EDOS file: two runs of the recipe that differ only in
# data order and dropout (same initial heads), then a greedy soup of their weights chosen on dev.
# About 70 minutes on 2 CPU cores. Usage: bash training/build_shipped.sh [EDOS_CSV] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/edos/edos_train_dev.csv}
work=${2:-runs}
flagger=.venv/bin/flagger
make dev >/dev/null
$flagger --verbose train --data "$data" --out "$work/edos-seed13" --config training/edos.json
$flagger --verbose train --data "$data" --out "$work/edos-seed14" --config training/edos.json \
    --seed 14 --epochs 3
$flagger --verbose soup "$work/edos-seed13" "$work/edos-seed14" --data "$data" \
    --out models/flagger-edos
$flagger evaluate --data "$data" --split dev
