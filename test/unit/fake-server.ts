import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fake PuppetDB on loopback, for faults a real one cannot be made to show on demand. */
export type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

export interface FakeServer {
  readonly url: string;
  readonly requests: Array<{ url: string; body: string }>;
  readonly server: Server;
  close(): Promise<void>;
}

/** Request n is answered by handlers[n], the last handler answering the rest. */
export async function fakeServer(handlers: Handler[]): Promise<FakeServer> {
  const requests: Array<{ url: string; body: string }> = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      requests.push({ url: request.url ?? '', body });
      handlers[Math.min(requests.length - 1, handlers.length - 1)]!(request, body, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    server,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export const json =
  (status: number, value: unknown): Handler =>
  (_request, _body, response) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(value));
  };
