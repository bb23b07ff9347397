import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fake PuppetDB on loopback, for faults a real one cannot be made to show on demand. */
export type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

export interface FakeServer {
  readonly url: string;
  readonly requests: Array<{ url: string; body: string }>;
  readonly server: Server;
  /** As a server killed with SIGKILL: every connection dropped, new ones refused. */
  kill(): void;
  close(): Promise<void>;
}

/**
 * Request n is answered by handlers[n], the last handler answering the rest. The
 * version PuppetDB's meta endpoint gives (`version`, 7.12.1 unless told) is answered
 * apart, and not counted among the requests.
 */
export async function fakeServer(handlers: Handler[], version = '7.12.1'): Promise<FakeServer> {
  const requests: Array<{ url: string; body: string }> = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      if (request.url === '/pdb/meta/v1/version') {
        json(200, { version })(request, body, response);
        return;
      }
      requests.push({ url: request.url ?? '', body });
      handlers[Math.min(requests.length - 1, handlers.length - 1)]!(request, body, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kill = () => {
    server.close();
    server.closeAllConnections();
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    server,
    kill,
    // Connections held open by a fault would keep close() waiting.
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

export const json =
  (status: number, value: unknown): Handler =>
  (_request, _body, response) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(value));
  };

const startJson = (response: ServerResponse) => response.writeHead(200, { 'content-type': 'application/json' });

/** Never answers: no status, no headers. */
export const silent: Handler = () => undefined;

/** Sends `text` `bytes` at a time, one piece every `intervalMs`. */
export const drip =
  (text: string, intervalMs: number, bytes = 1): Handler =>
  (_request, _body, response) => {
    startJson(response);
    let sent = 0;
    const timer = setInterval(() => {
      if (sent >= text.length) {
        clearInterval(timer);
        response.end();
        return;
      }
      response.write(text.slice(sent, sent + bytes));
      sent += bytes;
    }, intervalMs);
    response.on('close', () => clearInterval(timer));
  };

/** Sends the status, the headers and `prefix` of the body, then nothing more, the connection left open. */
export const hangMidBody =
  (prefix: string): Handler =>
  (_request, _body, response) => {
    startJson(response);
    response.write(prefix);
  };

/** Sends the status, the headers and `prefix` of the body, then drops the connection. */
export const closeMidBody =
  (prefix: string): Handler =>
  (_request, _body, response) => {
    startJson(response);
    response.write(prefix, () => response.socket?.destroy());
  };
