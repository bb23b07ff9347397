# puppetdb-sync's image: the Debian package `npm run package` builds, installed on
# Debian 12, as the systemd unit runs it but in the foreground (docs/deploying.md).
# test/integration/package.test.ts builds and installs that same package;
# test/unit/packaging.test.ts keeps this file in step with it.

FROM node:24-bookworm-slim AS build
# strip: the package ships Node.js stripped, as Debian ships binaries.
RUN apt-get update && apt-get install -y --no-install-recommends binutils && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The npm packages in a layer of their own, before the sources: a build after a change
# of the sources only reuses it, and downloads nothing (about a minute saved).
COPY package.json package-lock.json ./
# --ignore-scripts: the project's prepare (tsc) needs the sources, not copied yet.
# `npm rebuild node` runs the one install script the packages have: the `node`
# devDependency's download of the Node.js 24 the package ships, so this is the
# image's only download of Node.js that is kept, not one pruned away.
RUN npm ci --ignore-scripts && npm rebuild node
COPY tsconfig.json tsconfig.build.json README.md CHANGELOG.md ./
COPY src ./src
COPY scripts ./scripts
COPY docs ./docs
COPY packaging ./packaging
RUN npm run package -- --out /out && cd /out && sha256sum puppetdb-sync_*.deb > SHA256SUMS

FROM debian:bookworm-slim
# The package is mounted from the build stage rather than copied: a copy would stay
# in a layer of its own, 33 MB, though deleted after. Its checksum is copied: podman's
# layer cache ignores what a RUN mounts, and would keep an older package's layer.
COPY --from=build /out/SHA256SUMS /tmp/
# apt-get rather than dpkg -i, to install the package's dependencies (adduser, the
# C++ runtime); its postinst creates the puppetdb user the image runs as. apt-get
# clean drops apt's caches (40 MB).
RUN --mount=type=bind,from=build,source=/out,target=/out \
    cd /out && sha256sum -c /tmp/SHA256SUMS && rm /tmp/SHA256SUMS \
    && apt-get update \
    && apt-get install -y --no-install-recommends /out/puppetdb-sync_*.deb \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
# The package's configuration with the API on 0.0.0.0: on 127.0.0.1 neither the
# published port nor the health check would reach it.
COPY packaging/container.conf /etc/puppetdb-sync/puppetdb-sync.conf
# Mounts (read-only; docs/deploying.md): the configuration at
# /etc/puppetdb-sync/puppetdb-sync.conf, and the certificates the configuration's tls
# block names, at the same paths as on the host. The sidecar writes no file: its
# state is in memory or in PostgreSQL, its log on standard output. No VOLUME: an
# anonymous volume would hold nothing.
# puppetdb can read PuppetDB's certificates on a host; in the container, run it with
# --user set to the host's puppetdb uid and gid so the mounted files stay readable.
USER puppetdb
EXPOSE 8095
# /health answers 200 while every remote's passes succeed (docs/operations.md); the
# start period leaves the first passes http.startup-grace's 5 minutes.
HEALTHCHECK --interval=30s --timeout=10s --start-period=5m \
    CMD ["/opt/puppetdb-sync/bin/node", "-e", "fetch('http://127.0.0.1:8095/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The bin's flags and environment (src/cli.ts's first line; see docs/operations.md,
# "Node.js flags"), as in the unit's ExecStart and Environment.
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=32768
ENTRYPOINT ["/opt/puppetdb-sync/bin/node", "--liftoff-only", "--max-semi-space-size=8", "/opt/puppetdb-sync/dist/cli.js"]
CMD ["run", "--config", "/etc/puppetdb-sync/puppetdb-sync.conf"]
