/**
 * The local gateway: API Gateway's WebSocket API, its management API and Lambda's Invoke API on one port,
 * running the very handlers the stack deploys, against a local DynamoDB API server.
 *
 * What is emulated and what is not is listed in docs/local.md; every limit can be set shorter for tests.
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { HandlerSettings, type HandlerSettingsInput } from '../lambdas/core/config.js';
import { type HandlerName, ROUTE_SELECTION_EXPRESSION, ROUTES, selectRoute } from '../lambdas/core/routes.js';
import { createClientBundler } from './client-bundle.js';
import {
  DEFAULT_STATE_DIR,
  DEV_AUDIENCE,
  DEV_ISSUER,
  jwksOf,
  loadOrCreateSigningKey,
  type SigningKey,
  signDevToken,
} from './dev-tokens.js';
import { acquireDynamo, type DynamoServer, ensureTable } from './dynamodb.js';
import {
  type AuthorizerContext,
  authorizerEvent,
  type ConnectionFacts,
  connectEvent,
  disconnectEvent,
  messageEvent,
  newConnectionId,
} from './events.js';
import { FrameSizeWatcher } from './frame-size.js';
import { type HandlerSet, invokeHandler, type LambdaFunction, loadHandlers, REPOSITORY_ROOT } from './handlers.js';
import {
  BodyTooLargeError,
  decodePathSegment,
  isCrossSiteRequest,
  isLoopback,
  readBody,
  sendAwsError,
  sendJson,
} from './http.js';
import { type IsolatedHandlers, startIsolatedHandlers } from './isolation.js';
import { handleInvoke, INVOKE_PATH } from './lambda-invoke.js';
import { type GatewayLimits, resolveLimits, TokenBucket } from './limits.js';
import { createLogger, describeError, type Logger, type LogLevel } from './log.js';
import { evaluateAuthorizerResult } from './policy.js';
import { checkSignature } from './sigv4.js';

export interface GatewayOptions {
  /** Port to listen on; 0 picks a free one. @default 8080 */
  readonly port?: number;
  /** @default '127.0.0.1' (loopback only) */
  readonly host?: string;
  /** The stage, the first path segment of the WebSocket and management URLs. @default 'local' */
  readonly stage?: string;
  /** @default 'local' */
  readonly apiId?: string;
  /** @default 'switchboard-local' */
  readonly tableName?: string;
  /** Folder of the dev signing key. @default '.switchboard' */
  readonly stateDir?: string;
  /** Persist dynalite's data to this folder. @default - in memory */
  readonly dataDir?: string;
  /** API Gateway's quotas, each overridable. @default - API_GATEWAY_LIMITS */
  readonly limits?: Partial<GatewayLimits>;
  /**
   * Simulates a lost `$disconnect` (API Gateway delivers it best-effort): for a connection this returns true
   * for, the handler is not called when it closes. @default - every `$disconnect` is delivered
   */
  readonly loseDisconnects?: boolean | ((connectionId: string) => boolean);
  /** Stand-ins for handlers, for tests of the gateway itself. @default - the real handlers from HANDLERS */
  readonly handlers?: Partial<Record<HandlerName, LambdaFunction>>;
  /**
   * Where the handlers run. `in-process`: their TypeScript sources, imported into the gateway's thread.
   * `worker`: each bundled as the stack deploys it (lib/bundling.ts) and run in worker threads, off the
   * gateway's event loop (local/isolation.ts). Stand-ins from `handlers` always run in-process.
   * @default 'in-process'
   */
  readonly isolation?: 'in-process' | 'worker';
  /** With `isolation: 'worker'`: worker threads per handler. @default 1 */
  readonly workersPerHandler?: number;
  /** Handler settings on top of the local ones (dev issuer, this gateway's JWKS, callback URL and origins). */
  readonly settings?: Partial<HandlerSettingsInput>;
  /** The signing key behind the JWKS. @default - the dev key in stateDir, created on first start */
  readonly signingKey?: SigningKey;
  /** Serve `POST /dev/token` (loopback callers only). @default true */
  readonly devTokenEndpoint?: boolean;
  /** Entry of the client SDK served at /switchboard-client.js. @default 'client/src/index.ts' */
  readonly clientEntry?: string;
  /** @default - JSON lines on stderr at `logLevel` */
  readonly logger?: Logger;
  /** @default 'info' */
  readonly logLevel?: LogLevel;
}

