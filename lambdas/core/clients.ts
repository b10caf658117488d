/**
 * AWS SDK clients, created once per container (module scope) so a warm Lambda reuses their connections.
 * The DynamoDB client honours `AWS_ENDPOINT_URL_DYNAMODB` by itself, which is how the local gateway points it
 * at a local server.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

let documentClient: DynamoDBDocumentClient | undefined;

export function getDocumentClient(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

const managementClients = new Map<string, ApiGatewayManagementApiClient>();

/**
 * The management API client for one stage endpoint, one per endpoint per process. `maxAttempts: 1` because
 * fan-out retries throttled posts itself, with backoff and jitter across the whole fan-out; SDK retries on
 * top of those would multiply the attempts and hide the throttling from our counters.
 */
export function getManagementClient(endpoint: string): ApiGatewayManagementApiClient {
  let client = managementClients.get(endpoint);
  if (!client) {
    client = new ApiGatewayManagementApiClient({ endpoint, maxAttempts: 1 });
    managementClients.set(endpoint, client);
  }
  return client;
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
