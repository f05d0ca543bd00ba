#!/usr/bin/env bash
# The accelerator checks and benchmarks in one command, sized to finish in under 5 minutes on one
# H100/H200-class GPU (each step has a time limit, so a slow step cannot eat the others' time):
#   1. invariance: the same bits for any batch size on the accelerator, and how close to the CPU;
#   2. statistics alone (2,048 images, 256 per step) and the VGG16 forward alone (batch 64), with
#      the values histogrammed and the host-to-device bytes per image and pass;
#   3. whole dissections of VGG16 conv5_3 with the model in the loop (1,024 images, batch 64):
#      segmentations given vs the forward alone; the published segmenter (UPerNet-50, 224x224)
#      in the loop vs both models' forward alone; the PyTorch reference algorithm on the same
#      inputs (on the GPU when torch sees one);
#   4. (--with-models) Flax vs PyTorch forward, VGG16 and ResNet-50.
# Every step writes JSON (date, machine, command, load average inside) to OUT_DIR as it finishes,
# so a run cut short keeps what it did; the console log goes to OUT_DIR/gpu.log.
#
# Usage: bash bench/gpu.sh [OUT_DIR] [--with-models]   (default bench/out/gpu; from the repo root)
# Needs: jax for the GPU (pip install -e '.[cuda12]'), torch (the reference; '.[test]').
set -u
out=${1:-bench/out/gpu}
models=${2:-}
mkdir -p "$out"
exec > >(tee -a "$out/gpu.log") 2>&1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python=${PYTHON:-python3}
start_all=$SECONDS

$python - "$out/machine.json" <<'EOF'
import datetime, json, os, subprocess, sys
import jax
try:
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                          "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
except OSError:
    gpu = None
info = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "jax": jax.__version__, "devices": [str(d) for d in jax.devices()],
        "backend": jax.default_backend(), "nvidia_smi": gpu, "cpu_cores": os.cpu_count(),
        "load_average": os.getloadavg()[0], "command": "bash bench/gpu.sh"}
print(json.dumps(info, indent=1))
open(sys.argv[1], "w").write(json.dumps(info, indent=2))
EOF

step() {  # step NAME SECONDS JSON COMMAND...: run with a time limit, copy its JSON to OUT_DIR
    local name=$1 limit=$2 json=$3
    shift 3
    echo "== $name (limit ${limit} s): $*"
    local start=$SECONDS
    if timeout "$limit" "$@"; then
        cp "$json" "$out/$name.json"
        echo "== $name done in $((SECONDS - start)) s"
    else
        echo "== $name FAILED or timed out after $((SECONDS - start)) s"
    fi
}

step invariance 70 "$out/invariance.json" \
    $python bench/check_accelerator.py --out "$out/invariance.json"
step stats_2048 80 bench/out/stats.json \
    $python bench/bench_stats.py --devices 1 --batch 256 --images 2048 --vgg-batch 64 \
    --skip numpy full1 full2 reference
step full_1024 130 bench/out/stats.json \
    $python bench/bench_stats.py --devices 1 --batch 64 --images 128 --vgg-batch 64 \
    --full-images 1024 --full-batch 64 --segmenter --skip numpy full2
if [ "$models" = --with-models ]; then
    step models 120 bench/out/bench_models.json \
        $python bench/bench_models.py --archs vgg16 resnet50 --batch-sizes 1 64 --runs 5
fi
echo "== all steps in $((SECONDS - start_all)) s; JSON in $out"
