/**
 * A stand-in for a stage's management API on 127.0.0.1, for tests of the handlers' default sender: it records
 * every `POST /<stage>/@connections/{id}` and answers 200, or 410 GoneException for the ids it is told are gone.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach } from 'vitest';

export interface RecordedPost {
  readonly connectionId: string;
  readonly body: string;
  readonly authorization: string | undefined;
}

export interface ManagementApiStub {
  /** The callback URL to configure, `http://127.0.0.1:<port>/<stage>`. */
  readonly callbackUrl: string;
  readonly posts: RecordedPost[];
  readonly gone: Set<string>;
  close(): Promise<void>;
}

export async function startManagementApiStub(stage = 'dev'): Promise<ManagementApiStub> {
  const posts: RecordedPost[] = [];
  const gone = new Set<string>();
  const prefix = `/${stage}/@connections/`;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      if (request.method !== 'POST' || !path.startsWith(prefix)) {
        response.writeHead(404).end();
        return;
      }
      const connectionId = decodeURIComponent(path.slice(prefix.length));
      if (gone.has(connectionId)) {
        response.writeHead(410, { 'x-amzn-errortype': 'GoneException' }).end('{"message":null}');
        return;
      }
      posts.push({
        connectionId,
        body: Buffer.concat(chunks).toString('utf8'),
        authorization: request.headers.authorization,
      });
      response.writeHead(200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    callbackUrl: `http://127.0.0.1:${port}/${stage}`,
    posts,
    gone,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Starts a fresh stub before each test of the calling `describe` and closes it after; the returned function gives
 * the current one.
 */
export function useManagementApiStub(stage?: string): () => ManagementApiStub {
  let stub: ManagementApiStub | undefined;
  beforeEach(async () => {
    stub = await startManagementApiStub(stage);
  });
  afterEach(() => stub?.close());
  return () => {
    if (!stub) throw new Error('useManagementApiStub: no stub outside a test');
    return stub;
  };
}
