#!/bin/sh
# puppetdb-sync on the Node.js the package brings, with the bin's flags (src/cli.ts's
# shebang): no system Node.js is needed, and exec keeps signals going to Node.js. Its
# environment too: malloc gives memory of 32 KiB and more back to the system once freed
# (docs/operations.md, "Node.js flags").
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=32768
exec /opt/puppetdb-sync/bin/node --liftoff-only --max-semi-space-size=8 /opt/puppetdb-sync/dist/cli.js "$@"
