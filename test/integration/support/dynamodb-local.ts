/**
 * Vitest global setup of the `integration-ddblocal` project: runs DynamoDB Local, the official AWS emulator
 * (it validates like DynamoDB and supports transactions, where dynalite is more lenient), on a free loopback
 * port, and hands its endpoint to the tests. Java is required: a missing Java fails the run, never skips it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

const EMULATOR_DIR = resolve(import.meta.dirname, '../../../node_modules/amplify-dynamodb-simulator/emulator');

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error || java.status !== 0) {
    throw new Error(
      'DynamoDB Local needs Java 17 on PATH (apt-get install openjdk-17-jre-headless); it is not skipped',
    );
  }
  const port = await freePort();
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${resolve(EMULATOR_DIR, 'DynamoDBLocal_lib')}`,
      '-jar',
      resolve(EMULATOR_DIR, 'DynamoDBLocal.jar'),
      '-inMemory',
      // Tests never reach beyond loopback: DynamoDB Local would otherwise send telemetry.
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    // It writes a metadata file into its working directory: keep that out of the repository.
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: await mkdtemp(join(tmpdir(), 'dynamodb-local-')) },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(endpoint, child, 60_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`DynamoDB Local did not start: ${(error as Error).message}\n${stderr}`);
  }
  project.provide('dynamodbEndpoint', endpoint);
  return async () => {
    child.kill('SIGTERM');
    await new Promise<void>((done) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done();
      }, 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
    });
  };
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

async function waitUntilAnswering(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`java exited with ${child.exitCode}`);
    try {
      // Any HTTP answer means the server listens; DynamoDB Local answers 400 to a bare request.
      await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`no answer within ${timeoutMs} ms`);
}
