#!/usr/bin/env bash
# One short, complete training run on a lent or rented GPU machine that receives only the
# working tree plus a packed photo subset (no ../shared there, no network), and the
# evaluation of what it trained, in one command.
#
# Prepare here, once (about 60 MiB in all; runs/ is ignored by git, so carry runs/pack):
#   colorstudio train --data ../shared/data/train --pack runs/pack/train --pack-mib 42
#   cp -r ../shared/data/val256 runs/pack/val256
# Check it here on the CPU in a minute (tiny run, nothing kept):
#   MINUTES=0.3 DEVICE=cpu BATCH=8 EVERY=59 OUT=/tmp/check bash benchmarks/device_train.sh
# Then on the machine (the device tool: carry ["runs/pack"], timeout ~540 s):
#   bash benchmarks/device_train.sh
# It writes to $OUT: the trained model (model.pt), train.log and eval.txt / eval.json
# (the new model beside the shipped default on val256, PSNR and colourfulness). Calibrate
# the engine settings of the returned model here afterwards (benchmarks/calibrate.py) and
# finalize it with `colorstudio train --finalize`.
set -euo pipefail

PACK=${PACK:-runs/pack}
OUT=${OUT:-runs/device}
PRESET=${PRESET:-quality}
MINUTES=${MINUTES:-6}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-128}
LR=${LR:-2e-3}
EVERY=${EVERY:-1}
INIT=${INIT:-resources/models/default.pt}

mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
"$PY" - <<'EOF'
import torch
print("torch", torch.__version__, "| GPU:", torch.cuda.get_device_name() if torch.cuda.is_available() else "none")
EOF
for d in "$PACK/train" "$PACK/val256"; do
    [ -d "$d" ] || { echo "missing $d: prepare the pack first (see the top of this script)" >&2; exit 2; }
done

"$PY" -m colorstudio train --data "$PACK/train" --cache-dir "$OUT/cache" --preset "$PRESET" --init "$INIT" \
    --device "$DEVICE" --batch "$BATCH" --lr "$LR" --reg-loss log-mse --ce-weight 0.04 --colour-shift 0.5 \
    --minutes "$MINUTES" --checkpoint-minutes 2 --out "$OUT/model.pt" 2>&1 | tee "$OUT/train.log"
rm -rf "$OUT/cache" "$OUT/model.pt.state"  # only the model travels back
"$PY" -m colorstudio eval --data "$PACK/val256" --every "$EVERY" --device "$DEVICE" --no-levin \
    --model "$OUT/model.pt" --model default --json "$OUT/eval.json" 2>&1 | tee "$OUT/eval.txt"
