/**
 * The two naive fan-outs of AWS's WebSocket samples (simple-websockets-chat-app and its descendants), the
 * baselines of the fan-out scenario:
 *
 * - `scanThenPromiseAll`: Scan the table for the recipients, then one unbounded `Promise.all` of
 *   `postToConnection` with the default SDK client;
 * - `scanThenSequential`: the same sends one at a time with `for … await`.
 *
 * Both get the same table and the same payload as the real fan-out. The samples' table holds only
 * connections; this one is single-table, so the Scan filters on the room's partition key, which is what a
 * Scan-based design reads here.
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DeliveryReport } from '../../lambdas/core/publish-input.js';
import { keys } from '../../lambdas/core/table.js';

export interface NaiveClients {
  documents: DynamoDBDocumentClient;
  management: ApiGatewayManagementApiClient;
}

/** Clients built the way the samples build them: defaults only, once per container. */
export function naiveClients(managementEndpoint: string, dynamodbEndpoint: string): NaiveClients {
  return {
    documents: DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamodbEndpoint })),
    management: new ApiGatewayManagementApiClient({ endpoint: managementEndpoint }),
  };
}

async function scanRoom(clients: NaiveClients, tableName: string, room: string): Promise<string[]> {
  const ids: string[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await clients.documents.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'pk = :room',
        ExpressionAttributeValues: { ':room': keys.roomPartition(room) },
        ProjectionExpression: 'connectionId',
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) ids.push(item.connectionId as string);
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return ids;
}

async function postOne(clients: NaiveClients, connectionId: string, payload: string, report: DeliveryReport) {
  report.recipients++;
  try {
    await clients.management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: payload }));
    report.delivered++;
  } catch (error) {
    if ((error as { name?: string }).name === 'GoneException') report.gone++;
    else report.failed++;
  }
}

export async function scanThenPromiseAll(
  clients: NaiveClients,
  tableName: string,
  room: string,
  payload: string,
): Promise<DeliveryReport> {
  const report: DeliveryReport = { recipients: 0, delivered: 0, gone: 0, failed: 0 };
  const ids = await scanRoom(clients, tableName, room);
  await Promise.all(ids.map((id) => postOne(clients, id, payload, report)));
  return report;
}

export async function scanThenSequential(
  clients: NaiveClients,
  tableName: string,
  room: string,
  payload: string,
): Promise<DeliveryReport> {
  const report: DeliveryReport = { recipients: 0, delivered: 0, gone: 0, failed: 0 };
  for (const id of await scanRoom(clients, tableName, room)) await postOne(clients, id, payload, report);
  return report;
}
