/**
 * The commands a new user types: `npm start`, `npm run token`, `npm run publish`, run as child processes the
 * way npm runs them (tsx), against a DynamoDB API server chosen by the vitest project.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { backend } from './support/gateway.js';
import { ofType, TestClient } from './support/ws-client.js';

const ROOT = resolve(import.meta.dirname, '../..');

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.AWS_ENDPOINT_URL_DYNAMODB;
  if (backend() === 'dynamodb-local') env.AWS_ENDPOINT_URL_DYNAMODB = inject('dynamodbEndpoint');
  return env;
}

function run(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, script), ...args], {
      cwd: ROOT,
      env: childEnv(),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

function decode(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'));
}

let stateDir: string;
let gateway: ChildProcess;
let wsUrl: string;
let exited: Promise<number | null>;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'switchboard-cli-'));
  gateway = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      resolve(ROOT, 'local/cli/start.ts'),
      '--port',
      '0',
      '--state-dir',
      stateDir,
      '--log-level',
      'warn',
    ],
    { cwd: ROOT, env: { ...childEnv(), POWERTOOLS_LOG_LEVEL: 'SILENT' } },
  );
  exited = new Promise((done) => gateway.once('exit', (code) => done(code)));
  wsUrl = await new Promise<string>((done, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`no ready line; stdout: ${out}`)), 60_000);
    gateway.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const ready = /ready: (ws:\/\/\S+)/.exec(out);
      if (ready) {
        clearTimeout(timer);
        done(ready[1] as string);
      }
    });
    gateway.once('exit', (code) => fail(new Error(`npm start exited with ${code}; stdout: ${out}`)));
  });
});

afterAll(async () => {
  if (gateway.exitCode === null) gateway.kill('SIGKILL');
});

describe('npm run token', () => {
  it('prints only a token, with the claims and lifetime asked for, signed with a 0600 key', async () => {
    // Act
    const { code, stdout } = await run('local/cli/token.ts', [
      '--sub',
      'alice',
      '--claims',
      '{"rooms":["team:a"]}',
      '--expires-in',
      '10m',
      '--state-dir',
      stateDir,
    ]);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const payload = decode(stdout.trim());
    expect(payload).toMatchObject({ sub: 'alice', rooms: ['team:a'], iss: 'https://switchboard.local/dev' });
    expect((payload.exp as number) - (payload.iat as number)).toBe(600);
    expect((await stat(join(stateDir, 'dev-signing-key.pem'))).mode & 0o777).toBe(0o600);
  });

  it('fails with usage on stderr and nothing on stdout without --sub', async () => {
    const { code, stdout, stderr } = await run('local/cli/token.ts', ['--state-dir', stateDir]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('--sub is required');
  });
});

describe('npm start with npm run token and npm run publish', () => {
  it('serves a client holding a CLI token, which a CLI publish reaches', async () => {
    // Arrange
    expect(wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/local$/);
    const { stdout: token } = await run('local/cli/token.ts', ['--sub', 'zoe', '--state-dir', stateDir]);
    const client = await TestClient.open(wsUrl, token.trim());
    await expect(client.request({ action: 'join', room: 'public:lobby' })).resolves.toMatchObject({ type: 'ack' });

    // Act
    const httpUrl = wsUrl.replace(/^ws/, 'http').replace(/\/local$/, '');
    const published = await run('local/cli/publish.ts', [
      '--user',
      'zoe',
      '--event',
      'order.shipped',
      '--data',
      '{"id":1}',
      '--url',
      httpUrl,
    ]);

    // Assess
    expect(published.code).toBe(0);
    expect(JSON.parse(published.stdout)).toEqual({ recipients: 1, delivered: 1, gone: 0, failed: 0 });
    await expect(client.next(ofType('notification'))).resolves.toMatchObject({
      event: 'order.shipped',
      data: { id: 1 },
    });
    await client.close();
  });

  it('refuses a publish without a target', async () => {
    const { code, stderr } = await run('local/cli/publish.ts', ['--event', 'x', '--url', 'http://127.0.0.1:9']);
    expect(code).toBe(2);
    expect(stderr).toContain('exactly one target');
  });

  it('shuts down cleanly on SIGTERM', async () => {
    gateway.kill('SIGTERM');
    await expect(exited).resolves.toBe(0);
  });
});
