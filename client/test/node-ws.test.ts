import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { SwitchboardClient } from '../src/client.js';
import type { SwitchboardError } from '../src/errors.js';

// Real `ws` sockets against servers on 127.0.0.1: the Node path of the SDK, with no fakes in between.

const servers: Server[] = [];

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  vi.unstubAllGlobals();
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

describe('SwitchboardClient on Node with ws', () => {
  it('loads ws by itself when there is no global WebSocket, and talks protocol v1 over it', async () => {
    // Prepare: an echo server that selects switchboard.v1 and acks joins.
    vi.stubGlobal('WebSocket', undefined);
    const http = createServer();
    const offered: string[][] = [];
    const wss = new WebSocketServer({
      server: http,
      handleProtocols: (protocols) => {
        offered.push([...protocols]);
        return protocols.has('switchboard.v1') ? 'switchboard.v1' : false;
      },
    });
    wss.on('connection', (socket) => {
      socket.on('message', (raw) => {
        const frame = JSON.parse(raw.toString()) as { id: number; room: string };
        socket.send(JSON.stringify({ type: 'ack', id: frame.id, result: { room: frame.room } }));
        socket.send(JSON.stringify({ type: 'message', room: frame.room, from: 'bob', data: 'hi', ts: 1, id: 'm-1' }));
      });
    });
    const url = await listen(http);
    const client = new SwitchboardClient({ url, token: 'header.payload.signature' });
    const message = new Promise((resolve) => client.on('message', resolve));

    // Act
    await client.connect();
    const joined = await client.join('lobby');

    // Assess
    expect(offered).toEqual([['switchboard.v1', 'bearer.header.payload.signature']]);
    expect(joined).toEqual({ room: 'lobby' });
    expect(await message).toMatchObject({ room: 'lobby', from: 'bob', data: 'hi' });
    client.close();
  });

  it('stops with UNAUTHORIZED at once when the upgrade is answered 401', async () => {
    // Prepare: a server that refuses every upgrade, the way API Gateway does after a Deny from the authorizer.
    let upgrades = 0;
    const http = createServer();
    http.on('upgrade', (_request, socket) => {
      upgrades += 1;
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    const url = await listen(http);
    const client = new SwitchboardClient({ url, token: 'expired', reconnect: { initialDelay: 1 } });
    const errors: SwitchboardError[] = [];
    client.on('error', (error) => errors.push(error));

    // Act
    const outcome = await client.connect().catch((error: SwitchboardError) => error);

    // Assess
    expect(outcome).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(errors.map((error) => error.code)).toEqual(['UNAUTHORIZED']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(upgrades).toBe(1);
    expect(client.state).toBe('closed');
  });
});
