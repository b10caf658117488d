import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_ACTIONS } from '../../lambdas/core/protocol.js';
import { ASYNCAPI_PATH, buildAsyncApi, renderAsyncApi } from '../../scripts/asyncapi.js';

function refsIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refsIn(item, found);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$ref' && typeof inner === 'string') found.push(inner);
      else refsIn(inner, found);
    }
  }
  return found;
}

function resolve(document: unknown, ref: string): unknown {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
}

describe('docs/asyncapi.json', () => {
  it('is what scripts/asyncapi.ts generates from protocol.ts (run `npm run asyncapi` after changing the protocol)', () => {
    // Act
    const committed = readFileSync(ASYNCAPI_PATH, 'utf8');

    // Assess
    expect(committed).toBe(renderAsyncApi());
  });

  it('resolves every $ref it contains', () => {
    // Prepare
    const document = buildAsyncApi();

    // Act
    const dangling = refsIn(document).filter((ref) => resolve(document, ref) === undefined);

    // Assess
    expect(refsIn(document).length).toBeGreaterThan(20);
    expect(dangling).toEqual([]);
  });

  it('describes every client action with a closed object schema', () => {
    // Prepare
    const schemas = (buildAsyncApi().components as { schemas: Record<string, Record<string, unknown>> }).schemas;

    // Act
    const described = CLIENT_ACTIONS.map((action) => {
      const schema = Object.values(schemas).find(
        (s) => (s.properties as Record<string, { const?: string }> | undefined)?.action?.const === action,
      );
      return { action, closed: schema?.additionalProperties === false };
    });

    // Assess
    expect(described).toEqual(CLIENT_ACTIONS.map((action) => ({ action, closed: true })));
  });
});
