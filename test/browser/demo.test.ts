/**
 * The demo page in headless Chromium, running on the client SDK against the local gateway and the real
 * handlers: it connects, joins, talks with a Node client, survives a server-side disconnect, reconnects by
 * itself, rejoins, and delivers what it queued while offline.
 *
 * Chromium comes from Debian (`/usr/bin/chromium`); Playwright never downloads a browser. This test never
 * skips: without Chromium it fails and says how to install it.
 */
import { existsSync } from 'node:fs';
import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwitchboardClient } from '../../client/src/index.js';
import type { MessageFrame } from '../../lambdas/core/protocol.js';
import type { Gateway } from '../../local/gateway.js';
import { eventually, startTestGateway } from '../integration/support/gateway.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = process.env.SWITCHBOARD_SCREENSHOT ?? '/tmp/switchboard-demo.png';
const ROOM = 'public:browser-demo';
const PAGE_USER = 'browser-user';

let gateway: Gateway;
let browser: Browser;
let page: Page;
let node: SwitchboardClient;
const nodeInbox: MessageFrame[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}. The browser test needs Debian's Chromium: ` +
        'apt-get update && apt-get install -y --no-install-recommends chromium (or set CHROMIUM_PATH).',
    );
  }
  gateway = await startTestGateway();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  node = new SwitchboardClient({ url: gateway.url, token: () => gateway.issueToken('node-user') });
  node.on('message', (frame) => nodeInbox.push(frame));
});

afterAll(async () => {
  node?.close();
  await browser?.close();
  await gateway?.close();
});

function received(predicate: (frame: MessageFrame) => boolean): Promise<MessageFrame[]> {
  return eventually(
    async () => nodeInbox.filter(predicate),
    (found) => found.length > 0,
    15_000,
  );
}

async function sendFromPage(text: string): Promise<void> {
  await page.fill('#message', text);
  await page.click('#send');
}

describe('demo page on the client SDK', () => {
  it('connects, joins a room and exchanges messages with a Node client', async () => {
    // Arrange
    await page.goto(gateway.httpUrl);
    await node.connect();
    await node.join(ROOM);

    // Act: connect and join through the page's own controls.
    await page.fill('#user', PAGE_USER);
    await page.click('#connect');
    await expect.poll(() => page.textContent('#state'), { timeout: 15_000 }).toBe('open');
    await page.fill('#room', ROOM);
    await page.click('#join');
    await expect.poll(() => page.evaluate(() => window.switchboard?.joinedRooms)).toEqual([ROOM]);
    await sendFromPage('hello from the browser');
    await node.send(ROOM, 'hello from node');

    // Assert
    const [fromPage] = await received((frame) => frame.data === 'hello from the browser');
    expect(fromPage).toMatchObject({ room: ROOM, from: PAGE_USER });
    const item = page.locator(`#messages li[data-room="${ROOM}"][data-from="node-user"]`);
    await expect.poll(() => item.textContent()).toBe('hello from node');
  });

  it('survives a management-API DELETE: reconnects, rejoins and delivers what it queued offline', async () => {
    // Arrange: hold the token request of the reconnect, so the page stays offline while it queues messages.
    const { connectionId } = (await eventually(
      async () => gateway.connections().find((c) => c.principalId === PAGE_USER),
      (found) => found !== undefined,
    )) as { connectionId: string };
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route('**/dev/token', async (route) => {
      await held;
      await route.continue();
    });
    const management = new ApiGatewayManagementApiClient({ endpoint: gateway.callbackUrl, maxAttempts: 1 });

    // Act
    await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    await expect.poll(() => page.textContent('#state'), { timeout: 15_000 }).toBe('reconnecting');
    await sendFromPage('queued while offline 1');
    await sendFromPage('queued while offline 2');
    const nothingYet = nodeInbox.filter((frame) => String(frame.data).startsWith('queued')).length;
    release();

    // Assert: back by itself, the room rejoined, the queue delivered.
    expect(nothingYet).toBe(0);
    await expect.poll(() => page.textContent('#state'), { timeout: 15_000 }).toBe('open');
    const queued = await eventually(
      async () => nodeInbox.filter((frame) => String(frame.data).startsWith('queued')),
      (found) => found.length === 2,
      15_000,
    );
    expect(queued.map((frame) => frame.data).sort()).toEqual(['queued while offline 1', 'queued while offline 2']);
    expect(queued.every((frame) => frame.from === PAGE_USER && frame.room === ROOM)).toBe(true);
    const now = gateway.connections().filter((c) => c.principalId === PAGE_USER);
    expect(now).toHaveLength(1);
    expect(now[0]?.connectionId).not.toBe(connectionId);
    expect(await page.evaluate(() => window.switchboard?.joinedRooms)).toEqual([ROOM]);
    await node.send(ROOM, 'welcome back');
    const item = page.locator('#messages li[data-from="node-user"]', { hasText: 'welcome back' });
    await expect.poll(() => item.count(), { timeout: 15_000 }).toBe(1);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });
});

declare global {
  interface Window {
    /** The demo page's client, exposed for debugging. */
    switchboard?: SwitchboardClient;
  }
}
