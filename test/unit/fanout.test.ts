import 'aws-sdk-client-mock-vitest/extend';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoConnectionStore } from '../../lambdas/core/connections.js';
import { backoffDelay, classifySendError, fanOut, type Sender } from '../../lambdas/core/fanout.js';
import { ManagementApiSender } from '../../lambdas/core/management-api-sender.js';
import { MemoryConnectionStore } from '../support/memory-store.js';
import { goneError, RecordingSender, serviceError } from '../support/senders.js';

const ddb = mockClient(DynamoDBDocumentClient);
const apigw = mockClient(ApiGatewayManagementApiClient);

const noSleep = { sleep: () => Promise.resolve(), random: () => 0.5 };
const log = () => ({ debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() });

beforeEach(() => {
  ddb.reset();
  apigw.reset();
});

describe('fanOut', () => {
  it('delivers the same payload to every connection of every page', async () => {
    const sender = new RecordingSender();

    const report = await fanOut([['a', 'b'], ['c']], '{"x":1}', {
      sender,
      store: new MemoryConnectionStore(),
      concurrency: 2,
    });

    expect(report).toEqual({ recipients: 3, delivered: 3, gone: 0, failed: 0 });
    expect(sender.recipients()).toEqual(['a', 'b', 'c']);
    expect(new Set(sender.posts.map((p) => p.payload))).toEqual(new Set(['{"x":1}']));
  });

  it('delivers once to an id that appears on several pages, and never to an excluded id', async () => {
    const sender = new RecordingSender();

    const report = await fanOut([['a', 'b'], ['b', 'a', 'me'], ['c']], 'p', {
      sender,
      store: new MemoryConnectionStore(),
      concurrency: 3,
      exclude: ['me'],
    });

    expect(sender.recipients()).toEqual(['a', 'b', 'c']);
    expect(report.recipients).toBe(3);
  });

  it('reads pages from an async iterable', async () => {
    async function* pages() {
      yield ['a'];
      yield ['b'];
    }
    const sender = new RecordingSender();

    const report = await fanOut(pages(), 'p', { sender, store: new MemoryConnectionStore(), concurrency: 1 });

    expect(report.delivered).toBe(2);
  });

  it('prunes a gone connection (410) with removeConnection and counts it gone', async () => {
    // Prepare: the real store over a mocked table, so the prune is a Query then a BatchWrite.
    ddb.on(QueryCommand).resolves({
      Items: [
        { pk: 'CONN#b', sk: 'META' },
        { pk: 'CONN#b', sk: 'ROOM#r' },
      ],
    });
    ddb.on(BatchWriteCommand).resolves({});
    const store = new DynamoConnectionStore({
      client: DynamoDBDocumentClient.from(new DynamoDBClient({})),
      tableName: 'connections',
    });
    const sender = new RecordingSender().failNext('b', goneError());

    // Act
    const report = await fanOut([['a', 'b']], 'p', { sender, store, concurrency: 2 });

    // Assess
    expect(report).toEqual({ recipients: 2, delivered: 1, gone: 1, failed: 0 });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { ExpressionAttributeValues: { ':pk': 'CONN#b' } });
    expect(ddb).toHaveReceivedCommandWith(BatchWriteCommand, {
      RequestItems: {
        connections: [
          { DeleteRequest: { Key: { pk: 'CONN#b', sk: 'META' } } },
          { DeleteRequest: { Key: { pk: 'CONN#b', sk: 'ROOM#r' } } },
          { DeleteRequest: { Key: { pk: 'ROOM#r', sk: 'CONN#b' } } },
        ],
      },
    });
    expect(sender.attempts.get('b')).toBe(1);
  });

  it('still counts a gone connection gone when pruning it fails, and logs the failure', async () => {
    const store = new MemoryConnectionStore();
    vi.spyOn(store, 'removeConnection').mockRejectedValue(new Error('ddb down'));
    const logger = log();

    const report = await fanOut([['a']], 'p', {
      sender: new RecordingSender().failNext('a', goneError()),
      store,
      concurrency: 1,
      log: logger,
    });

    expect(report.gone).toBe(1);
    expect(logger.warn).toHaveBeenCalledWith(expect.any(String), expect.objectContaining({ connectionId: 'a' }));
  });

  it('retries a throttled post (429) after a backoff and counts it delivered', async () => {
    // Prepare
    const sleep = vi.fn(() => Promise.resolve());
    const sender = new RecordingSender().failNext('a', serviceError('TooManyRequestsException', 429));

    // Act
    const report = await fanOut([['a']], 'p', {
      sender,
      store: new MemoryConnectionStore(),
      concurrency: 1,
      retry: { sleep, random: () => 1, baseDelayMs: 100, maxDelayMs: 1000 },
    });

    // Assess
    expect(report).toEqual({ recipients: 1, delivered: 1, gone: 0, failed: 0 });
    expect(sender.attempts.get('a')).toBe(2);
    expect(sleep).toHaveBeenCalledExactlyOnceWith(100);
  });

  it('retries 5xx and ThrottlingException with growing backoff, and fails after the last attempt', async () => {
    // Prepare
    const sleep = vi.fn(() => Promise.resolve());
    const sender = new RecordingSender().failNext(
      'a',
      serviceError('InternalServerError', 500),
      serviceError('ThrottlingException', 400),
      serviceError('ServiceUnavailable', 503),
    );
    const logger = log();

    // Act
    const report = await fanOut([['a']], 'p', {
      sender,
      store: new MemoryConnectionStore(),
      concurrency: 1,
      retry: { sleep, random: () => 1, baseDelayMs: 100, maxDelayMs: 250, maxAttempts: 3 },
      log: logger,
    });

    // Assess
    expect(report).toEqual({ recipients: 1, delivered: 0, gone: 0, failed: 1 });
    expect(sender.attempts.get('a')).toBe(3);
    expect(sleep.mock.calls).toEqual([[100], [200]]);
    expect(logger.error).toHaveBeenCalledWith(
      'Delivery failed',
      expect.objectContaining({ connectionId: 'a', attempts: 3 }),
    );
  });

  it('counts any other error failed at once, logged with the connection id', async () => {
    const sender = new RecordingSender().failNext('b', serviceError('ForbiddenException', 403));
    const logger = log();

    const report = await fanOut([['a', 'b']], 'p', {
      sender,
      store: new MemoryConnectionStore(),
      concurrency: 2,
      retry: noSleep,
      log: logger,
    });

    expect(report).toEqual({ recipients: 2, delivered: 1, gone: 0, failed: 1 });
    expect(sender.attempts.get('b')).toBe(1);
    expect(logger.error).toHaveBeenCalledWith('Delivery failed', expect.objectContaining({ connectionId: 'b' }));
  });

  it('never has more than `concurrency` posts in flight', async () => {
    // Prepare
    let inFlight = 0;
    let peak = 0;
    const sender: Sender = {
      post: async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        inFlight--;
      },
    };
    const pages = Array.from({ length: 10 }, (_, page) => Array.from({ length: 7 }, (_, i) => `c${page}-${i}`));

    // Act
    const report = await fanOut(pages, 'p', { sender, store: new MemoryConnectionStore(), concurrency: 4 });

    // Assess
    expect(report.delivered).toBe(70);
    expect(peak).toBe(4);
  });

  it('reports nothing for an empty target', async () => {
    const report = await fanOut([], 'p', {
      sender: new RecordingSender(),
      store: new MemoryConnectionStore(),
      concurrency: 8,
    });

    expect(report).toEqual({ recipients: 0, delivered: 0, gone: 0, failed: 0 });
  });
});

