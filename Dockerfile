# syntax=docker/dockerfile:1.7
# Multi-stage image for the llm-inference gateway with the native engine.
#   CPU (default):  docker build -t llm-inference .
#   CUDA:           docker build --build-arg VARIANT=cuda -t llm-inference:cuda .
#                   docker run --gpus all -p 8000:8000 -v /models:/models:ro -e MODEL_PATH=/models/<name> ...
# Runs as a non-root user; HEALTHCHECK probes GET /health.
ARG VARIANT=cpu
ARG NODE_VERSION=20.20.0
ARG NPM_VERSION=11.19.0
ARG CUDA_VERSION=12.6.3

FROM node:${NODE_VERSION}-bookworm AS node

# ---- build stages: native addon (cmake-js) + TypeScript, then drop dev dependencies ----
FROM node:${NODE_VERSION}-bookworm AS build-cpu
ENV LLM_WITH_CUDA=OFF

FROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu22.04 AS build-cuda
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
ENV LLM_WITH_CUDA=ON

FROM build-${VARIANT} AS build
ARG NPM_VERSION
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates cmake g++ make python3 git \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g npm@${NPM_VERSION}
WORKDIR /app
COPY . .
# npm ci builds the native addon (our own script, not a dependency's postinstall).
RUN npm ci --no-audit --no-fund \
 && npm run build --if-present \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf native/build/CMakeFiles native/build-* coverage \
 && npm cache clean --force

# ---- runtime stages ----
FROM node:${NODE_VERSION}-bookworm-slim AS runtime-cpu
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*

FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu22.04 AS runtime-cuda
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# NVML (utility) is read by the addon for the llm_gpu_* metrics.
ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility

FROM runtime-${VARIANT} AS runtime
ARG NPM_VERSION
RUN npm install -g npm@${NPM_VERSION} \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/llm llm \
 && mkdir -p /var/lib/llm-inference /models \
 && chown llm:llm /var/lib/llm-inference
WORKDIR /app
COPY --from=build --chown=root:root /app /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_LEVEL=info \
    MODEL_PATH=/models/model \
    METERING_JOURNAL_DIR=/var/lib/llm-inference/journal
USER llm
EXPOSE 8000
VOLUME ["/var/lib/llm-inference"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=300s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node itself under tini (not `npm start`): tini forwards SIGHUP (reload MODELS_FILE) and SIGTERM
# (drain) to the gateway; npm would end on a SIGHUP.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "-r", "./scripts/lib/aliases.cjs", "dist/apps/gateway/src/main.js"]
