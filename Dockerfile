# syntax=docker/dockerfile:1
# BASE: a Debian image with Node 24, npm and a `node` user (uid 1000). The official image by
# default; where no registry is reachable, scripts/ensure-container-base.sh assembles one from
# Debian packages and the npm `node` package (docs/deployment.md#container).
ARG BASE=docker.io/library/node:24-bookworm-slim

FROM ${BASE} AS build
# Behind a TLS-inspecting proxy, npm needs its CA: mount a bundle into the build (podman build -v)
# and name it here. A build argument only: it stays out of the image's environment.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the `node` devDependency's would fetch a second Node the image does not need.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM ${BASE}
ARG NODE_EXTRA_CA_CERTS
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force \
  && mkdir -p /var/lib/tusgate && chown node:node /var/lib/tusgate
COPY --from=build /app/dist ./dist
COPY config.example.yaml ./
COPY deploy/container/tusgate.yaml /etc/tusgate/tusgate.yaml
COPY deploy/container/healthcheck.mjs ./healthcheck.mjs
# Everything tusgate writes lives here (store, owner table); the rest of the image can be read-only.
VOLUME /var/lib/tusgate
USER node
EXPOSE 1080 9102
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["node", "/app/healthcheck.mjs"]
ENTRYPOINT ["node", "--max-semi-space-size=16", "dist/main.js"]
CMD ["serve", "--config", "/etc/tusgate/tusgate.yaml"]
