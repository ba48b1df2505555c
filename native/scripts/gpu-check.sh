#!/usr/bin/env bash
# GPU check: builds the engine with CUDA (sm_90, cuBLAS from PyTorch's wheel when present), runs
# the CUDA tests, engine-bench on random Llama-3.2-1B (and 3B if time allows) weights, the
# transformers peer on the same weights, and prints a results table LAST. Every step has a
# timeout and a failure never stops the script. Needs: nvcc, CMake, Python 3 with torch and
# transformers; no Node, no network. Fixtures must be pre-generated (carried) under
# $FIXTURES (default .data/models: tiny-llama/, mid-llama/).
#
#   native/scripts/gpu-check.sh [RESULTS_DIR]      (default: $OUT if set, else native/build-gpu/gpu-check-results)
#   env: FIXTURES, BENCH_DIR (random models, default /tmp/llm-bench), NUM_PROMPTS (1000),
#        ARCH (90), JOBS (nproc), SKIP_3B=1, HF_BUDGET (seconds per transformers mode, 45)
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
RES=${1:-${OUT:-$ROOT/native/build-gpu/gpu-check-results}}
mkdir -p "$RES"
FIXTURES=${FIXTURES:-$ROOT/.data/models}
BENCH_DIR=${BENCH_DIR:-/tmp/llm-bench}
NUM_PROMPTS=${NUM_PROMPTS:-1000}
ARCH=${ARCH:-90}
JOBS=${JOBS:-$(nproc)}
HF_BUDGET=${HF_BUDGET:-45}
BUILD=$ROOT/native/build-gpu
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
STEPS=$RES/steps.tsv
: >"$STEPS"
START=$SECONDS

# step NAME TIMEOUT CMD...: runs CMD with a timeout, logs to $RES/NAME.log, records the status.
step() {
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  echo "==> [$name] (timeout ${limit}s) $*"
  timeout --kill-after=10 "$limit" "$@" >"$RES/$name.log" 2>&1
  local rc=$?
  local status=ok
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status=TIMEOUT; elif [ $rc -eq 77 ]; then status=SKIP; elif [ $rc -ne 0 ]; then status="FAIL($rc)"; fi
  local note
  note=$(grep -E "passed, [0-9]+ failed" "$RES/$name.log" | tail -1)
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$((SECONDS - t0))" "$note" >>"$STEPS"
  tail -n 25 "$RES/$name.log"
  echo "<== [$name] $status in $((SECONDS - t0))s"
  return $rc
}
skip() { printf '%s\t%s\t0\t%s\n' "$1" "SKIP" "$2" >>"$STEPS"; echo "--- [$1] skipped: $2"; }

echo "gpu-check: results in $RES"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee "$RES/gpu.txt" || true

