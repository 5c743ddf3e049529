# The demo's XT.COM and Tencent Cloud CIAM stand-ins (scripts/standins.ts) for docker-compose.yml.
# Not part of the production image: it carries the dev dependencies the stand-ins run on (tsx,
# oidc-provider). Built from the repository root: docker build -f deploy/standins.Dockerfile .
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the stand-ins need no native module (better-sqlite3 is the app's).
RUN npm ci --no-fund --no-audit --ignore-scripts
COPY tsconfig.json ./
COPY standins ./standins
COPY scripts/standins.ts ./scripts/standins.ts
ENV STANDINS_HOST=0.0.0.0
USER node
EXPOSE 4000 4001
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "Promise.all([fetch('http://127.0.0.1:4000/v4/public/time'),fetch('http://127.0.0.1:4001/.well-known/openid-configuration')]).then(rs=>process.exit(rs.every(r=>r.ok)?0:1),()=>process.exit(1))"]
CMD ["node", "--import", "tsx", "scripts/standins.ts"]
