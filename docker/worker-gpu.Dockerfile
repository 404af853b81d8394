# syntax=docker/dockerfile:1.7
# maskq GPU worker (onnxruntime-node CUDA provider). Build from the repository root:
#   docker build -f docker/worker-gpu.Dockerfile -t maskq/worker-gpu .
# Runs on a host with the NVIDIA driver and NVIDIA Container Toolkit (compose profile `gpu`,
# or a k8s node with the NVIDIA device plugin). onnxruntime-node 1.30's CUDA provider is built
# for CUDA 12 + cuDNN 9, which this runtime base provides.
ARG NODE_IMAGE=node:20.19-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04

FROM ${NODE_IMAGE} AS node

# ---- build: full workspace install, compile, deploy, then fetch the CUDA provider
FROM ${NODE_IMAGE} AS build
ENV CI=true
RUN npm i -g pnpm@12.4.2
WORKDIR /src
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
COPY packages/shared/package.json packages/shared/
COPY packages/api/package.json packages/api/
COPY packages/worker/package.json packages/worker/
COPY packages/client/package.json packages/client/
COPY packages/web/package.json packages/web/
COPY models/converter/package.json models/converter/
RUN pnpm install --frozen-lockfile
COPY tsconfig.base.json ./
COPY packages/shared packages/shared
COPY packages/worker packages/worker
RUN pnpm --filter @maskq/worker... run build \
 && pnpm --filter @maskq/worker deploy --prod /out/packages/worker
# pnpm-workspace.yaml keeps onnxruntime-node's install script off (no internet on dev machines).
# Here it runs, with internet: ONNXRUNTIME_NODE_INSTALL=cuda12 makes script/install download
# Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0 from nuget.org and place
# libonnxruntime_providers_{cuda,shared,tensorrt}.so next to the binding (bin/napi-v6/linux/x64).
# The check fails the build if the CUDA provider is missing.
RUN cd /out/packages/worker \
 && ORT_DIR="$(dirname "$(node -p "require.resolve('onnxruntime-node/package.json')")")" \
 && cd "$ORT_DIR" \
 && ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install.js \
 && test -f bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
 && test -f bin/napi-v6/linux/x64/libonnxruntime_providers_shared.so
COPY models models
RUN mkdir -p /out/models && cp -r models/face-mask /out/models/face-mask

# ---- runtime: CUDA 12 + cuDNN 9 runtime libraries, with Node 20 copied in from the official image
FROM ${CUDA_IMAGE} AS runtime
COPY --from=node /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production \
    EXECUTION_PROVIDER=cuda \
    CUDA_FALLBACK=false \
    MODEL_DIR=/app/models/face-mask/1.0.0 \
    WORKER_METRICS_HOST=0.0.0.0 \
    WORKER_METRICS_PORT=9464 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
RUN groupadd --system --gid 10001 maskq \
 && useradd --system --uid 10001 --gid maskq --home-dir /app --shell /usr/sbin/nologin maskq
LABEL org.opencontainers.image.title="maskq-worker-gpu" \
      app.kubernetes.io/name="maskq" \
      app.kubernetes.io/component="worker" \
      maskq.io/accelerator="gpu"
WORKDIR /app
COPY --from=build --chown=10001:10001 /out /app
USER 10001:10001
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.WORKER_METRICS_PORT||9464)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "packages/worker/dist/main.js"]
