// The bench's baseline for the spool (scripts/bench-spool.ts): the spool's own HTTP
// listener and checks (src/spool/spool-http.ts: body read, gunzip, JSON parse,
// PuppetDB's checks, the answer), with a journal that answers at once and writes
// nothing. The spool's round trip minus this one is what journaling adds.
//
//   node scripts/bench-spool-baseline.ts      prints its address on standard output
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { SpoolMetrics } from '../src/spool/metrics.ts';
import { buildSpoolHttp } from '../src/spool/spool-http.ts';

const metrics = new SpoolMetrics({ stats: () => ({ commands: 0, bytes: 0, oldestReceivedAt: null, pending: new Map() }), maxBytes: 1 << 30, servers: [], processMetrics: false });
const app = buildSpoolHttp({ journal: { append: async () => randomUUID() }, maxCommandBytes: 1 << 30, metrics, journalFailure: () => undefined, log: pino({ level: 'warn' }) });
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${address}\n`);
process.once('SIGTERM', () => void app.close());
