import type { RequestId } from '../../lambdas/core/protocol.js';
import type { SwitchboardErrorCode } from './constants.js';

export interface SwitchboardErrorOptions {
  readonly cause?: unknown;
  /** The id of the request this error answers, if any. */
  readonly requestId?: RequestId;
  /** The room the failed operation was about, if any (set for a failed automatic rejoin). */
  readonly room?: string;
}

/** Every failure the SDK reports: a server error frame, or one of the SDK's own `ClientErrorCode`s. */
export class SwitchboardError extends Error {
  override readonly name = 'SwitchboardError';
  readonly code: SwitchboardErrorCode;
  readonly requestId?: RequestId;
  readonly room?: string;

  constructor(code: SwitchboardErrorCode, message: string, options: SwitchboardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.requestId !== undefined) this.requestId = options.requestId;
    if (options.room !== undefined) this.room = options.room;
  }
}
