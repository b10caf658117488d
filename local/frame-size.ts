/**
 * Watches the raw bytes a client sends and reports the first frame whose payload is over the limit.
 *
 * API Gateway closes a connection with 1009 when one frame is over 32 KB, even if the message (up to 128 KB)
 * is allowed. `ws` only limits whole messages (`maxPayload`), so the gateway reads frame headers itself, in
 * parallel with `ws`, on the same socket. Compression is never negotiated (API Gateway does not support
 * permessage-deflate), so the header's payload length is the frame size on the wire.
 */
export class FrameSizeWatcher {
  private readonly header = Buffer.alloc(14);
  private headerLength = 0;
  private headerNeeded = 2;
  private payloadRemaining = 0;
  private tripped = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly onOversize: (payloadBytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (!this.tripped && offset < chunk.length) {
      if (this.payloadRemaining > 0) {
        const skip = Math.min(this.payloadRemaining, chunk.length - offset);
        this.payloadRemaining -= skip;
        offset += skip;
        continue;
      }
      this.header[this.headerLength++] = chunk[offset++] as number;
      if (this.headerLength === 2) {
        const len7 = (this.header[1] as number) & 0x7f;
        const masked = ((this.header[1] as number) & 0x80) !== 0;
        this.headerNeeded = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
      }
      if (this.headerLength === this.headerNeeded) this.endOfHeader();
    }
  }

  private endOfHeader(): void {
    const len7 = (this.header[1] as number) & 0x7f;
    const length =
      len7 === 126 ? this.header.readUInt16BE(2) : len7 === 127 ? Number(this.header.readBigUInt64BE(2)) : len7;
    this.headerLength = 0;
    this.headerNeeded = 2;
    if (this.maxFrameBytes > 0 && length > this.maxFrameBytes) {
      this.tripped = true;
      this.onOversize(length);
      return;
    }
    this.payloadRemaining = length;
  }
}
