# syntax=docker/dockerfile:1.7
# maskq CPU worker (onnxruntime-node CPU provider). Build from the repository root:
#   docker build -f docker/worker.Dockerfile -t maskq/worker .
ARG NODE_IMAGE=node:20.19-bookworm-slim

# ---- build: full workspace install, compile, then deploy only @maskq/worker's production closure
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
# onnxruntime-node's install script stays off (pnpm-workspace.yaml allowBuilds): it only
# downloads the CUDA provider, which this CPU image does not use.
RUN pnpm install --frozen-lockfile
COPY tsconfig.base.json ./
COPY packages/shared packages/shared
COPY packages/worker packages/worker
RUN pnpm --filter @maskq/worker... run build \
 && pnpm --filter @maskq/worker deploy --prod /out/packages/worker
# The served model (ONNX + manifest).
COPY models models
RUN mkdir -p /out/models && cp -r models/face-mask /out/models/face-mask

# ---- runtime
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    EXECUTION_PROVIDER=cpu \
    MODEL_DIR=/app/models/face-mask/1.0.0 \
    WORKER_METRICS_HOST=0.0.0.0 \
    WORKER_METRICS_PORT=9464
RUN groupadd --system --gid 10001 maskq \
 && useradd --system --uid 10001 --gid maskq --home-dir /app --shell /usr/sbin/nologin maskq
LABEL org.opencontainers.image.title="maskq-worker" \
      app.kubernetes.io/name="maskq" \
      app.kubernetes.io/component="worker" \
      maskq.io/accelerator="cpu"
WORKDIR /app
COPY --from=build --chown=10001:10001 /out /app
USER 10001:10001
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.WORKER_METRICS_PORT||9464)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The worker drains the batch in hand on SIGTERM; give it stop_grace_period / terminationGracePeriodSeconds.
STOPSIGNAL SIGTERM
CMD ["node", "packages/worker/dist/main.js"]
