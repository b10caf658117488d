/**
 * Clients created once per container (module scope) so a warm Lambda reuses their connections.
 * The DynamoDB client honours `AWS_ENDPOINT_URL_DYNAMODB` by itself, which is how the local gateway points it
 * at a local server.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Sender } from './fanout.js';
import { FastSender } from './fast-sender.js';

let documentClient: DynamoDBDocumentClient | undefined;

export function getDocumentClient(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

const senders = new Map<string, Sender>();

/**
 * The sender for one stage's management endpoint, one per endpoint per process, so a warm container keeps its
 * signed keep-alive connections. `FastSender` rather than `ApiGatewayManagementApiClient`: same SigV4 and
 * error shapes, about a fifth of the CPU per post (docs/benchmarks.md). It makes one attempt per post: fan-out
 * retries throttled posts itself, with backoff and jitter across the whole fan-out.
 */
export function getSender(endpoint: string): Sender {
  let sender = senders.get(endpoint);
  if (!sender) {
    sender = new FastSender({ endpoint });
    senders.set(endpoint, sender);
  }
  return sender;
}

/**
 * The stage's management endpoint for a WebSocket event, for deployments that do not configure `callbackUrl`.
 * Only right for the execute-api domain: behind a custom domain the stage is not part of the path.
 */
export function callbackUrlFromRequestContext(requestContext: {
  domainName?: string;
  stage?: string;
}): string | undefined {
  if (!requestContext.domainName || !requestContext.stage) return undefined;
  return `https://${requestContext.domainName}/${requestContext.stage}`;
}
