# syntax=docker/dockerfile:1
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# `prepare` compiles src/ to dist/. The `node` devDependency is not needed inside an image that is Node 24.
RUN npm ci --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config.example.yaml ./
USER node
EXPOSE 1080 9102
# Listen on all interfaces inside the container: set server.listen/admin in the mounted config.
ENTRYPOINT ["node", "--max-semi-space-size=16", "dist/main.js"]
CMD ["serve", "--config", "/etc/tusgate/tusgate.yaml"]
