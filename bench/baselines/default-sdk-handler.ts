/**
 * Cold-start baseline: a handler that imports the SDK clients the switchboard handlers use, the default way
 * (full clients with the default credential chain, built at module scope as AWS's samples do), bundled with
 * CDK's defaults for a Node 18+ runtime: `@aws-sdk/*` left external, so it is loaded from node_modules as
 * the runtime-provided SDK would be.
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const management = new ApiGatewayManagementApiClient({ endpoint: process.env.CALLBACK_URL ?? 'https://localhost' });

export async function handler(event: { room: string; data: string }): Promise<{ statusCode: number }> {
  const { Items = [] } = await documents.send(
    new QueryCommand({
      TableName: process.env.TABLE_NAME,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `ROOM#${event.room}` },
    }),
  );
  await Promise.all(
    Items.map((item) =>
      management.send(new PostToConnectionCommand({ ConnectionId: item.connectionId as string, Data: event.data })),
    ),
  );
  return { statusCode: 200 };
}
