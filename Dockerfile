# xt-connect: multi-stage build on the current Node LTS line (24). better-sqlite3 12 supports
# Node 20 to 25, so one lockfile serves Node 20 (development) and 24 (this image).

FROM node:24-bookworm-slim AS build
WORKDIR /app
# Toolchain for better-sqlite3 in case no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-fund --no-audit
COPY tsconfig.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-fund --no-audit

FROM node:24-bookworm-slim
# NODE_COMPILE_CACHE: Node (22.1+) keeps compiled code between starts of the container, for a faster cold start.
# NODE_OPTIONS: a 256 MB old generation. The app's own memory is bounded (about 30 MB live at any
# number of sessions: every cache has a cap), but V8 sizes its heap from this limit, and on a large
# host it lets garbage grow the heap to 4× the live set: 240-300 MB RSS under load instead of
# about 160 MB (bench/results/memory.md). Override with -e NODE_OPTIONS=... if you must.
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/data \
    NODE_COMPILE_CACHE=/tmp/node-compile-cache \
    NODE_OPTIONS=--max-old-space-size=256
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY views ./views
COPY public ./public
# The contract (OpenAPI 3.1), served at /v1/openapi.json.
COPY api ./api
# The sessions and sealed tokens live here: the node user's alone (a new named volume copies this mode).
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server.js"]
