# edge as a container image: docker build -t edge . && docker run -p 80:80 -p 443:443 \
#   -v edge-certs:/app/certs -v $PWD/edge.yaml:/etc/edge/edge.yaml:ro edge
# Your config (storage: /app/certs, no bind: so the published ports reach it) goes in
# /etc/edge/edge.yaml; docker-compose.yml shows one.
# Two stages: the first installs the dependencies and builds dist/ (npm ci runs the TypeScript
# build), then drops what only building needs: the dev dependencies, and the `node` npm package,
# which gives `npx edge` Node 24 on a machine whose own Node is older (this image's node is 24).
# Only the installed tree and edge's own files reach the image.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/node node_modules/.bin/node

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
# src beside dist: bin/edge.js runs dist/ when it is at least as new as src/
COPY --from=build /app/src ./src
COPY --from=build /app/dist ./dist
# certificates, keys and the ACME account: a volume, so they survive the container (losing them
# means ordering again, and the CA's rate limits); edge warns at start-up when it is not one
RUN mkdir -p /app/certs && chown node:node /app/certs
VOLUME ["/app/certs"]
# the image's own unprivileged user; Docker lets containers bind ports below 1024 without root
# (net.ipv4.ip_unprivileged_port_start=0 in the container's network namespace)
USER node
EXPOSE 80 443
# the admin endpoint's /health (200 while workers serve, 503 when none does), found where the
# config puts it
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "bin/edge.js", "health", "-c", "/etc/edge/edge.yaml"]
ENTRYPOINT ["node", "bin/edge.js"]
CMD ["run", "-c", "/etc/edge/edge.yaml"]
