#!/usr/bin/env bash
# ECCT small (N = 2, d = 32) at the CPU budget of results/ecct_budget.md (800 steps of 128 words per code), one
# code after the other on one core; rerunning resumes every unfinished run from its checkpoints.
# Usage: benchmarks/ecct_budget.sh WORKDIR [CORE] [CODE ...]
# Environment: STEPS (a shorter budget than the config's, e.g. STEPS=400), WAIT_PID (start after that process ends).
set -euo pipefail
root=${1:?usage: benchmarks/ecct_budget.sh WORKDIR [CORE] [CODE ...]}
core=${2:-1}
shift $(( $# >= 2 ? 2 : 1 ))
codes=("$@")
if [ ${#codes[@]} -eq 0 ]; then
  codes=(BCH_N31_K16 POLAR_N64_K32 BCH_N63_K45 LDPC_N49_K24 POLAR_N64_K48 BCH_N63_K51)
fi
extra=()
if [ -n "${STEPS:-}" ]; then extra=(--config.train.steps="$STEPS"); fi
if [ -n "${WAIT_PID:-}" ]; then while kill -0 "$WAIT_PID" 2>/dev/null; do sleep 10; done; fi
for code in "${codes[@]}"; do
  if [ -f "$root/$code/neural_decoder_eval.json" ]; then echo "$code: done"; continue; fi
  echo "$code: $(date -u +%H:%M:%S) start"
  nice -n 5 taskset -c "$core" python3 -m launch.main \
    --config="experiments/neural_decoders/ecct.py:small,budget,$code" --workdir="$root/$code" \
    --config.train.progress=False ${extra[@]+"${extra[@]}"}
  echo "$code: $(date -u +%H:%M:%S) end"
done
