# edge as a container image: docker build -t edge . && docker run -p 80:80 -p 443:443 \
#   -v edge-certs:/app/certs -v $PWD/edge.yaml:/etc/edge/edge.yaml:ro edge
# Your config (storage: /app/certs, no bind: so the published ports reach it) goes in
# /etc/edge/edge.yaml; docker-compose.yml shows one.
# Two stages: dependencies are installed in the first (with npm's caches and package.json
# scripts), and only the installed tree and edge's own files reach the image.

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
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
