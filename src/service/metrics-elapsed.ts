import { Gauge, type Registry } from 'prom-client';

/** What a remote's passes have been, for the gauges. */
export interface RemoteHistory {
  lastSucceeded: boolean;
  workedOnce: boolean;
  failedAfterWorking: boolean;
  /** Milliseconds since the epoch. */
  lastSuccessAt: number | undefined;
  lastFailureAt: number | undefined;
  /** When the last pass that succeeded started: everything the remote had received by then is here. */
  lastSuccessStartedAt: number | undefined;
  /** When every entity was last reconciled. */
  reconciledAt: number | undefined;
}

type HistoryTime = 'lastSuccessAt' | 'lastFailureAt' | 'reconciledAt' | 'lastSuccessStartedAt';

/** Each gauge is the seconds from a time of the history to the scrape; absent for a remote without that time. */
const ELAPSED: ReadonlyArray<{ readonly name: string; readonly since: HistoryTime; readonly help: string; readonly afterReconcile?: boolean }> = [
  {
    name: 'seconds_since_last_successful_sync',
    since: 'lastSuccessAt',
    help: 'Seconds from the end of the last successful pass against the remote to the scrape; absent before one. PE: seconds-since-last-successful-sync.',
  },
  {
    name: 'seconds_since_last_failed_sync',
    since: 'lastFailureAt',
    help: 'Seconds from the end of the last failed pass against the remote to the scrape; absent before one. PE: seconds-since-last-failed-sync.',
  },
  {
    name: 'seconds_since_last_reconcile',
    since: 'reconciledAt',
    help: 'Seconds since the remote was last reconciled; absent before the first reconciliation.',
  },
  {
    name: 'lag_seconds',
    since: 'lastSuccessStartedAt',
    help: 'Seconds since the start of the last pass against the remote that succeeded: an upper bound of how long a record the remote received can have been missing here; absent before the first reconciliation completed.',
    afterReconcile: true,
  },
];

/** The gauges computed at each scrape from the remotes' history and the clock. */
export function registerElapsedGauges(registry: Registry, prefix: string, history: ReadonlyMap<string, RemoteHistory>, now: () => number): void {
  for (const { name, since, help, afterReconcile } of ELAPSED) {
    new Gauge({
      name: `${prefix}${name}`,
      help,
      labelNames: ['remote'],
      registers: [registry],
      collect: function (this: Gauge<'remote'>) {
        this.reset();
        for (const [remote, h] of history) {
          const at = h[since];
          if (at !== undefined && (!afterReconcile || h.reconciledAt !== undefined)) this.set({ remote }, Math.max(0, (now() - at) / 1000));
        }
      },
    });
  }
}
