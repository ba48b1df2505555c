// node-llama-cpp's prebuilt CPU binary (installed by test/oracle/install.sh): no GPU layers, never
// builds or downloads. Shared by test/oracle/llama-eval.mjs and bench/engine/llama-peer.mjs.
import { getLlama } from 'node-llama-cpp';

export function getCpuLlama() {
  return getLlama({
    gpu: false,
    build: 'never',
    usePrebuiltBinaries: true,
    skipDownload: true,
    logLevel: 'error',
  });
}
