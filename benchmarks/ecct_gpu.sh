#!/usr/bin/env bash
# ECCT at the published schedule (Choukroun & Wolf 2022; public code's Main.py: 1000 epochs x 1000 steps of 128
# words, Adam 1e-4 cosine-annealed to 1e-6, Eb/N0 2..7 dB) for every size and code of the paper's Table 1, one run
# after the other, on whatever accelerator JAX finds (a GPU: pip install -e . plus a CUDA jaxlib). Each run is
# `python -m launch.main --config=experiments/neural_decoders/ecct.py:<size>` with code.name set; it checkpoints
# every 10^4 steps, and rerunning this script resumes unfinished runs and skips finished ones.
#
# Usage: benchmarks/ecct_gpu.sh WORKDIR [--config.x=y ...]   (extra flags go to every launch.main call)
# Environment: ECCT_CODES (space-separated code names, default the 15 benchmark codes; a codes.catalog spec such as
# bch:15,7 also works), ECCT_SIZES (default "small n6_d32 n2_d64 n6_d64 n2_d128 n6_d128"), PYTHON (default python3).
# Results: WORKDIR/<size>/<code>/neural_decoder_eval.{json,md} (-ln(BER) at 4, 5, 6 dB).
set -euo pipefail
root=${1:?usage: benchmarks/ecct_gpu.sh WORKDIR [--config.x=y ...]}
shift
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
codes=${ECCT_CODES:-$("$python" -c "from experiments.neural_decoders import ecct; print(' '.join(ecct.CODES))")}
sizes=${ECCT_SIZES:-small n6_d32 n2_d64 n6_d64 n2_d128 n6_d128}
for size in $sizes; do
  for code in $codes; do
    dir="$root/$size/$(echo "$code" | tr -c 'A-Za-z0-9_\n' '_')"
    if [ -f "$dir/neural_decoder_eval.json" ]; then echo "$size $code: done"; continue; fi
    echo "$size $code: $(date -u +%FT%TZ) start"
    "$python" -m launch.main --config="experiments/neural_decoders/ecct.py:$size" --workdir="$dir" \
      --config.code.name="$code" --config.name="ecct_${size}_${code}" "$@"
    echo "$size $code: $(date -u +%FT%TZ) end"
  done
done