describe('classifySendError', () => {
  it.each([
    ['GoneException', 410, 'gone'],
    ['TooManyRequestsException', 429, 'retry'],
    ['ThrottlingException', 400, 'retry'],
    ['InternalServerError', 500, 'retry'],
    ['BadGateway', 502, 'retry'],
    ['ForbiddenException', 403, 'fail'],
    ['PayloadTooLargeException', 413, 'fail'],
  ])('classifies %s (%i) as %s', (name, status, expected) => {
    expect(classifySendError(serviceError(name, status))).toBe(expected);
  });

  it('fails an error without AWS metadata', () => {
    expect(classifySendError(new Error('socket hang up'))).toBe('fail');
  });
});

describe('backoffDelay', () => {
  it('draws a full-jitter delay below an exponentially growing, capped ceiling', () => {
    const options = { baseDelayMs: 50, maxDelayMs: 300, random: () => 0.999 };

    const delays = [1, 2, 3, 4, 5].map((retry) => Math.round(backoffDelay(retry, options)));

    expect(delays).toEqual([50, 100, 200, 300, 300]);
    expect(backoffDelay(3, { ...options, random: () => 0 })).toBe(0);
  });
});

describe('ManagementApiSender', () => {
  it('posts the payload to the connection through PostToConnection', async () => {
    apigw.on(PostToConnectionCommand).resolves({});
    const sender = new ManagementApiSender(new ApiGatewayManagementApiClient({ endpoint: 'https://example.test/dev' }));

    await sender.post('c1', '{"type":"message"}');

    expect(apigw).toHaveReceivedCommandExactlyOnceWith(PostToConnectionCommand, {
      ConnectionId: 'c1',
      Data: '{"type":"message"}',
    });
  });

  it('lets fan-out see a GoneException from the management API', async () => {
    apigw.on(PostToConnectionCommand).rejects(goneError());
    const sender = new ManagementApiSender(new ApiGatewayManagementApiClient({ endpoint: 'https://example.test/dev' }));
    const store = new MemoryConnectionStore();

    const report = await fanOut([['c1']], 'p', { sender, store, concurrency: 1 });

    expect(report.gone).toBe(1);
    expect(store.removed).toEqual(['c1']);
  });
});
