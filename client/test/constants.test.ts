import { describe, expect, it } from 'vitest';
import * as protocol from '../../lambdas/core/protocol.js';
import {
  ClientErrorCode,
  MAX_DATA_BYTES,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  ROOM_NAME_PATTERN,
  ServerErrorCode,
  SUBPROTOCOL,
} from '../src/constants.js';

describe('client constants', () => {
  it('mirror the error codes of protocol.ts exactly', () => {
    expect(ServerErrorCode).toEqual(protocol.ErrorCode);
  });

  it('mirror the payload and frame limits, the room name rule and the protocol version', () => {
    expect(MAX_DATA_BYTES).toBe(protocol.MAX_DATA_BYTES);
    expect(MAX_FRAME_BYTES).toBe(protocol.MAX_FRAME_BYTES);
    expect(ROOM_NAME_PATTERN.source).toBe(protocol.ROOM_NAME_PATTERN.source);
    expect(ROOM_NAME_PATTERN.flags).toBe(protocol.ROOM_NAME_PATTERN.flags);
    expect(PROTOCOL_VERSION).toBe(protocol.PROTOCOL_VERSION);
    expect(SUBPROTOCOL).toBe(`switchboard.v${protocol.PROTOCOL_VERSION}`);
  });

  it('never reuse a server error code for a client-side failure', () => {
    const serverCodes = new Set<string>(Object.values(protocol.ErrorCode));
    const clash = Object.values(ClientErrorCode).filter((code) => serverCodes.has(code));
    expect(clash).toEqual([]);
  });
});
