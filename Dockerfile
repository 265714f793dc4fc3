# mcp-warden image: builds the TypeScript once, ships only runtime dependencies, runs as
# the unprivileged `node` user. There is no Docker engine where this project is developed,
# so this file is kept correct by reading (see docs/operations.md); CI builds the same
# `dist/` with `npm run build`.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the image already has Node 24, so the `node` devDependency's
# installer must not run.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
ENV NODE_ENV=production
# A smaller young generation: under a burst of requests the default one lets the heap
# balloon (and the process keeps the pages); 8 MB cost no throughput in bench/rss.ts.
ENV NODE_OPTIONS=--max-semi-space-size=8
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bundles ./bundles
RUN mkdir -p /app/var && chown node:node /app/var
USER node
EXPOSE 8181
ENTRYPOINT ["node", "dist/cli.js"]
# Mount a config at /etc/mcp-warden/config.json and set MCP_WARDEN_CONFIG to use it.
CMD ["serve"]
