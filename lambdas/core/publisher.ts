/**
 * Publishing: backend services notify users, rooms, connections or everyone.
 *
 * The whole input is validated before anything is sent: one bad notification fails the batch with a
 * PublishValidationError and nothing goes out. Notifications are then delivered one after another, in input
 * order, each fan-out with its own bounded concurrency.
 */
import { randomUUID } from 'node:crypto';
import type { ConnectionPage, ConnectionStore } from './connections.js';
import { PublishValidationError } from './errors.js';
import { type FanOutOptions, fanOut, type Sender } from './fanout.js';
import { type Log, silentLog } from './logger.js';
import type { NotificationFrame } from './protocol.js';
import { type DeliveryReport, type Notification, PublishInput, type PublishOutput } from './publish-input.js';

export interface PublishContext {
  store: ConnectionStore;
  sender: Sender;
  concurrency: number;
  retry?: FanOutOptions['retry'];
  /** Epoch milliseconds. */
  now?: () => number;
  newId?: () => string;
  log?: Log;
}

/** Checks a publish input and returns it typed, or throws a PublishValidationError listing every problem. */
export function parsePublishInput(input: unknown): PublishInput {
  const parsed = PublishInput.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  throw new PublishValidationError(problems, { cause: parsed.error });
}

/** A zod issue path as a reader writes it: `[1].to.users[0]`, or `(input)` for the input itself. */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(input)';
  return path
    .map((segment, index) =>
      typeof segment === 'number' ? `[${segment}]` : `${index > 0 ? '.' : ''}${String(segment)}`,
    )
    .join('');
}

/** Publishes one notification or a batch; a batch gets one report per notification, in input order. */
export async function publish(input: unknown, context: PublishContext): Promise<PublishOutput> {
  const parsed = parsePublishInput(input);
  if (!Array.isArray(parsed)) return publishOne(parsed, context);
  const reports: DeliveryReport[] = [];
  for (const notification of parsed) reports.push(await publishOne(notification, context));
  return reports;
}

async function publishOne(notification: Notification, context: PublishContext): Promise<DeliveryReport> {
  const log = context.log ?? silentLog;
  const frame: NotificationFrame = {
    type: 'notification',
    event: notification.event,
    data: notification.data,
    ts: (context.now ?? Date.now)(),
    id: (context.newId ?? randomUUID)(),
  };
  const options: FanOutOptions = {
    sender: context.sender,
    store: context.store,
    concurrency: context.concurrency,
    exclude: notification.exclude ?? [],
    ...(context.retry ? { retry: context.retry } : {}),
    log,
  };
  const { to } = notification;
  let report: DeliveryReport;
  if ('rooms' in to) {
    // One fan-out per room, each frame naming its room, so a client in two rooms learns which room it was for.
    // Every copy has the same id: it is one notification.
    report = { recipients: 0, delivered: 0, gone: 0, failed: 0 };
    for (const room of new Set(to.rooms)) {
      const perRoom = await fanOut(context.store.roomMembers(room), JSON.stringify({ ...frame, room }), options);
      report = add(report, perRoom);
    }
  } else {
    const payload = JSON.stringify(frame);
    let pages: AsyncIterable<ConnectionPage> | Iterable<ConnectionPage>;
    if ('users' in to) pages = concatPages([...new Set(to.users)].map((user) => context.store.userConnections(user)));
    else if ('connections' in to) pages = [to.connections];
    else pages = context.store.allConnections();
    report = await fanOut(pages, payload, options);
  }
  log.info('Notification published', { event: notification.event, notificationId: frame.id, ...report });
  return report;
}

async function* concatPages(sources: readonly AsyncIterable<ConnectionPage>[]): AsyncGenerator<ConnectionPage> {
  for (const source of sources) yield* source;
}

function add(a: DeliveryReport, b: DeliveryReport): DeliveryReport {
  return {
    recipients: a.recipients + b.recipients,
    delivered: a.delivered + b.delivered,
    gone: a.gone + b.gone,
    failed: a.failed + b.failed,
  };
}
