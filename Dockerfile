# puppetdb-sync: the sidecar image. The build steps are the ones CI runs (npm ci
# builds dist/ through the prepare script); tests need real PuppetDB servers and
# run in CI, not here.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
# The bin's flags (src/cli.ts's first line; see docs/operations.md, "Node.js flags").
ENTRYPOINT ["node", "--liftoff-only", "--max-semi-space-size=8", "/app/dist/cli.js"]
CMD ["--help"]
