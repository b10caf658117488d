/**
 * A `Sender` over the AWS SDK's `ApiGatewayManagementApiClient`, for deployments that want the SDK's client
 * (its middleware, its logging hooks) rather than the handlers' default `FastSender`. It lives in its own module
 * so the handler bundles, which use `FastSender`, do not carry the management API client.
 */
import { type ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { Payload, Sender } from './fanout.js';

/** Posts through the stage's management API (`POST @connections/{id}`). Give the client `maxAttempts: 1`. */
export class ManagementApiSender implements Sender {
  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  async post(connectionId: string, payload: Payload): Promise<void> {
    await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: payload }));
  }
}
