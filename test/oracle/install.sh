#!/usr/bin/env bash
# Installs the oracle's own small package (node-llama-cpp + its prebuilt linux-x64 CPU binary)
# into test/oracle/node_modules without the optional CUDA/Vulkan binaries and without any download
# of llama.cpp sources. Idempotent: does nothing when the pinned versions are already installed.
set -euo pipefail
cd "$(dirname "$0")"
want=3.22.1
have=$(node -p "try{require('./node_modules/node-llama-cpp/package.json').version}catch{''}" 2>/dev/null || true)
bin=$(node -p "try{require('./node_modules/@node-llama-cpp/linux-x64/package.json').version}catch{''}" 2>/dev/null || true)
if [[ "$have" == "$want" && "$bin" == "$want" ]]; then
  echo "oracle: node-llama-cpp $want already installed"
  exit 0
fi
# npm ci refuses this lock (npm 11 leaves the other platforms' optional binaries out of it);
# npm install still follows the lock's pinned versions.
NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --omit=optional --no-audit --no-fund --ignore-scripts
echo "oracle: installed node-llama-cpp $want"