export interface ConnectionInfo {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly lastActiveAt: number;
  readonly principalId: string;
}

export interface Gateway {
  /** `ws://host:port/stage`, what clients connect to. */
  readonly url: string;
  /** `http://host:port`, the root of the demo page, JWKS, Invoke endpoint. */
  readonly httpUrl: string;
  /** `http://host:port/stage`, the management API endpoint (the handlers' callbackUrl). */
  readonly callbackUrl: string;
  readonly port: number;
  readonly stage: string;
  readonly tableName: string;
  /** The DynamoDB API endpoint the handlers use. */
  readonly dynamodbEndpoint: string;
  readonly settings: HandlerSettings;
  readonly limits: GatewayLimits;
  readonly signingKey: SigningKey;
  /** Thread ids of the handlers' worker threads still running (none without `isolation: 'worker'`). */
  handlerThreads(): number[];
  /** Signs a dev token this gateway's authorizer accepts. */
  issueToken(sub: string, claims?: Record<string, unknown>, expiresInSeconds?: number): string;
  /** Open connections. */
  connections(): ConnectionInfo[];
  /** Changes the lost-`$disconnect` simulation at run time. */
  setLoseDisconnects(value: boolean | ((connectionId: string) => boolean)): void;
  /** Closes every connection (1001, with `$disconnect`), the server, and dynalite if this process runs it. */
  close(): Promise<void>;
}

interface Connection {
  readonly facts: ConnectionFacts;
  readonly ws: WebSocket;
  readonly authorizer: AuthorizerContext;
  lastActiveAt: number;
  /** Set when the gateway starts closing: later frames are dropped, later posts get 410. */
  closing: boolean;
  /** The code and reason the gateway closed with, reported to `$disconnect` rather than the client's echo. */
  closedBy?: { code: number; reason: string };
  timers: NodeJS.Timeout[];
}

const GOING_AWAY = { code: 1001, reason: 'Going away' };
const MESSAGE_TOO_BIG = { code: 1009, reason: 'Message too big' };

