# syntax=docker/dockerfile:1.7
# maskq ingest API. Build from the repository root:
#   docker build -f docker/api.Dockerfile -t maskq/api .
ARG NODE_IMAGE=node:20.19-bookworm-slim

# ---- build: full workspace install, compile, then deploy only @maskq/api's production closure
FROM ${NODE_IMAGE} AS build
ENV CI=true
RUN npm i -g pnpm@12.4.2
WORKDIR /src
# Manifests first so the dependency layer is cached until a manifest or the lockfile changes.
# Every workspace member's package.json is needed for a --frozen-lockfile install.
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
COPY packages/api packages/api
# The web page the API serves at `/` (static files; found at packages/web/dist beside the API).
COPY packages/client packages/client
COPY packages/web packages/web
RUN pnpm --filter @maskq/api... run build \
 && pnpm --filter @maskq/api deploy --prod /out/packages/api \
 && pnpm --filter @maskq/web build \
 && mkdir -p /out/packages/web && cp -r packages/web/dist /out/packages/web/dist

# ---- runtime: Node + the deployed package, nothing else
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000
RUN groupadd --system --gid 10001 maskq \
 && useradd --system --uid 10001 --gid maskq --home-dir /app --shell /usr/sbin/nologin maskq
LABEL org.opencontainers.image.title="maskq-api" \
      app.kubernetes.io/name="maskq" \
      app.kubernetes.io/component="api"
WORKDIR /app
COPY --from=build --chown=10001:10001 /out /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "packages/api/dist/main.js"]
