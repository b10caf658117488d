import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/core/config.js';
import { HANDLERS, type HandlerName, ROUTE_SELECTION_EXPRESSION, ROUTES } from '../../lambdas/core/routes.js';
import { TABLE } from '../../lambdas/core/table.js';
import { Switchboard, type SwitchboardProps } from '../../lib/switchboard.js';

/** API Gateway gives up on an integration after 29 s. */
const API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 29;

const PROPS: SwitchboardProps = {
  auth: { type: 'cognito', userPoolId: 'eu-west-1_AbC123', clientId: 'client-1', tokenUse: 'id' },
  allowedOrigins: ['https://app.example.com'],
};

// Bundling is skipped: these tests look at the template, and esbuild would add seconds per function.
function newStack(): Stack {
  return new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test');
}

function synth(props: SwitchboardProps = PROPS) {
  const stack = newStack();
  const switchboard = new Switchboard(stack, 'Switchboard', props);
  return { stack, switchboard, template: Template.fromStack(stack) };
}

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
type Statement = { Action: string | string[]; Effect: string; Resource: unknown };

function only(resources: Record<string, Resource>): [string, Resource] {
  const entries = Object.entries(resources);
  expect(entries).toHaveLength(1);
  return entries[0] as [string, Resource];
}

function functionOf(template: Template, name: HandlerName): [string, Resource] {
  return only(
    template.findResources('AWS::Lambda::Function', {
      Properties: { Description: HANDLERS[name].description },
    }) as Record<string, Resource>,
  );
}

/** The statements of the policies attached to the role of handler `name`. */
function statementsOf(template: Template, name: HandlerName): Statement[] {
  const roleRef = (functionOf(template, name)[1].Properties.Role as { 'Fn::GetAtt': [string, string] })[
    'Fn::GetAtt'
  ][0];
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleRef }]) },
  }) as Record<string, Resource>;
  return Object.values(policies).flatMap(
    (policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
  );
}

const actionsOf = (statement: Statement) => [statement.Action].flat();
const resourcesOf = (statement: Statement) => [statement.Resource].flat();

