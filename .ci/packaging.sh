#!/usr/bin/env bash
# CI: build the packaged app (dist/ColorStudio) and smoke-test the built executable.
# Any failure fails the script. Called from .ci/run; run it from anywhere.
#
#   PYTHON=python3 .ci/packaging.sh
#
# Needs PyInstaller (pip install -e '.[package]') and the shipped model at
# resources/models/default.pt. COLORSTUDIO_CI_RANDOM_MODEL=1 builds with a temporary
# randomly initialised model instead when that file is absent (tests the packaging
# only; the model is deleted afterwards).
# Measured on 2 cores (nice 15, beside a training job): build 2.2-2.4 min cold, smoke tests 2.8 min.
set -euo pipefail

cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
model=resources/models/default.pt
tmp=$(mktemp -d)
made_model=""

cleanup() {
    if [ -n "$made_model" ]; then rm -f "$model"; fi
    chmod -R u+w "$tmp" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

if ! "$PY" -m PyInstaller --version >/dev/null 2>&1; then
    echo "packaging.sh: error: PyInstaller is not installed for $PY (pip install -e '.[package]')" >&2
    exit 1
fi
if [ ! -f "$model" ] && [ "${COLORSTUDIO_CI_RANDOM_MODEL:-0}" = "1" ]; then
    echo "packaging.sh: $model absent: building with a temporary random model"
    "$PY" -c "from colorstudio.core.checkpoint import save_model; from colorstudio.core.model import ColorNet, PRESETS; save_model('$model', ColorNet(PRESETS['small']))"
    made_model=1
fi

start=$(date +%s)
"$PY" packaging/build.py
built=$(date +%s)
echo "packaging.sh: build took $((built - start)) s; size: $(du -sh dist/ColorStudio | cut -f1)"

# 1. The folder as built; 2. a copy in a non-ASCII path, made read-only.
"$PY" packaging/smoke_test.py --app dist/ColorStudio
"$PY" packaging/smoke_test.py --app dist/ColorStudio --copy-to "$tmp/Фото app/ColorStudio" --read-only
echo "packaging.sh: ok: build $((built - start)) s, smoke tests $(( $(date +%s) - built )) s"
