import { describe, expect, it } from 'vitest';
import { callbackUrlFromRequestContext, getDocumentClient, getManagementClient } from '../../lambdas/core/clients.js';

describe('getManagementClient', () => {
  it('makes one client per endpoint and reuses it', () => {
    const first = getManagementClient('https://a.execute-api.us-east-1.amazonaws.com/dev');

    expect(getManagementClient('https://a.execute-api.us-east-1.amazonaws.com/dev')).toBe(first);
    expect(getManagementClient('https://b.execute-api.us-east-1.amazonaws.com/dev')).not.toBe(first);
  });

  it('makes a single attempt per post, leaving retries to fan-out', async () => {
    const client = getManagementClient('https://c.execute-api.us-east-1.amazonaws.com/dev');

    expect(await client.config.maxAttempts()).toBe(1);
  });

  it('sends to the given endpoint', async () => {
    const client = getManagementClient('http://127.0.0.1:8080/local');

    const endpoint = await client.config.endpoint?.();

    expect(endpoint).toMatchObject({ hostname: '127.0.0.1', port: 8080, path: '/local' });
  });
});

describe('getDocumentClient', () => {
  it('is created once per process', () => {
    expect(getDocumentClient()).toBe(getDocumentClient());
  });
});

describe('callbackUrlFromRequestContext', () => {
  it('builds the stage endpoint from the domain and stage', () => {
    expect(
      callbackUrlFromRequestContext({ domainName: 'abc.execute-api.us-east-1.amazonaws.com', stage: 'prod' }),
    ).toBe('https://abc.execute-api.us-east-1.amazonaws.com/prod');
  });

  it('gives nothing without a domain', () => {
    expect(callbackUrlFromRequestContext({ stage: 'prod' })).toBeUndefined();
  });
});