describe('Switchboard', () => {
  let template: Template;
  let stack: Stack;
  let switchboard: Switchboard;

  beforeAll(() => {
    ({ template, stack, switchboard } = synth());
  });

  describe('WebSocket API', () => {
    it('selects routes with the expression from routes.ts', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        ProtocolType: 'WEBSOCKET',
        RouteSelectionExpression: ROUTE_SELECTION_EXPRESSION,
      });
    });

    it('has exactly the routes of ROUTES, each integrated with its handler', () => {
      const routes = template.findResources('AWS::ApiGatewayV2::Route') as Record<string, Resource>;
      const keys = Object.values(routes).map((route) => route.Properties.RouteKey);
      expect(keys.sort()).toEqual(Object.keys(ROUTES).sort());

      for (const [routeKey, route] of Object.entries(ROUTES)) {
        const [functionId] = functionOf(template, route.handler);
        const integrations = template.findResources('AWS::ApiGatewayV2::Integration', {
          Properties: {
            IntegrationType: 'AWS_PROXY',
            IntegrationUri: Match.objectLike({
              'Fn::Join': Match.arrayWith([Match.arrayWith([{ 'Fn::GetAtt': [functionId, 'Arn'] }])]),
            }),
          },
        });
        const [integrationId] = only(integrations as Record<string, Resource>);
        template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          RouteKey: routeKey,
          Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] },
        });
      }
    });

    it('guards $connect, and only $connect, with a REQUEST authorizer backed by the authorizer function', () => {
      const [authorizerId, authorizer] = only(
        template.findResources('AWS::ApiGatewayV2::Authorizer') as Record<string, Resource>,
      );
      const [authorizerFunctionId] = functionOf(template, 'authorizer');
      expect(authorizer.Properties.AuthorizerType).toBe('REQUEST');
      expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(authorizerFunctionId);

      for (const [routeKey, route] of Object.entries(ROUTES)) {
        template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          RouteKey: routeKey,
          AuthorizationType: route.authorized ? 'CUSTOM' : 'NONE',
          AuthorizerId: route.authorized ? { Ref: authorizerId } : Match.absent(),
        });
      }
      expect(ROUTES.$connect?.authorized).toBe(true);
    });

    it('calls the authorizer even when a token source is missing: no identity source', () => {
      // API Gateway would answer 401 itself when any listed source is absent, and the token comes either in
      // the Sec-WebSocket-Protocol header or in the query string.
      template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { IdentitySource: Match.absent() });
    });

    it('lets API Gateway invoke the authorizer function', () => {
      const [authorizerFunctionId] = functionOf(template, 'authorizer');
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [authorizerFunctionId, 'Arn'] },
      });
    });

    it('adds a route response to the two-way routes only', () => {
      const twoWay = Object.entries(ROUTES).filter(([, route]) => route.returnResponse);
      const responses = template.findResources('AWS::ApiGatewayV2::RouteResponse') as Record<string, Resource>;
      expect(Object.keys(responses)).toHaveLength(twoWay.length);
      for (const [routeKey] of twoWay) {
        const [routeId] = only(
          template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } }) as Record<
            string,
            Resource
          >,
        );
        template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
          RouteId: { Ref: routeId },
          RouteResponseKey: '$default',
        });
      }
    });
  });

  describe('stage', () => {
    it('deploys automatically with default route throttling', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: 'prod',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingBurstLimit: 2000, ThrottlingRateLimit: 1000 },
      });
    });

    it('applies the throttling and stage name it is given', () => {
      const { template: custom } = synth({ ...PROPS, stageName: 'live', throttle: { rateLimit: 50, burstLimit: 10 } });

      custom.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: 'live',
        DefaultRouteSettings: { ThrottlingBurstLimit: 10, ThrottlingRateLimit: 50 },
      });
    });

    it('writes JSON access logs with the request, connection, route, status, error and latency', () => {
      const [, stage] = only(template.findResources('AWS::ApiGatewayV2::Stage') as Record<string, Resource>);
      const settings = stage.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };

      const format = JSON.parse(settings.Format) as Record<string, string>;

      expect(format).toMatchObject({
        requestId: '$context.requestId',
        connectionId: '$context.connectionId',
        eventType: '$context.eventType',
        routeKey: '$context.routeKey',
        status: '$context.status',
        error: '$context.error.message',
        integrationLatency: '$context.integration.latency',
      });
      const logGroupId = (settings.DestinationArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      expect(template.toJSON().Resources[logGroupId]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
      });
    });

    it('sets the account role API Gateway needs to write logs, unless told not to', () => {
      template.resourceCountIs('AWS::ApiGateway::Account', 1);

      const { template: without } = synth({ ...PROPS, apiGatewayCloudWatchRole: false });

      without.resourceCountIs('AWS::ApiGateway::Account', 0);
    });
  });

  describe('table', () => {
    it('has the keys, TTL attribute and indexes of TABLE', () => {
      const indexes = Object.values(TABLE.indexes);
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
        ],
        TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
        GlobalSecondaryIndexes: indexes.map((index) => ({
          IndexName: index.indexName,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] },
        })),
      });
    });

    it('is on-demand, encrypted, point-in-time recoverable and retained by default', () => {
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          BillingMode: 'PAY_PER_REQUEST',
          SSESpecification: { SSEEnabled: true },
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      });
    });
  });

  describe('functions', () => {
    it.each(Object.keys(HANDLERS) as HandlerName[])(
      '%s runs Node.js 24 on arm64 with its memory and timeout',
      (name) => {
        const [, fn] = functionOf(template, name);

        expect(fn.Properties).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          MemorySize: HANDLERS[name].memorySize,
          Timeout: HANDLERS[name].timeoutSeconds,
          TracingConfig: { Mode: 'Active' },
        });
      },
    );

    it('route handlers time out before API Gateway does', () => {
      const routeHandlers = new Set(Object.values(ROUTES).map((route) => route.handler));
      for (const name of [...routeHandlers, 'authorizer' as const]) {
        const [, fn] = functionOf(template, name);
        expect(fn.Properties.Timeout).toBeLessThan(API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS);
      }
    });

    it.each(Object.keys(HANDLERS) as HandlerName[])('%s logs JSON to its own log group with retention', (name) => {
      const [, fn] = functionOf(template, name);
      const logging = fn.Properties.LoggingConfig as { LogFormat: string; LogGroup: { Ref: string } };

      expect(logging.LogFormat).toBe('JSON');
      expect(template.toJSON().Resources[logging.LogGroup.Ref]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
      });
    });

    it('keeps logs as long as it is told', () => {
      const { template: custom } = synth({ ...PROPS, logRetention: RetentionDays.ONE_WEEK });

      const groups = Object.values(custom.findResources('AWS::Logs::LogGroup') as Record<string, Resource>);
      expect(groups.length).toBeGreaterThan(Object.keys(HANDLERS).length);
      for (const group of groups) expect(group.Properties.RetentionInDays).toBe(7);
    });

    it.each(Object.keys(HANDLERS) as HandlerName[])('%s gets the table, callback URL and auth settings', (name) => {
      const [, fn] = functionOf(template, name);
      const [tableId] = only(template.findResources('AWS::DynamoDB::Table') as Record<string, Resource>);
      const [apiId] = only(template.findResources('AWS::ApiGatewayV2::Api') as Record<string, Resource>);
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

      expect(variables[ENV.tableName]).toEqual({ Ref: tableId });
      expect(JSON.stringify(variables[ENV.callbackUrl])).toMatch(/"https:\/\/"/);
      expect(JSON.stringify(variables[ENV.callbackUrl])).toContain(`{"Ref":"${apiId}"}`);
      expect(JSON.stringify(variables[ENV.callbackUrl])).toContain('/prod');
      expect(JSON.parse(variables[ENV.auth] as string)).toEqual(PROPS.auth);
      expect(JSON.parse(variables[ENV.allowedOrigins] as string)).toEqual(PROPS.allowedOrigins);
    });

    it('runs Node with source maps only when asked, since parsing them slows every cold start', () => {
      const { template: withMaps } = synth({ ...PROPS, sourceMaps: true });

      for (const name of Object.keys(HANDLERS) as HandlerName[]) {
        const variablesOf = (t: Template) =>
          (functionOf(t, name)[1].Properties.Environment as { Variables: Record<string, string> }).Variables;
        expect(variablesOf(template).NODE_OPTIONS).toBeUndefined();
        expect(variablesOf(withMaps).NODE_OPTIONS).toBe('--enable-source-maps');
      }
    });

    it('passes an explicitly disabled Origin check on as null', () => {
      const { template: custom } = synth({ ...PROPS, allowedOrigins: null });

      const [, fn] = functionOf(custom, 'authorizer');
      const variables = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
      expect(variables[ENV.allowedOrigins]).toBe('null');
    });
  });

  describe('permissions', () => {
    it('never allows ManageConnections on *, only on this API stage', () => {
      const policies = Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Resource>);
      const statements = policies
        .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
        .filter((statement) => actionsOf(statement).some((action) => action.startsWith('execute-api:')));
      const [apiId] = only(template.findResources('AWS::ApiGatewayV2::Api') as Record<string, Resource>);

      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) {
        expect(actionsOf(statement)).toEqual(['execute-api:ManageConnections']);
        for (const resource of resourcesOf(statement)) {
          expect(resource).not.toBe('*');
          expect(JSON.stringify(resource)).toContain(`{"Ref":"${apiId}"}`);
          expect(JSON.stringify(resource)).toContain('/prod/*/@connections/*');
        }
      }
    });

    it('lets the default and publish handlers send, and no other', () => {
      const senders = (Object.keys(HANDLERS) as HandlerName[]).filter((name) =>
        statementsOf(template, name).some((s) => actionsOf(s).includes('execute-api:ManageConnections')),
      );

      expect(senders.sort()).toEqual(['default', 'publish']);
    });

    it('grants table access only on this table and its indexes, and none to the authorizer', () => {
      const [tableId] = only(template.findResources('AWS::DynamoDB::Table') as Record<string, Resource>);
      const tableArn = { 'Fn::GetAtt': [tableId, 'Arn'] };

      for (const name of Object.keys(HANDLERS) as HandlerName[]) {
        const dynamo = statementsOf(template, name).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
        if (name === 'authorizer') {
          expect(dynamo).toEqual([]);
          continue;
        }
        expect(dynamo.length).toBeGreaterThan(0);
        for (const statement of dynamo) {
          expect(resourcesOf(statement)).toEqual([tableArn, { 'Fn::Join': ['', [tableArn, '/index/*']] }]);
        }
      }
    });

    it.each([
      ['connect', ['dynamodb:PutItem']],
      ['disconnect', ['dynamodb:BatchWriteItem', 'dynamodb:Query']],
      ['default', ['dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:Query']],
      ['publish', ['dynamodb:BatchWriteItem', 'dynamodb:Query']],
    ] as const)('grants the %s handler only the DynamoDB actions its store calls, never Scan', (name, expected) => {
      const actions = statementsOf(template, name)
        .flatMap(actionsOf)
        .filter((action) => action.startsWith('dynamodb:'));

      expect([...new Set(actions)].sort()).toEqual(expected);
    });

    it('gives the authorizer nothing but its own logs and traces', () => {
      const [, fn] = functionOf(template, 'authorizer');
      const logGroupId = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;

      const actions = statementsOf(template, 'authorizer').flatMap(actionsOf);

      expect(actions.sort()).toEqual(
        ['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'].sort(),
      );
      const logs = statementsOf(template, 'authorizer').find((s) => actionsOf(s).includes('logs:PutLogEvents'));
      expect(logs?.Resource).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
    });

    it('attaches no managed policy to the function roles', () => {
      for (const name of Object.keys(HANDLERS) as HandlerName[]) {
        const [, fn] = functionOf(template, name);
        const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
        expect(template.toJSON().Resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
      }
    });

    it('grantPublish allows invoking the publish function and nothing else', () => {
      const stack = newStack();
      const switchboard = new Switchboard(stack, 'Switchboard', PROPS);
      const producer = new iam.Role(stack, 'Producer', { assumedBy: new iam.AccountRootPrincipal() });

      switchboard.grantPublish(producer);

      const synthesized = Template.fromStack(stack);
      const [publishId] = functionOf(synthesized, 'publish');
      const [, policy] = only(
        synthesized.findResources('AWS::IAM::Policy', {
          Properties: { Roles: [{ Ref: stack.getLogicalId(producer.node.defaultChild as iam.CfnRole) }] },
        }) as Record<string, Resource>,
      );
      const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
      expect(statements).toHaveLength(1);
      expect(actionsOf(statements[0] as Statement)).toEqual(['lambda:InvokeFunction']);
      const resources = resourcesOf(statements[0] as Statement);
      expect(resources).toContainEqual({ 'Fn::GetAtt': [publishId, 'Arn'] });
      for (const resource of resources) {
        expect(resource).not.toBe('*');
        expect(JSON.stringify(resource)).toContain(`"${publishId}"`);
      }
    });
  });

  it('exposes the publish function, API, stage and table it created', () => {
    expect(switchboard.publishFunction).toBe(switchboard.functions.publish);
    expect(stack.resolve(switchboard.stage.stageName)).toBe('prod');
    expect(stack.resolve(switchboard.table.tableName)).toEqual({
      Ref: stack.getLogicalId(switchboard.table.node.defaultChild as CfnElement),
    });
    expect(stack.resolve(switchboard.webSocketApi.apiId)).toEqual({
      Ref: stack.getLogicalId(switchboard.webSocketApi.node.defaultChild as CfnElement),
    });
  });

  describe('props validation', () => {
    const build = (props: Partial<SwitchboardProps>) => () =>
      new Switchboard(newStack(), 'Switchboard', { ...PROPS, ...props } as SwitchboardProps);

    it('rejects a malformed user pool id, naming the value and the expected form', () => {
      expect(build({ auth: { ...PROPS.auth, userPoolId: 'not-a-pool' } as SwitchboardProps['auth'] })).toThrow(
        /auth\.userPoolId.*eu-west-1_AbC123/,
      );
      expect(build({ auth: { ...PROPS.auth, userPoolId: 'not-a-pool' } as SwitchboardProps['auth'] })).toThrow(
        /not-a-pool/,
      );
    });

    it('rejects an OIDC issuer that is not a URL', () => {
      expect(
        build({ auth: { type: 'oidc', issuer: 'example', audience: 'a', jwksUri: 'https://example.com/jwks.json' } }),
      ).toThrow(/auth\.issuer/);
    });

    it('accepts a user pool id that is only known at deploy time', () => {
      const stack = newStack();
      const userPoolId = new iam.Role(stack, 'Stand-in', { assumedBy: new iam.AccountRootPrincipal() }).roleName;

      expect(
        () =>
          new Switchboard(stack, 'Switchboard', { ...PROPS, auth: { ...PROPS.auth, userPoolId } as typeof PROPS.auth }),
      ).not.toThrow();
    });

    it('requires allowedOrigins, explaining how to switch the check off', () => {
      expect(build({ allowedOrigins: undefined })).toThrow(
        /allowedOrigins is required.*null to switch the Origin check off/,
      );
    });

    it('rejects an empty allowedOrigins list', () => {
      expect(build({ allowedOrigins: [] })).toThrow(/expected a non-empty array/);
    });

    it.each(['*', 'https://app.example.com/', 'app.example.com', 'https://app.example.com/path', 'wss://x.example'])(
      'rejects the allowed origin %s',
      (origin) => {
        expect(build({ allowedOrigins: [origin] })).toThrow(/expected scheme:\/\/host\[:port\]/);
      },
    );

    it('rejects a stage name API Gateway would not accept', () => {
      expect(build({ stageName: 'prod stage' })).toThrow(/stageName "prod stage"/);
    });

    it('rejects throttling that is not positive', () => {
      expect(build({ throttle: { rateLimit: 0 } })).toThrow(/throttle\.rateLimit 0/);
      expect(build({ throttle: { burstLimit: 1.5 } })).toThrow(/throttle\.burstLimit 1\.5/);
    });

    it('rejects a log retention CloudWatch Logs does not offer, and keeping logs forever', () => {
      expect(build({ logRetention: 8 as RetentionDays })).toThrow(/logRetention 8/);
      expect(build({ logRetention: RetentionDays.INFINITE })).toThrow(/logRetention INFINITE/);
    });

    it('rejects handler settings the handlers would refuse at start', () => {
      expect(build({ fanoutConcurrency: 0 })).toThrow(/fanoutConcurrency/);
      expect(build({ roomsClaim: '' })).toThrow(/roomsClaim/);
    });
  });
});
