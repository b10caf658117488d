import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../lambdas/core/protocol.js';
import { ClientErrorCode } from '../src/constants.js';

describe('client constants', () => {
  it('never reuse a server error code for a client-side failure', () => {
    const serverCodes = new Set<string>(Object.values(ErrorCode));
    const clash = Object.values(ClientErrorCode).filter((code) => serverCodes.has(code));
    expect(clash).toEqual([]);
  });
});
