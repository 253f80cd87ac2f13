#!/usr/bin/env bash
# bench/gpu_check.sh: a short benchmark of all three backends on a GPU machine.
#
# On a machine with an NVIDIA GPU and nothing but Python 3.10+ installed, run
# from the repository root:
#
#     bash bench/gpu_check.sh
#
# It makes one virtualenv per backend under .gpu-venvs/ (CUDA builds from pip:
# jax[cuda12], tensorflow[and-cuda], torch), installs this project into each,
# checks that the backend sees the GPU, and runs a short `bench sweep` (lists of
# 5 and 50, batch 256 and 2048, three losses; synthetic data, so no dataset is
# needed) with each backend, leaving results/runs/gpu-<backend>.json. Where
# MovieLens 100K is available (LISTRANK_DATA_DIR) it also runs one seed, one
# epoch of `bench run` per backend: results/runs/gpu-run-<backend>.json.
# `python -m bench report` then shows them, with the GPU model, its memory and
# each run's peak device memory.
#
# Settings (environment):
#   GPU_CHECK_BACKENDS   backends to run (default: "jax tensorflow torch")
#   GPU_CHECK_PYTHON     interpreter for the virtualenvs (default: python3)
#   GPU_CHECK_OFFLINE=1  use existing virtualenvs, install nothing
#   LISTRANK_DATA_DIR    MovieLens 100K folder for the extra `bench run`
set -euo pipefail
cd "$(dirname "$0")/.."

BACKENDS=${GPU_CHECK_BACKENDS:-"jax tensorflow torch"}
PYTHON=${GPU_CHECK_PYTHON:-python3}
VENVS=.gpu-venvs
OUT=results/runs
mkdir -p "$OUT" "$VENVS"

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "error: no NVIDIA GPU visible (nvidia-smi missing or failing); run this on a GPU machine" >&2
    exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv

declare -A EXTRA=(
    [jax]="jax[cuda12]"
    [tensorflow]="tensorflow[and-cuda]"
    [torch]="torch"
)
declare -A PROBE=(
    [jax]="import jax; d = jax.devices(); assert d[0].platform == 'gpu', d; print(d)"
    [tensorflow]="import tensorflow as tf; g = tf.config.list_physical_devices('GPU'); assert g, 'no GPU'; print(g)"
    [torch]="import torch; assert torch.cuda.is_available(), 'no CUDA'; print(torch.cuda.get_device_name(0))"
)

status=0
for backend in $BACKENDS; do
    if [[ -z "${EXTRA[$backend]:-}" ]]; then
        echo "error: unknown backend '$backend' in GPU_CHECK_BACKENDS; use jax, tensorflow, torch" >&2
        exit 2
    fi
    venv="$VENVS/$backend"
    echo "=== $backend: environment ($venv)"
    if [[ "${GPU_CHECK_OFFLINE:-0}" != 1 ]]; then
        [[ -x "$venv/bin/python" ]] || "$PYTHON" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        # The GPU build of the backend first, then this project with its other dependencies
        # (matplotlib for `bench report`'s figures).
        "$venv/bin/python" -m pip install --quiet "${EXTRA[$backend]}"
        "$venv/bin/python" -m pip install --quiet ".[plots]"
    fi
    export KERAS_BACKEND=$backend
    if ! "$venv/bin/python" -c "${PROBE[$backend]}"; then
        echo "error: $backend does not see the GPU; see the messages above (driver / CUDA versions)" >&2
        status=1
        continue
    fi
    echo "=== $backend: sweep"
    # Batch sizes stay multiples of 8 and lists of 5/50 cover both regimes; about a minute each.
    "$venv/bin/python" -m bench sweep --backend "$backend" --axis list-size batch-size \
        --list-sizes 5 50 --batch-sizes 256 2048 --loss pairwise_logistic softmax list_mle \
        --windows 3 --window-steps 5 --out "$OUT/gpu-$backend.json" || status=1
    if [[ -n "${LISTRANK_DATA_DIR:-}" && -f "${LISTRANK_DATA_DIR}/u.data" ]]; then
        echo "=== $backend: bench run on MovieLens 100K"
        "$venv/bin/python" -m bench run --backend "$backend" --loss softmax pairwise_logistic \
            --seeds 1 --epochs 1 --out "$OUT/gpu-run-$backend.json" || status=1
    fi
    unset KERAS_BACKEND
done

echo "=== results"
ls -l "$OUT"/gpu-*.json || true
exit $status
