# syntax=docker/dockerfile:1
# legacy-gateway: the API (`node dist/main.js`) and the worker (`node dist/worker.js`) from one image.
# The build is exactly the tested one: `npm ci` → `npm run build` (tsc -p tsconfig.build.json),
# which test/build/dist.test.ts runs and then starts with plain node.
# Not built on the development machine (it cannot pull base images): see README "Container".

ARG NODE_IMAGE=node:20.20-bookworm-slim

# --- build: all dependencies, compile src/ to dist/ ------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY fixtures ./fixtures
RUN npm run build

# --- dev: the full toolchain, for the legacy simulators in compose.yaml ----------------------
FROM build AS dev
COPY scripts ./scripts
ENV HOST=0.0.0.0
CMD ["npm", "run", "simulators"]

# --- production dependencies only ---------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DEV_DATA_DIR=/tmp/lgw-dev
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# the WSDLs are read at start from ../fixtures relative to dist/
COPY fixtures ./fixtures
COPY package.json ./
# the image's unprivileged `node` user (uid 1000); nothing under /app is writable by it
USER node
EXPOSE 8080 9464
# Liveness only (the process answers); readiness (Redis reachable) is the orchestrator's probe.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
