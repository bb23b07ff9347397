#!/bin/sh
# puppetdb-sync on the Node.js the package brings, with the bin's flags (src/cli.ts's
# shebang): no system Node.js is needed, and exec keeps signals going to Node.js.
exec /opt/puppetdb-sync/bin/node --liftoff-only --max-semi-space-size=8 /opt/puppetdb-sync/dist/cli.js "$@"