/** Static files of the demo page, served by name only: no path from a request ever reaches the file system. */
const PUBLIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
const PUBLIC_DIR = resolve(REPOSITORY_ROOT, 'local/public');

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const limits = resolveLimits(options.limits);
  const stage = options.stage ?? 'local';
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stage))
    throw new RangeError(`Stage must be 1-128 of A-Z a-z 0-9 _ -, got ${stage}`);
  const host = options.host ?? '127.0.0.1';
  const apiId = options.apiId ?? 'local';
  const tableName = options.tableName ?? 'switchboard-local';
  const logger = options.logger ?? createLogger(options.logLevel ?? 'info');
  const signingKey = options.signingKey ?? (await loadOrCreateSigningKey(options.stateDir ?? DEFAULT_STATE_DIR));
  let loseDisconnect = toPredicate(options.loseDisconnects ?? false);

  const registry = new Map<string, Connection>();
  const connectionBucket = new TokenBucket(limits.connectionsPerSecond, Math.max(1, limits.connectionsPerSecond));
  const requestBucket = new TokenBucket(limits.requestsPerSecond, Math.max(1, limits.requestBurst));
  const bundleClient = createClientBundler(options.clientEntry);
  const chosenProtocol = new WeakMap<IncomingMessage, string | false>();
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    // API Gateway supports no WebSocket extensions; compression would also hide the frame size on the wire.
    perMessageDeflate: false,
    maxPayload: limits.maxMessageBytes,
    // API Gateway selects a subprotocol only when `$connect` answers with a Sec-WebSocket-Protocol header;
    // ws's default (the first one offered) would let a client pass here and fail on AWS.
    handleProtocols: (_offered, req) => chosenProtocol.get(req) ?? false,
  });

  let handlers: HandlerSet | undefined;
  let isolated: IsolatedHandlers | undefined;
  let dynamo: DynamoServer | undefined;
  let closing = false;
  const server: Server = createServer((req, res) => {
    void routeHttp(req, res).catch((error: unknown) => {
      logger.error('http request failed', { path: safePath(req.url), ...describeError(error) });
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal server error' });
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void upgrade(req, socket, head).catch((error: unknown) => {
      logger.error('upgrade failed', describeError(error));
      refuse(socket, 500, 'Internal server error');
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 8080, host, () => done());
  });
  const port = (server.address() as AddressInfo).port;
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const httpUrl = `http://${authority}`;
  const callbackUrl = `${httpUrl}/${stage}`;
  // The stage is checked above to be [A-Za-z0-9_-] only: nothing in it needs escaping in a pattern.
  const managementPath = new RegExp(`^/${stage}/@connections/([^/]+)$`);

  const settings = HandlerSettings.parse({
    tableName,
    callbackUrl,
    auth: { type: 'oidc', issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwksUri: `${httpUrl}/.well-known/jwks.json` },
    allowedOrigins: [`http://127.0.0.1:${port}`, `http://localhost:${port}`],
    forwardClaims: [],
    ...options.settings,
  });

  try {
    dynamo = await acquireDynamo(options.dataDir ? { dataDir: options.dataDir } : {});
    await ensureTable(dynamo.endpoint, tableName);
    if (options.isolation === 'worker') {
      isolated = await startIsolatedHandlers(settings, {
        ...(options.handlers ? { overrides: options.handlers } : {}),
        ...(options.workersPerHandler ? { workersPerHandler: options.workersPerHandler } : {}),
      });
      handlers = isolated.handlers;
    } else {
      handlers = await loadHandlers(settings, options.handlers);
    }
  } catch (error) {
    await new Promise<void>((done) => server.close(() => done()));
    await isolated?.close();
    await dynamo?.release();
    throw error;
  }
  logger.info('gateway ready', { url: `ws://${authority}/${stage}`, dynamodb: dynamo.endpoint, kind: dynamo.kind });

  // -------------------------------------------------------------------------------------------------------
  // WebSocket: authorizer, $connect, routing, $disconnect
  // -------------------------------------------------------------------------------------------------------

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', httpUrl);
    if (!handlers || closing) return refuse(socket, 503, 'Service Unavailable');
    if (url.pathname.replace(/\/$/, '') !== `/${stage}`) return refuse(socket, 403, 'Forbidden');
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || !req.headers['sec-websocket-key']) {
      return refuse(socket, 400, 'Bad Request');
    }
    if (!connectionBucket.take() || !requestBucket.take()) {
      logger.warn('connection throttled');
      return refuse(socket, 429, 'Too Many Requests');
    }

    const now = Date.now();
    const facts: ConnectionFacts = {
      connectionId: newConnectionId(),
      connectedAt: now,
      apiId,
      stage,
      domainName: req.headers.host ?? authority,
      sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      userAgent: req.headers['user-agent'] ?? null,
    };
    const log = (message: string, fields: Record<string, unknown> = {}) =>
      logger.info(message, { connectionId: facts.connectionId, ...fields });

    // API Gateway has no authorizer cache for WebSocket APIs: the authorizer runs on every upgrade.
    const authEvent = authorizerEvent(facts, req, url, now);
    const auth = await invokeHandler('authorizer', handlers.authorizer, authEvent, limits.integrationTimeoutMs);
    if (auth.kind !== 'ok') {
      const unauthorized =
        auth.kind === 'error' && auth.error instanceof Error && auth.error.message === 'Unauthorized';
      log('authorizer refused', { outcome: auth.kind, durationMs: auth.durationMs });
      return unauthorized ? refuse(socket, 401, 'Unauthorized') : refuse(socket, 500, 'Internal server error');
    }
    const decision = evaluateAuthorizerResult(auth.value, authEvent.methodArn);
    if (decision.effect === 'Invalid') {
      logger.error('authorizer returned an invalid result', {
        connectionId: facts.connectionId,
        reason: decision.reason,
      });
      return refuse(socket, 500, 'Internal server error');
    }
    if (decision.effect === 'Deny') {
      log('authorizer denied');
      return refuse(socket, 403, 'Forbidden');
    }
    const authorizer: AuthorizerContext = {
      ...decision.context,
      principalId: decision.principalId,
      integrationLatency: auth.durationMs,
    };

    const connected = await invokeHandler(
      'connect',
      handlers.connect,
      connectEvent(facts, req, url, authorizer, Date.now()),
      limits.integrationTimeoutMs,
    );
    if (connected.kind !== 'ok') {
      log('$connect failed', { outcome: connected.kind, durationMs: connected.durationMs, ...errorFields(connected) });
      return connected.kind === 'integration-timeout'
        ? refuse(socket, 504, 'Endpoint request timed out')
        : refuse(socket, 500, 'Internal server error');
    }
    const result = asRecord(connected.value);
    const status = typeof result?.statusCode === 'number' ? result.statusCode : 200;
    if (status < 200 || status > 299) {
      log('$connect refused', { status });
      return refuse(socket, status, typeof result?.body === 'string' ? result.body : (STATUS_CODES[status] ?? ''));
    }

    if (socket.destroyed || closing) {
      // The client left while $connect ran: the record $connect wrote is cleaned up as for any other close.
      void runDisconnect(facts, authorizer, 1006, '');
      return;
    }
    chosenProtocol.set(req, headerValue(result?.headers, 'sec-websocket-protocol') ?? false);
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, facts, authorizer));
  }

  function accept(ws: WebSocket, facts: ConnectionFacts, authorizer: AuthorizerContext): void {
    const connection: Connection = {
      facts,
      ws,
      authorizer,
      lastActiveAt: facts.connectedAt,
      closing: false,
      timers: [],
    };
    registry.set(facts.connectionId, connection);
    logger.info('connected', { connectionId: facts.connectionId, principalId: authorizer.principalId });

    const rawSocket = (ws as unknown as { _socket: Duplex })._socket;
    const watcher = new FrameSizeWatcher(limits.maxFrameBytes, (bytes) => {
      logger.warn('frame over the limit', { connectionId: facts.connectionId, bytes, limit: limits.maxFrameBytes });
      closeConnection(connection, MESSAGE_TOO_BIG);
    });
    // Prepended so the frame header is seen before ws delivers the message it belongs to.
    rawSocket.prependListener('data', (chunk: Buffer) => watcher.push(chunk));

    const idle = setTimeout(() => closeConnection(connection, GOING_AWAY, 'idle timeout'), limits.idleTimeoutMs);
    const lifetime = setTimeout(
      () => closeConnection(connection, GOING_AWAY, 'maximum connection duration'),
      limits.maxConnectionMs,
    );
    connection.timers.push(idle, lifetime);

    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (connection.closing) return;
      // Only client messages count as activity: what stays open here then stays open on AWS too.
      idle.refresh();
      connection.lastActiveAt = Date.now();
      void dispatch(connection, data, isBinary);
    });
    ws.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        logger.warn('message over the limit', { connectionId: facts.connectionId, limit: limits.maxMessageBytes });
        connection.closedBy ??= MESSAGE_TOO_BIG;
      } else {
        logger.warn('websocket error', { connectionId: facts.connectionId, code: error.code });
      }
      connection.closing = true;
    });
    ws.on('close', (code: number, reason: Buffer) => {
      connection.closing = true;
      for (const timer of connection.timers) clearTimeout(timer);
      registry.delete(facts.connectionId);
      const closed = connection.closedBy ?? { code, reason: reason.toString('utf8') };
      logger.info('disconnected', { connectionId: facts.connectionId, code: closed.code });
      if (loseDisconnect(facts.connectionId)) {
        logger.info('$disconnect lost on purpose (loseDisconnects)', { connectionId: facts.connectionId });
        return;
      }
      void runDisconnect(facts, authorizer, closed.code, closed.reason);
    });
  }

  async function dispatch(connection: Connection, data: Buffer, isBinary: boolean): Promise<void> {
    const { facts } = connection;
    const requestId = randomUUID();
    if (!requestBucket.take()) {
      sendFrame(connection, { message: 'Too Many Requests', connectionId: facts.connectionId, requestId });
      return;
    }
    const body = isBinary ? data.toString('base64') : data.toString('utf8');
    const routeKey = isBinary ? '$default' : selectRoute(body, ROUTE_SELECTION_EXPRESSION, ROUTES);
    const route = ROUTES[routeKey] ?? ROUTES.$default;
    if (!route || !handlers) return;
    const event = messageEvent(facts, routeKey, body, isBinary, connection.authorizer, Date.now());
    const outcome = await invokeHandler(route.handler, handlers[route.handler], event, limits.integrationTimeoutMs);
    if (outcome.kind === 'integration-timeout') {
      logger.error('integration timed out', {
        connectionId: facts.connectionId,
        routeKey,
        durationMs: outcome.durationMs,
      });
      sendFrame(connection, { message: 'Endpoint request timed out', connectionId: facts.connectionId, requestId });
      return;
    }
    if (outcome.kind !== 'ok') {
      logger.error('route handler failed', {
        connectionId: facts.connectionId,
        routeKey,
        outcome: outcome.kind,
        ...errorFields(outcome),
      });
      sendFrame(connection, { message: 'Internal server error', connectionId: facts.connectionId, requestId });
      return;
    }
    const responseBody = asRecord(outcome.value)?.body;
    if (route.returnResponse && typeof responseBody === 'string' && responseBody.length > 0) {
      sendText(connection, responseBody);
    }
  }

  async function runDisconnect(
    facts: ConnectionFacts,
    authorizer: AuthorizerContext,
    code: number,
    reason: string,
  ): Promise<void> {
    if (!handlers) return;
    const outcome = await invokeHandler(
      'disconnect',
      handlers.disconnect,
      disconnectEvent(facts, code, reason, authorizer, Date.now()),
      limits.integrationTimeoutMs,
    );
    if (outcome.kind !== 'ok') {
      logger.error('$disconnect failed', {
        connectionId: facts.connectionId,
        outcome: outcome.kind,
        ...errorFields(outcome),
      });
    }
  }

  function closeConnection(connection: Connection, close: { code: number; reason: string }, why?: string): void {
    if (connection.closing) return;
    connection.closing = true;
    connection.closedBy = close;
    if (why) logger.info('closing connection', { connectionId: connection.facts.connectionId, why });
    connection.ws.close(close.code, close.reason);
    // A client that never answers the close frame is cut off, as API Gateway does.
    const cutoff = setTimeout(() => connection.ws.terminate(), 2000);
    cutoff.unref();
    connection.timers.push(cutoff);
  }

  function sendFrame(connection: Connection, frame: unknown): void {
    sendText(connection, JSON.stringify(frame));
  }

  function sendText(connection: Connection, text: string): void {
    if (connection.ws.readyState === WebSocket.OPEN) connection.ws.send(text);
  }

  // -------------------------------------------------------------------------------------------------------
  // HTTP: management API, Invoke, JWKS, dev tokens, demo page
  // -------------------------------------------------------------------------------------------------------

  async function routeHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', httpUrl);
    const path = url.pathname;
    if (!handlers || closing) return sendJson(res, 503, { message: 'Service Unavailable' });

    const management = managementPath.exec(path);
    if (management) return manage(req, res, management[1] as string);

    const invoke = INVOKE_PATH.exec(path);
    if (invoke) {
      if (req.method !== 'POST') return sendJson(res, 405, { message: 'Method Not Allowed' });
      if (!signed(req, res, 'lambda')) return;
      return handleInvoke(req, res, invoke[1] as string, handlers.publish, logger);
    }

    if (req.method === 'GET' && path === '/.well-known/jwks.json') {
      return sendJson(res, 200, jwksOf(signingKey), { 'cache-control': 'max-age=300' });
    }
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      return sendJson(res, 200, {
        issuer: DEV_ISSUER,
        jwks_uri: `${httpUrl}/.well-known/jwks.json`,
        id_token_signing_alg_values_supported: ['RS256'],
        subject_types_supported: ['public'],
        response_types_supported: ['id_token'],
      });
    }
    if (req.method === 'GET' && path === '/config.json') return sendJson(res, 200, { stage });
    if (req.method === 'GET' && path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (path === '/dev/token' && options.devTokenEndpoint !== false) return devToken(req, res);
    if (req.method === 'GET' && path === '/switchboard-client.js') {
      const bundle = await bundleClient();
      if (!bundle.ok) {
        logger.warn('client bundle unavailable', { reason: bundle.reason });
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(bundle.reason);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(bundle.code);
      return;
    }
    const file = req.method === 'GET' ? PUBLIC_FILES[path] : undefined;
    if (file) {
      const content = await readFile(resolve(PUBLIC_DIR, file.file));
      res.writeHead(200, {
        'content-type': file.type,
        'cache-control': 'no-cache',
        'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:",
        'x-content-type-options': 'nosniff',
      });
      res.end(content);
      return;
    }
    return sendJson(res, 404, { message: 'Not Found' });
  }

  function signed(req: IncomingMessage, res: ServerResponse, service: string): boolean {
    const check = checkSignature(req.headers, service);
    if (check.ok) return true;
    logger.warn('unsigned request refused', { path: safePath(req.url), errorType: check.errorType });
    sendAwsError(res, 403, check.errorType, check.message, randomUUID());
    return false;
  }

  async function manage(req: IncomingMessage, res: ServerResponse, encodedId: string): Promise<void> {
    const requestId = randomUUID();
    if (!signed(req, res, 'execute-api')) return;
    const connectionId = decodePathSegment(encodedId);
    if (connectionId === undefined) {
      return sendAwsError(res, 400, 'BadRequestException', 'Invalid connectionId', requestId);
    }
    if (!requestBucket.take()) {
      return sendAwsError(res, 429, 'LimitExceededException', 'Rate exceeded', requestId);
    }
    const connection = registry.get(connectionId);
    const gone = () => sendAwsError(res, 410, 'GoneException', `Connection ${connectionId} is gone`, requestId);
    switch (req.method) {
      case 'POST': {
        let data: Buffer;
        try {
          data = await readBody(req, limits.maxMessageBytes);
        } catch (error) {
          if (!(error instanceof BodyTooLargeError)) throw error;
          return sendAwsError(res, 413, 'PayloadTooLargeException', 'Request entity too large', requestId);
        }
        if (!connection || connection.closing || connection.ws.readyState !== WebSocket.OPEN) return gone();
        // Sent as a text frame, as API Gateway does. Valid UTF-8 goes as it came, without a decode and re-encode;
        // anything else is decoded first, so invalid sequences become U+FFFD rather than a frame clients refuse.
        if (isUtf8(data)) connection.ws.send(data, { binary: false });
        else connection.ws.send(data.toString('utf8'));
        res.writeHead(200, { 'x-amzn-requestid': requestId, 'content-length': 0 }).end();
        return;
      }
      case 'GET': {
        if (!connection || connection.closing) return gone();
        return sendJson(
          res,
          200,
          {
            connectedAt: new Date(connection.facts.connectedAt).toISOString(),
            identity: { sourceIp: connection.facts.sourceIp, userAgent: connection.facts.userAgent ?? '' },
            lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
          },
          { 'x-amzn-requestid': requestId },
        );
      }
      case 'DELETE': {
        if (!connection || connection.closing) return gone();
        closeConnection(connection, { code: 1000, reason: '' }, 'deleted through the management API');
        res.writeHead(204, { 'x-amzn-requestid': requestId }).end();
        return;
      }
      default:
        return sendJson(res, 405, { message: 'Method Not Allowed' });
    }
  }

  /**
   * DEV ONLY: signs a token for the demo page. The deployed stack has no such endpoint; a real application
   * gets its tokens from its identity provider. Only loopback callers are served, and no page of another site.
   */
  async function devToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!isLoopback(req.socket.remoteAddress) || isCrossSiteRequest(req.headers)) {
      return sendJson(res, 403, { message: 'Forbidden' });
    }
    if (req.method !== 'POST') return sendJson(res, 405, { message: 'Method Not Allowed' });
    let input: unknown;
    try {
      input = JSON.parse((await readBody(req, 16 * 1024)).toString('utf8'));
    } catch {
      return sendJson(res, 400, {
        code: 'INVALID_REQUEST',
        message: 'Expected a JSON body {"sub": "...", "claims": {}}',
      });
    }
    const { sub, claims } = (asRecord(input) ?? {}) as { sub?: unknown; claims?: unknown };
    if (typeof sub !== 'string' || !/^[A-Za-z0-9_.@:-]{1,128}$/.test(sub)) {
      return sendJson(res, 400, { code: 'INVALID_REQUEST', message: 'sub must be 1-128 of A-Z a-z 0-9 _ . @ : -' });
    }
    if (claims !== undefined && asRecord(claims) === undefined) {
      return sendJson(res, 400, { code: 'INVALID_REQUEST', message: 'claims must be an object' });
    }
    const token = signDevToken(signingKey, { sub, claims: claims as Record<string, unknown> | undefined });
    sendJson(res, 200, { token }, { 'cache-control': 'no-store' });
  }

  return {
    url: `ws://${authority}/${stage}`,
    httpUrl,
    callbackUrl,
    port,
    stage,
    tableName,
    dynamodbEndpoint: dynamo.endpoint,
    settings,
    limits,
    signingKey,
    handlerThreads: () => isolated?.threadIds() ?? [],
    issueToken: (sub, claims, expiresInSeconds) =>
      signDevToken(signingKey, {
        sub,
        ...(claims ? { claims } : {}),
        ...(expiresInSeconds ? { expiresInSeconds } : {}),
      }),
    connections: () =>
      [...registry.values()]
        .filter((c) => !c.closing)
        .map((c) => ({
          connectionId: c.facts.connectionId,
          connectedAt: c.facts.connectedAt,
          lastActiveAt: c.lastActiveAt,
          principalId: c.authorizer.principalId,
        })),
    setLoseDisconnects: (value) => {
      loseDisconnect = toPredicate(value);
    },
    close: async () => {
      if (closing) return;
      closing = true;
      const open = [...registry.values()];
      const closed = open.map(
        (c) =>
          new Promise<void>((done) => {
            if (c.ws.readyState === WebSocket.CLOSED) return done();
            c.ws.once('close', () => done());
            closeConnection(c, GOING_AWAY, 'gateway shutting down');
          }),
      );
      await Promise.all(closed);
      // Let the $disconnect handlers started by those closes reach DynamoDB before it stops.
      await new Promise((r) => setTimeout(r, open.length > 0 ? 100 : 0));
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await isolated?.close();
      await dynamo?.release();
    },
  };
}

function refuse(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function toPredicate(value: boolean | ((connectionId: string) => boolean)): (connectionId: string) => boolean {
  return typeof value === 'function' ? value : () => value;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function headerValue(headers: unknown, name: string): string | undefined {
  const record = asRecord(headers);
  if (!record) return undefined;
  for (const [key, value] of Object.entries(record)) {
    if (key.toLowerCase() === name && typeof value === 'string' && value.length > 0) return value;
  }
  return undefined;
}

function errorFields(outcome: { kind: string; error?: unknown }): Record<string, unknown> {
  return outcome.kind === 'error' ? describeError(outcome.error) : {};
}

/** The path without its query string, which may carry a token. */
function safePath(url: string | undefined): string {
  return (url ?? '').split('?')[0] ?? '';
}
