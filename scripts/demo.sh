#!/usr/bin/env bash
# `make demo`: train a classifier on the embedded real handwritten digits, evaluate it, predict a few images.
set -euo pipefail
cd "$(dirname "$0")/.."
CVKIT=.venv/bin/cvkit
OUT=${DEMO_OUT:-runs/demo}
rm -rf "$OUT"
mkdir -p "$OUT"

echo "== cvkit tasks" >&2
$CVKIT tasks
echo "== writing the embedded digits as an ImageFolder tree" >&2
DATA=$($CVKIT data make digits --out "$OUT/digits")
echo "$DATA" >&2
echo "== training on builtin:digits (the default: an MLP on 16x16 digits, no flips)" >&2
$CVKIT train classify --out "$OUT/train"
echo "== evaluating best.pt on the val split" >&2
$CVKIT eval --weights "$OUT/train/best.pt"
echo "== predicting 5 images to $OUT/predictions.jsonl" >&2
ls "$OUT"/digits/val/*/*.png | head -n 5 | $CVKIT predict --weights "$OUT/train/best.pt" - \
  --output "$OUT/predictions.jsonl" --save-vis "$OUT/vis"
head -n 2 "$OUT/predictions.jsonl"
$CVKIT visualize confusion --weights "$OUT/train/best.pt" --out "$OUT/vis" >/dev/null
echo "run folder: $OUT/train  (metrics.csv, best.pt, curves); pictures: $OUT/vis" >&2
