import { Gauge, type Registry } from 'prom-client';
import type { EntityProgressView } from '../types.ts';

/** `kind`: a reconciliation and an incremental pass of one remote may run the same entity at once. */
type Labels = 'remote' | 'entity' | 'kind';

/** Each gauge is a value of each long-running entity's progress; absent for an entity that is not, or where the value is not known. */
const PROGRESS: ReadonlyArray<{ readonly name: string; readonly help: string; readonly value: (view: EntityProgressView) => number | null }> = [
  {
    name: 'progress_records_done',
    help: 'Records of the entity in progress whose pull ended (transferred, failed or found in step); absent once the entity ends, and while it has run less than sync.progress-interval.',
    value: (view) => view.done,
  },
  {
    name: 'progress_records_to_do',
    help: 'Records the entity in progress pulls in all, those done included: exact when pdbsync_progress_to_do_complete is 1, else estimated from the parts still to read; absent until a row is compared.',
    value: (view) => view.toDo,
  },
  {
    name: 'progress_to_do_complete',
    help: 'Whether pdbsync_progress_records_to_do of the entity in progress is exact (1: every part compared) or an estimate (0).',
    value: (view) => (view.toDoComplete ? 1 : 0),
  },
  {
    name: 'progress_records_per_second',
    help: 'Records of the entity in progress done per second over the last two minutes.',
    value: (view) => view.recordsPerSecond,
  },
  {
    name: 'progress_eta_seconds',
    help: 'Seconds until the entity in progress has done its records to do at the current rate; absent while they are unknown or nothing moves.',
    value: (view) => view.etaSeconds,
  },
];

function labelsOf(view: EntityProgressView): Record<Labels, string> {
  return { remote: view.remote, entity: view.entity, kind: view.kind };
}

/** The progress gauges, read from the entities in progress at each scrape: an entity's series end with it. */
export function registerProgressGauges(registry: Registry, prefix: string, inProgress: () => readonly EntityProgressView[]): void {
  for (const { name, help, value } of PROGRESS) {
    new Gauge<Labels>({
      name: `${prefix}${name}`,
      help,
      labelNames: ['remote', 'entity', 'kind'],
      registers: [registry],
      collect: function (this: Gauge<Labels>) {
        this.reset();
        for (const view of inProgress()) {
          const v = value(view);
          if (v !== null) this.set(labelsOf(view), v);
        }
      },
    });
  }
  new Gauge<Labels | 'side'>({
    name: `${prefix}progress_rows_read`,
    help: 'Summary rows the entity in progress has read so far, from the remote or the local server (side).',
    labelNames: ['remote', 'entity', 'kind', 'side'],
    registers: [registry],
    collect: function (this: Gauge<Labels | 'side'>) {
      this.reset();
      for (const view of inProgress()) {
        this.set({ ...labelsOf(view), side: 'remote' }, view.remoteRows);
        this.set({ ...labelsOf(view), side: 'local' }, view.localRows);
      }
    },
  });
}
