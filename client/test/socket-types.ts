// Compile-time check: the browser's and ws's WebSocket classes both fit the SDK's WebSocketConstructor.
import { WebSocket as NodeWebSocket } from 'ws';
import type { WebSocketConstructor } from '../src/socket.js';

export const browserWebSocket: WebSocketConstructor = globalThis.WebSocket;
export const nodeWebSocket: WebSocketConstructor = NodeWebSocket;