# cuBLAS: PyTorch's nvidia wheel (nvidia/cu13/lib or nvidia/cublas/lib), else the toolkit's.
CUBLAS_LIB=${LLM_CUBLAS_LIBRARY:-}
if [ -z "$CUBLAS_LIB" ]; then
  NV_DIRS=$($PY -c "import nvidia, os; print(' '.join(nvidia.__path__))" 2>/dev/null || true)
  for d in $NV_DIRS /usr/local/cuda/lib64 /usr/local/cuda/targets/*/lib; do
    CUBLAS_LIB=$(find "$d" -maxdepth 3 -name 'libcublas.so*' 2>/dev/null | grep -v -e cublasLt -e stubs | sort | tail -1)
    [ -n "$CUBLAS_LIB" ] && break
  done
fi
echo "cuBLAS: ${CUBLAS_LIB:-none (our GEMM kernels)}"

step build 300 bash -c "cmake -S native -B '$BUILD' -DCMAKE_BUILD_TYPE=Release -DLLM_WITH_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=$ARCH ${CUBLAS_LIB:+-DLLM_CUBLAS_LIBRARY=$CUBLAS_LIB} && \
  cmake --build '$BUILD' -j$JOBS --target cuda_ops_test cuda_sample_rows_test cuda_model_test engine-bench engine-overhead-bench"
BUILT=$?

export LLM_TEST_MODEL_DIR=$FIXTURES/tiny-llama LLM_TEST_MID_MODEL_DIR=$FIXTURES/mid-llama
[ -f "$LLM_TEST_MID_MODEL_DIR/config.json" ] || echo "WARNING: no mid fixture at $LLM_TEST_MID_MODEL_DIR (carry .data/models)"
B1=$BENCH_DIR/llama-3.2-1b
B3=$BENCH_DIR/llama-3.2-3b
if [ $BUILT -eq 0 ]; then
  step cuda_ops_test 90 "$BUILD/cuda_ops_test"
  step cuda_sample_rows_test 30 "$BUILD/cuda_sample_rows_test"
  step cuda_model_test 150 "$BUILD/cuda_model_test"
  step write_1b 90 "$BUILD/bench/engine-bench" --random-model llama-3.2-1b --out "$B1" --write-only
  step bench_1b 240 "$BUILD/bench/engine-bench" --model "$B1" --label llama-3.2-1b --device cuda \
    --batch-sizes 1,8,64,256 --num-prompts "$NUM_PROMPTS" --input-len 512 --output-len 128 \
    --max-num-seqs 256 --max-num-batched-tokens 8192 --output "$RES/bench-1b.json"
  if [ -f "$LLM_TEST_MID_MODEL_DIR/config.json" ]; then
    step dump_mid_logits 60 "$BUILD/bench/engine-bench" --model "$LLM_TEST_MID_MODEL_DIR" --device cuda \
      --dump-logits "$RES/mid-logits.bin" --dump-tokens 24
  else
    skip dump_mid_logits "no mid fixture"
  fi
else
  for s in cuda_ops_test cuda_sample_rows_test cuda_model_test write_1b bench_1b dump_mid_logits; do skip $s "build failed"; done
fi

HF_ARGS=()
[ -f "$RES/mid-logits.bin" ] && HF_ARGS+=(--logits "$RES/mid-logits.bin" --logits-model "$LLM_TEST_MID_MODEL_DIR")
[ -f "$B1/model.safetensors" ] && HF_ARGS+=(--model "$B1" --num-prompts "$NUM_PROMPTS" --time-budget "$HF_BUDGET")
if [ ${#HF_ARGS[@]} -gt 0 ]; then
  step hf_peer $((HF_BUDGET * 2 + 90)) $PY native/bench/hf_peer.py "${HF_ARGS[@]}" --output "$RES/hf.json"
else
  skip hf_peer "no model and no logits dump"
fi

# Diagnostics, each only while time remains (the whole script must fit in 6 minutes):
elapsed() { echo $((SECONDS - START)); }
if [ $BUILT -eq 0 ] && [ -f "$B1/model.safetensors" ]; then
  # Where an eager step's GPU time goes, per op (prompt, prefill 1 x 512 and 16 x 512, decode).
  if [ "$(elapsed)" -lt 280 ]; then
    step ops_1b 45 "$BUILD/bench/engine-bench" --model "$B1" --label llama-3.2-1b-ops --device cuda \
      --batch-sizes 1,64,256 --num-prompts 0 --op-timing --output "$RES/bench-1b-ops.json"
  else skip ops_1b "not enough time left"; fi
  # Decode steps without CUDA graphs, to show what the graphs buy (no offline run).
  if [ "$(elapsed)" -lt 290 ]; then
    step bench_1b_nographs 40 env LLM_CUDA_GRAPHS=0 "$BUILD/bench/engine-bench" --model "$B1" \
      --label llama-3.2-1b-nographs --device cuda --batch-sizes 1,8,64 --num-prompts 0 \
      --output "$RES/bench-1b-nographs.json"
  else skip bench_1b_nographs "not enough time left"; fi
  # Single-pass bf16 GEMM inputs (vLLM's precision; the default splits f32 activations into bf16
  # hi + lo): what it buys in throughput and costs in logits error.
  if [ "$(elapsed)" -lt 230 ]; then
    step bench_1b_bf16act 90 env LLM_CUDA_SPLIT_ACTIVATIONS=0 "$BUILD/bench/engine-bench" --model "$B1" \
      --label llama-3.2-1b-bf16act --device cuda --batch-sizes 1,256 --num-prompts "$NUM_PROMPTS" --input-len 512 \
      --output-len 128 --max-num-seqs 256 --max-num-batched-tokens 8192 --output "$RES/bench-1b-bf16act.json"
    step cuda_model_test_bf16act 60 env LLM_CUDA_SPLIT_ACTIVATIONS=0 "$BUILD/cuda_model_test"
  else skip bench_1b_bf16act "not enough time left"; fi
  # Sampled requests: temperature only, and top_p (both drawn on the GPU since the eleventh
  # session; top_p rows came back to the host sampler before), greedy with logprobs (scored on
  # the GPU since the twelfth session; their rows came back to the host before) and with
  # penalties (edited on the GPU since the twelfth session; host rows before).
  for spec in "temp:--temperature 0.8" "topp:--temperature 0.8 --top-p 0.9" "logprobs:--logprobs 5" \
      "penalties:--repetition-penalty 1.1 --frequency-penalty 0.3 --presence-penalty 0.5"; do
    name=${spec%%:*}
    if [ "$(elapsed)" -lt 300 ]; then
      # shellcheck disable=SC2086
      step bench_1b_$name 45 "$BUILD/bench/engine-bench" --model "$B1" --label llama-3.2-1b-$name --device cuda \
        --batch-sizes 1 --num-prompts 256 --input-len 512 --output-len 128 --max-num-seqs 256 \
        --max-num-batched-tokens 8192 ${spec#*:} --output "$RES/bench-1b-$name.json"
    else skip bench_1b_$name "not enough time left"; fi
  done
fi

# The engine's own host cost per step (no GPU work: a null backend), on this host's CPU.
if [ $BUILT -eq 0 ]; then
  step overhead 60 bash -c "'$BUILD/bench/engine-overhead-bench' --output '$RES/overhead-greedy.json' && \
    '$BUILD/bench/engine-overhead-bench' --temperature 0.8 --top-p 0.9 --output '$RES/overhead-topp.json' && \
    '$BUILD/bench/engine-overhead-bench' --logprobs 5 --num-prompts 300 --output '$RES/overhead-logprobs.json' && \
    '$BUILD/bench/engine-overhead-bench' --repetition-penalty 1.1 --frequency-penalty 0.3 --presence-penalty 0.5 \
      --output '$RES/overhead-penalties.json'"
fi

# 3B: only the step-level benchmark and a short offline run, and only if time remains.
if [ $BUILT -eq 0 ] && [ -z "${SKIP_3B:-}" ] && [ $((SECONDS - START)) -lt 230 ]; then
  step write_3b 60 "$BUILD/bench/engine-bench" --random-model llama-3.2-3b --out "$B3" --write-only && \
  step bench_3b 90 "$BUILD/bench/engine-bench" --model "$B3" --label llama-3.2-3b --device cuda \
    --batch-sizes 1,8,64,256 --num-prompts 256 --input-len 512 --output-len 128 --max-num-seqs 256 \
    --max-num-batched-tokens 8192 --output "$RES/bench-3b.json"
else
  skip bench_3b "not enough time left (or SKIP_3B / build failed)"
fi
rm -rf "$BENCH_DIR"

echo
grep -h "OPCHECK" "$RES"/cuda_*_test.log 2>/dev/null | grep -v " ok$" | head -40 || true
echo "(total ${SECONDS}s)"
$PY native/bench/summarize.py "$RES" | tee "$RES/summary.txt"
