import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Switchboard, type SwitchboardProps } from './switchboard.js';

export interface SwitchboardStackProps extends StackProps {
  /** Settings of the messaging backend. */
  readonly switchboard: SwitchboardProps;
}

/** One deployable switchboard, with the outputs clients and producers need. */
export class SwitchboardStack extends Stack {
  public readonly switchboard: Switchboard;

  constructor(scope: Construct, id: string, props: SwitchboardStackProps) {
    super(scope, id, props);
    this.switchboard = new Switchboard(this, 'Switchboard', props.switchboard);

    new CfnOutput(this, 'WebSocketUrl', {
      description: 'URL clients connect to (wss://)',
      value: this.switchboard.stage.url,
    });
    new CfnOutput(this, 'PublishFunctionArn', {
      description: 'Function backend services invoke to notify users, rooms, connections or everyone',
      value: this.switchboard.publishFunction.functionArn,
    });
    new CfnOutput(this, 'PublishFunctionName', {
      description: 'Name of the publish function, for `aws lambda invoke --function-name`',
      value: this.switchboard.publishFunction.functionName,
    });
    new CfnOutput(this, 'TableName', {
      description: 'DynamoDB table of connections and room memberships',
      value: this.switchboard.table.tableName,
    });
  }
}
