import { describe, expect, it } from 'vitest';
import { callbackUrlFromRequestContext, getDocumentClient, getSender } from '../../lambdas/core/clients.js';
import { FastSender } from '../../lambdas/core/fast-sender.js';

describe('getSender', () => {
  it('makes one sender per endpoint and reuses it, so a warm container keeps its connections', () => {
    // Act
    const first = getSender('https://a.execute-api.us-east-1.amazonaws.com/dev');

    // Assess
    expect(getSender('https://a.execute-api.us-east-1.amazonaws.com/dev')).toBe(first);
    expect(getSender('https://b.execute-api.us-east-1.amazonaws.com/dev')).not.toBe(first);
  });

  it('posts with the SigV4-signing FastSender, not the SDK client', () => {
    // Act
    const sender = getSender('https://c.execute-api.us-east-1.amazonaws.com/dev');

    // Assess
    expect(sender).toBeInstanceOf(FastSender);
  });

  it('refuses an endpoint that is not http(s)', () => {
    expect(() => getSender('ftp://example.test/dev')).toThrow(/http\(s\) URL/);
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
