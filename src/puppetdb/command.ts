import { SyncError } from '../errors.ts';

/** A command for POST /pdb/cmd/v1. */
export interface Command {
  readonly command: string;
  readonly version: number;
  readonly certname: string;
  readonly producerTimestamp: string;
  readonly payload: unknown;
}

/**
 * A command with its payload already written out: a large record's objects can be
 * collected before the request is sent, only its bytes stay in memory.
 */
export interface SerializedCommand extends Omit<Command, 'payload'> {
  /** The payload's JSON in pieces of about a megabyte, sent one after the other. */
  readonly body: readonly Buffer[];
}

export function serializeCommand({ payload, ...command }: Command): SerializedCommand {
  return { ...command, body: payloadChunks(payload) };
}

const CHUNK_BYTES = 1024 * 1024;

/** Writes text into buffers of CHUNK_BYTES, so that no large string or copy is needed. */
class ChunkWriter {
  private readonly chunks: Buffer[] = [];
  private current = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;

  write(text: string): void {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (text.length * 3 > this.current.length - this.used) {
      this.flush();
      if (text.length * 3 > CHUNK_BYTES) {
        this.chunks.push(Buffer.from(text));
        return;
      }
    }
    this.used += this.current.write(text, this.used);
  }

  end(): Buffer[] {
    this.flush();
    return this.chunks;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.chunks.push(this.current.subarray(0, this.used));
    this.current = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
  }
}

/**
 * JSON.stringify's bytes, with each top-level array written element by element: a
 * 20 MB catalog then never exists as one 20 MB string, nor as a copy of its bytes
 * (writing it whole took 90 MB more peak RSS).
 */
export function payloadChunks(payload: unknown): Buffer[] {
  const out = new ChunkWriter();
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || 'toJSON' in payload) {
    out.write(JSON.stringify(payload));
    return out.end();
  }
  let separator = '{';
  for (const [key, value] of Object.entries(payload)) {
    if (!Array.isArray(value)) {
      const json = JSON.stringify(value) as string | undefined;
      // As JSON.stringify does: a member whose value has no JSON is left out.
      if (json === undefined) continue;
      out.write(`${separator}${JSON.stringify(key)}:${json}`);
    } else {
      out.write(`${separator}${JSON.stringify(key)}:[`);
      value.forEach((element: unknown, i) => out.write(`${i === 0 ? '' : ','}${JSON.stringify(element) ?? 'null'}`));
      out.write(']');
    }
    separator = ',';
  }
  out.write(separator === '{' ? '{}' : '}');
  return out.end();
}

/**
 * What PuppetDB 7 answers to a command submitted with secondsToWaitForCompletion
 * (seen on 7.12.1; puppetdb's http/command.clj and command.clj):
 *
 * - 200 `{uuid, processed: true, timed_out: false}`: applied, or ignored because
 *   PuppetDB already holds something as new (stale, or made obsolete by a newer
 *   command in its queue);
 * - 503 `{uuid, processed: true, timed_out: false, error, stack_trace}`: processing
 *   failed; PuppetDB tries it again an hour later, or has put it in its dead-letter
 *   office at once (a fatal error, such as an unsupported version);
 * - 503 `{uuid, processed: false, timed_out: true}`, after the whole wait: not
 *   processed yet. A command PuppetDB cannot parse or that fails its schema is put in
 *   the dead-letter office without a word to the waiting request, which gets this
 *   same answer: the two cannot be told apart;
 * - 503 without a uuid: not accepting commands (starting, maintenance); 400 or 413:
 *   refused before it was queued (the caller maps those statuses).
 *
 * The uuid when PuppetDB says it applied the command; a SyncError when it says it
 * did not or cannot say; undefined when the answer is not one of these (the caller
 * maps the HTTP status).
 */
export function commandOutcome(statusCode: number, text: string, what: string, waitSeconds: number): string | undefined {
  let answer: { uuid?: unknown; processed?: unknown; timed_out?: unknown; error?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    return undefined;
  }
  if (typeof answer !== 'object' || answer === null || typeof answer.uuid !== 'string' || (statusCode !== 200 && statusCode !== 503)) return undefined;
  const uuid = answer.uuid;
  if (typeof answer.error === 'string') {
    throw new SyncError('PDBSYNC_ERR_COMMAND_FAILED', `${what} (uuid ${uuid}): ${answer.error.split('\n')[0]!.slice(0, 500)}`);
  }
  if (statusCode === 200 && answer.processed === true) return uuid;
  throw new SyncError(
    'PDBSYNC_ERR_COMMAND_UNCONFIRMED',
    `${what} (uuid ${uuid}) was not applied within ${waitSeconds} s: still in PuppetDB's queue, or refused into its dead-letter office (VARDIR/stockpile/discard), which PuppetDB answers alike`,
  );
}
