#!/usr/bin/env bash
# The accelerator checks and benchmarks in one go (the figures the README quotes for a GPU),
# sized to finish in about 5 minutes on one H100/H200-class GPU:
#   1. the same bits for any batch size on the accelerator, and how close to the CPU;
#   2. statistics at scale (2,048 images, 256 per step) against the VGG16 forward;
#   3. statistics vs numpy (on this machine's CPU) vs the VGG16 forward, same run (128 images);
#   4. Flax vs PyTorch forward, VGG16 and ResNet-50 (needs torch; --with-models).
# Each step's JSON is copied to OUT_DIR as it finishes, so a run cut short keeps what it did.
#
# Usage: bash bench/gpu.sh [OUT_DIR] [--with-models]   (default bench/out/gpu; from the repo root)
set -u
out=${1:-bench/out/gpu}
models=${2:-}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python=${PYTHON:-python3}

$python -c "import jax; print('jax', jax.__version__, jax.devices())"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

step() {  # step NAME JSON COMMAND...
    local name=$1 json=$2
    shift 2
    echo "== $name: $*"
    local start=$SECONDS
    if "$@"; then
        cp "$json" "$out/$name.json"
        echo "== $name done in $((SECONDS - start)) s"
    else
        echo "== $name FAILED after $((SECONDS - start)) s"
    fi
}

echo "== invariance: $python bench/check_accelerator.py"
$python bench/check_accelerator.py || echo "== invariance FAILED"
step stats_2048 bench/out/bench_stats.json \
    $python bench/bench_stats.py --devices 1 --batch 256 --images 2048 --vgg-batch 64 \
    --skip numpy
step stats_128 bench/out/bench_stats.json \
    $python bench/bench_stats.py --devices 1 --batch 64 --images 128 --vgg-batch 64
if [ "$models" = --with-models ]; then
    step models bench/out/bench_models.json \
        $python bench/bench_models.py --archs vgg16 resnet50 --batch-sizes 1 64 --runs 5
fi
