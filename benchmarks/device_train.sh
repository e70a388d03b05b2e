#!/usr/bin/env bash
# One short, complete training run on a lent or rented GPU machine that receives only the
# working tree plus a packed photo subset (no ../shared there, no network), and the
# evaluation of what it trained, in one command.
#
# Prepare here, once (about 60 MiB in all; runs/ is ignored by git, so carry runs/pack):
#   colorstudio train --data ../shared/data/train --pack runs/pack/train --pack-mib 42
#   cp -r ../shared/data/val256 runs/pack/val256
# Check it here on the CPU in a minute (tiny run, nothing kept):
#   MINUTES=0.3 DEVICE=cpu BATCH=8 WORKERS=1 EVERY=59 OUT=/tmp/check bash benchmarks/device_train.sh
# Then on the machine (the device tool: carry ["runs/pack"], timeout ~570 s):
#   bash benchmarks/device_train.sh
# It writes to $OUT: the trained model (model.pt, also saved every 2 minutes, so a run cut
# off at its limit still returns one), train.log and, for the new model and the shipped
# default on val256, eval-new.txt / eval-new.json and eval-default.txt (PSNR and
# colourfulness). Each evaluation is capped at EVAL_SECONDS so it cannot cost the model.
# Calibrate the engine settings of the returned model here afterwards (benchmarks/calibrate.py)
# and finalize it with `colorstudio train --finalize`.
# The README's GPU candidate came from two such calls on one H100 (16 cores):
#   MINUTES=7 EVAL_SECONDS=60 bash benchmarks/device_train.sh            (carry runs/pack)
#   MINUTES=2.3 WORKERS=8 LR=1e-3 CKPT_MINUTES=1 EVAL=0 INIT=runs/gpu1/model.pt \
#       bash benchmarks/device_train.sh           (carry runs/pack/train, runs/gpu1/model.pt)
set -euo pipefail

PACK=${PACK:-runs/pack}
OUT=${OUT:-runs/device}
PRESET=${PRESET:-quality}
MINUTES=${MINUTES:-6}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-256}
LR=${LR:-2e-3}
# Magnification range of the training photos: the engine runs the network at 160 px
# (native_size), the scale of the 144-176 px training photos, so little magnification.
SCALE=${SCALE:-1.0 1.5}
# Native size the new model is evaluated at (what `--finalize --native-size` will store;
# 0: the working size). The shipped default stores its own.
NATIVE=${NATIVE:-160}
EVERY=${EVERY:-1}
EVAL_SECONDS=${EVAL_SECONDS:-120}
EVAL=${EVAL:-1}  # 0: no evaluation there (then val256 need not travel)
CKPT_MINUTES=${CKPT_MINUTES:-2}
# Batch-drawing processes that keep the GPU fed. On one H100 with 16 cores the quality
# preset trained at ~3,900 photos/s with 8 (GPU load 60-80 %).
WORKERS=${WORKERS:-$(( $(nproc) > 10 ? 8 : ($(nproc) > 3 ? $(nproc) - 2 : 1) ))}
CACHE=${CACHE:-/tmp/colorstudio-cache}
INIT=${INIT:-resources/models/default.pt}

read -r -a scale <<< "$SCALE"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
"$PY" - <<'EOF'
import torch
print("torch", torch.__version__, "| GPU:", torch.cuda.get_device_name() if torch.cuda.is_available() else "none")
EOF
# The batch workers hand their batches over through shared memory (/dev/shm): about
# WORKERS x 2 batches of at most BATCH x 8 x 128 x 128 bytes (photos and plans). Containers
# often mount a small one; grow it where we may.
shm_mib=$(df -m --output=avail /dev/shm 2>/dev/null | tail -1 || echo 0)
if [ "${shm_mib:-0}" -lt 8192 ] && [ "$DEVICE" != cpu ]; then
    mount -o remount,size=16g /dev/shm 2>/dev/null || true
    shm_mib=$(df -m --output=avail /dev/shm 2>/dev/null | tail -1 || echo 0)
    fits=$(( ${shm_mib:-0} / 2 / (2 * BATCH * 8 * 128 * 128 / 1048576 + 1) ))
    if [ "$fits" -lt "$WORKERS" ]; then
        echo "note: /dev/shm has ${shm_mib} MiB free: $fits batch workers instead of $WORKERS"
        WORKERS=$fits
    fi
fi
for d in "$PACK/train" $([ "$EVAL" = 0 ] || echo "$PACK/val256"); do
    [ -d "$d" ] || { echo "missing $d: prepare the pack first (see the top of this script)" >&2; exit 2; }
done

# GPU load every 10 s, to tell a GPU-bound run from one starved of batches.
command -v nvidia-smi >/dev/null && [ "$DEVICE" != cpu ] && \
    { nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv -l 10 > "$OUT/gpu.csv" 2>&1 & }
"$PY" -m colorstudio train --data "$PACK/train" --cache-dir "$CACHE" --preset "$PRESET" --init "$INIT" \
    --device "$DEVICE" --batch "$BATCH" --lr "$LR" --workers "$WORKERS" --reg-loss log-mse --ce-weight 0.04 \
    --colour-shift 0.5 --scale "${scale[@]}" --minutes "$MINUTES" --checkpoint-minutes "$CKPT_MINUTES" \
    --out "$OUT/model.pt" 2>&1 \
    | tee "$OUT/train.log"
rm -f "$OUT/model.pt.state"  # only the model travels back
[ "$EVAL" = 0 ] && exit 0
for m in new default; do
    model=(--model "$OUT/model.pt" --native-size "$NATIVE"); [ "$m" = new ] || model=(--model default)
    timeout "$EVAL_SECONDS" "$PY" -m colorstudio eval --data "$PACK/val256" --every "$EVERY" --device "$DEVICE" \
        --no-levin "${model[@]}" --json "$OUT/eval-$m.json" 2>&1 | tee "$OUT/eval-$m.txt" \
        || echo "eval of $m: stopped"
done
