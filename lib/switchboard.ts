import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { AccessLogFormat, CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnAuthorizer,
  type IWebSocketRouteAuthorizer,
  LogGroupLogDestination,
  WebSocketApi,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AuthSettings, HandlerSettings, toEnvironment } from '../lambdas/core/config.js';
import { HANDLERS, type HandlerName, ROUTE_SELECTION_EXPRESSION, ROUTES } from '../lambdas/core/routes.js';
import { TABLE } from '../lambdas/core/table.js';
import { HANDLER_BUNDLING } from './bundling.js';

/** The repository root: handler entries in HANDLERS are relative to it. */
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Route throttling of the stage, applied to every route. */
export interface SwitchboardThrottle {
  /**
   * Steady-state requests (connects and frames) per second, per route.
   * @default 1000
   */
  readonly rateLimit?: number;
  /**
   * Bucket size: requests that may arrive at once, per route.
   * @default 2000
   */
  readonly burstLimit?: number;
}

/** Properties of a `Switchboard`. */
export interface SwitchboardProps {
  /**
   * How the `$connect` authorizer verifies tokens: a Cognito user pool or any OIDC issuer.
   *
   * Required: a WebSocket API that anyone can connect to is never the default.
   */
  readonly auth: AuthSettings;

  /**
   * Origins allowed to open a connection, such as `https://app.example.com` (scheme, host and port; no path,
   * no `*`). Browsers always send `Origin`, so this is what stops another site from opening sockets with a
   * user's token. Non-browser clients that send no `Origin` are not affected.
   *
   * Required: pass `null` to switch the check off, which must be a deliberate choice.
   */
  readonly allowedOrigins: readonly string[] | null;

  /**
   * Name of the WebSocket stage; it is the last path segment of the `wss://` URL.
   * @default 'prod'
   */
  readonly stageName?: string;

  /**
   * Default route throttling of the stage.
   * @default - 1000 requests per second with a burst of 2000, per route
   */
  readonly throttle?: SwitchboardThrottle;

  /**
   * How long Lambda and access logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;

  /**
   * What happens to the table and the log groups when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * JWT claims, besides `sub`, that the authorizer copies into the connection's context.
   * @default - only `sub`
   */
  readonly forwardClaims?: readonly string[];

  /**
   * JWT claim listing the rooms (or `prefix:*` patterns) an identity may join beyond `public:*` and its own.
   * @default 'rooms'
   */
  readonly roomsClaim?: string;

  /**
   * Parallel `postToConnection` calls in one fan-out.
   * @default 64
   */
  readonly fanoutConcurrency?: number;

  /**
   * Whether stack traces in the logs point at the TypeScript sources: bundles a source map with each handler
   * and runs Node with `--enable-source-maps`.
   *
   * Off by default because Node then reads and parses the map (about 1 MB per handler) when the module loads:
   * measured on Node 20, about 20 ms (25 %) more module load time, paid on every cold start.
   * @default false
   */
  readonly sourceMaps?: boolean;

  /**
   * Whether to set the role API Gateway uses to write logs in this account and region.
   *
   * API Gateway refuses to deploy a WebSocket stage with access logging until the account has such a role.
   * It is one setting per account and region: turn this off when another stack already manages it.
   * @default true
   */
  readonly apiGatewayCloudWatchRole?: boolean;
}

/**
 * What a handler needs besides writing its own logs: the DynamoDB actions its store calls (never Scan, and
 * nothing it does not call), and whether it posts to connections.
 */
const ACCESS: Readonly<Record<HandlerName, { table: readonly string[]; manageConnections: boolean }>> = {
  // The authorizer only verifies tokens: it touches no data and sends nothing.
  authorizer: { table: [], manageConnections: false },
  // API Gateway does not accept posts to a connection before `$connect` has returned.
  connect: { table: ['dynamodb:PutItem'], manageConnections: false },
  // The connection is already gone when `$disconnect` runs. One Query finds its items, BatchWriteItem deletes them.
  disconnect: { table: ['dynamodb:Query', 'dynamodb:BatchWriteItem'], manageConnections: false },
  // Membership check (GetItem), room reads (Query), join and leave, and pruning gone connections (BatchWriteItem).
  default: { table: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'], manageConnections: true },
  // Target reads (Query on the table and its indexes) and pruning gone connections (BatchWriteItem).
  publish: { table: ['dynamodb:Query', 'dynamodb:BatchWriteItem'], manageConnections: true },
};

const DEFAULT_THROTTLE = { rateLimit: 1000, burstLimit: 2000 } as const;

/**
 * A serverless real-time messaging backend: an API Gateway WebSocket API whose `$connect` is guarded by a JWT
 * authorizer, Lambda handlers for the wire protocol, a DynamoDB table of connections and room memberships, and a
 * publish function that backend services invoke to notify users, rooms, connections or everyone.
 */
export class Switchboard extends Construct {
  /** The function backend services invoke to deliver notifications. Grant access with `grantPublish`. */
  public readonly publishFunction: NodejsFunction;
  /** Every handler function, by name. */
  public readonly functions: Readonly<Record<HandlerName, NodejsFunction>>;
  /** The WebSocket API; its routes are those of ROUTES in lambdas/core/routes.ts. */
  public readonly webSocketApi: WebSocketApi;
  /** The stage clients connect to (`stage.url`) and handlers post through (`stage.callbackUrl`). */
  public readonly stage: WebSocketStage;
  /** Connections and room memberships. */
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: SwitchboardProps) {
    super(scope, id);
    validateProps(props);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const stageName = props.stageName ?? 'prod';

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy,
    });
    for (const index of Object.values(TABLE.indexes)) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...index.nonKeyAttributes],
      });
    }

    this.webSocketApi = new WebSocketApi(this, 'Api', {
      description: 'switchboard: real-time messaging',
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName,
      autoDeploy: true,
      throttle: { ...DEFAULT_THROTTLE, ...props.throttle },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: ACCESS_LOG_FORMAT },
    });
    if (props.apiGatewayCloudWatchRole ?? true) this.setApiGatewayLogsRole();

    const environment = toEnvironment({
      tableName: this.table.tableName,
      callbackUrl: this.stage.callbackUrl,
      auth: props.auth,
      allowedOrigins: props.allowedOrigins === null ? null : [...props.allowedOrigins],
      forwardClaims: props.forwardClaims ? [...props.forwardClaims] : undefined,
      roomsClaim: props.roomsClaim,
      fanoutConcurrency: props.fanoutConcurrency,
    });

    const functions = {} as Record<HandlerName, NodejsFunction>;
    for (const name of Object.keys(HANDLERS) as HandlerName[]) {
      functions[name] = this.createHandler(name, {
        environment,
        logRetention,
        removalPolicy,
        sourceMaps: props.sourceMaps ?? false,
      });
    }
    this.functions = functions;
    this.publishFunction = functions.publish;

    for (const [name, fn] of Object.entries(functions) as [HandlerName, NodejsFunction][]) {
      if (ACCESS[name].table.length > 0) this.table.grant(fn, ...ACCESS[name].table);
      if (ACCESS[name].manageConnections) this.stage.grantManagementApiAccess(fn);
    }

    const authorizer = this.createAuthorizer(functions.authorizer);
    for (const [routeKey, route] of Object.entries(ROUTES)) {
      const webSocketRoute = this.webSocketApi.addRoute(routeKey, {
        integration: new WebSocketLambdaIntegration(`${route.handler}-integration`, functions[route.handler]),
        authorizer: route.authorized ? authorizer : undefined,
        returnResponse: route.returnResponse,
      });
      if (!route.authorized) {
        Validations.of(webSocketRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'API Gateway accepts an authorizer on $connect only. Every later frame travels on a connection ' +
            'that $connect authorized, and the handlers read the identity from its authorizer context.',
        });
      }
    }
    this.omitIdentitySource();

    this.acknowledgeChecks();
  }

  /** Lets `grantee` invoke the publish function, and nothing else. */
  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    return this.publishFunction.grantInvoke(grantee);
  }

  private createHandler(
    name: HandlerName,
    options: {
      environment: Record<string, string>;
      logRetention: RetentionDays;
      removalPolicy: RemovalPolicy;
      sourceMaps: boolean;
    },
  ): NodejsFunction {
    const handler = HANDLERS[name];
    // Not `Default`: CDK hides a construct with that id from paths and logical ids.
    const scope = new Construct(this, `${pascalCase(name)}Handler`);
    const logGroup = new LogGroup(scope, 'Logs', {
      retention: options.logRetention,
      removalPolicy: options.removalPolicy,
    });
    // An explicit role that may write only to this function's log group, instead of the managed
    // AWSLambdaBasicExecutionRole, which allows writing to every log group in the account.
    const role = new iam.Role(scope, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `switchboard ${name} handler`,
    });
    logGroup.grantWrite(role);

    return new NodejsFunction(scope, 'Function', {
      entry: path.join(REPO_ROOT, handler.entry),
      description: handler.description,
      memorySize: handler.memorySize,
      timeout: Duration.seconds(handler.timeoutSeconds),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      tracing: Tracing.ACTIVE,
      environment: {
        ...options.environment,
        ...(options.sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      },
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      bundling: {
        forceDockerBundling: false,
        target: HANDLER_BUNDLING.target,
        minify: HANDLER_BUNDLING.minify,
        sourceMap: options.sourceMaps,
        sourcesContent: HANDLER_BUNDLING.sourcesContent,
        format: OutputFormat.ESM,
        mainFields: [...HANDLER_BUNDLING.mainFields],
        banner: HANDLER_BUNDLING.banner,
        bundleAwsSDK: true,
        externalModules: [...HANDLER_BUNDLING.externalModules],
      },
    });
  }

  private createAuthorizer(handler: NodejsFunction): IWebSocketRouteAuthorizer {
    // The token may arrive in a header or in the query string (browsers cannot set headers on a WebSocket).
    // With an identity source, API Gateway answers 401 itself unless every listed source is present, so the
    // authorizer would never see the other form. Without one (it is optional for REQUEST authorizers),
    // API Gateway calls the authorizer on every `$connect`.
    return new WebSocketLambdaAuthorizer('Authorizer', handler, { identitySource: [] });
  }

  /** Leaves the optional IdentitySource out of the template rather than sending CloudFormation an empty list. */
  private omitIdentitySource(): void {
    for (const child of this.webSocketApi.node.findAll()) {
      if (child instanceof CfnAuthorizer) child.addPropertyDeletionOverride('IdentitySource');
    }
  }

  private setApiGatewayLogsRole(): void {
    const role = new iam.Role(this, 'ApiGatewayLogsRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    // The account setting outlives this stack; so must the role it points to.
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const account = new CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    this.stage.node.addDependency(account);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'The AWS managed policy API Gateway documents for its account-level logging role; API Gateway picks ' +
        'the log group names itself, so they cannot be listed in advance.',
    });
  }

  /** Acknowledges the cdk-nag findings that do not apply here, each with its reason, on the narrowest scope. */
  private acknowledgeChecks(): void {
    const stack = Stack.of(this);
    for (const [name, fn] of Object.entries(this.functions) as [HandlerName, NodejsFunction][]) {
      const role = fn.role as iam.Role;
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.',
      });
      if (ACCESS[name].manageConnections) {
        // The very ARN grantManagementApiAccess writes.
        const connections = `${stack.formatArn({ service: 'execute-api', resource: this.webSocketApi.apiId })}/${this.stage.stageName}/*/@connections/*`;
        Validations.of(role).acknowledge({
          id: wildcardResourceFinding(stack, connections),
          reason:
            'ManageConnections on the connections of this API stage only (grantManagementApiAccess): connection ' +
            'ids exist only at run time.',
        });
      }
      if (ACCESS[name].table.length > 0) {
        Validations.of(role).acknowledge({
          id: wildcardResourceFinding(stack, `${this.table.tableArn}/index/*`),
          reason: 'Queries on the byUser and byShard indexes of this table; Table.grant scopes it to them.',
        });
      }
      const synchronous =
        name === 'publish'
          ? 'Producers invoke publish synchronously and receive the delivery report (failures are counted in ' +
            'it), so there is no asynchronous event to dead-letter.'
          : 'API Gateway invokes this function synchronously and answers the client with its result; there is ' +
            'no asynchronous event to dead-letter or retry.';
      Validations.of(fn).acknowledge(
        { id: 'Serverless-LambdaDLQ', reason: synchronous },
        { id: 'Serverless-LambdaAsyncFailureDestination', reason: synchronous },
      );
    }
  }
}

/** JSON access log lines, one per connect, frame and disconnect. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    extendedRequestId: '$context.extendedRequestId',
    connectionId: '$context.connectionId',
    eventType: '$context.eventType',
    routeKey: '$context.routeKey',
    status: '$context.status',
    requestTime: '$context.requestTimeEpoch',
    sourceIp: '$context.identity.sourceIp',
    principalId: '$context.authorizer.principalId',
    authorizerError: '$context.authorizer.error',
    authorizeStatus: '$context.authorize.status',
    error: '$context.error.message',
    integrationError: '$context.integration.error',
    integrationStatus: '$context.integration.status',
    integrationLatency: '$context.integration.latency',
  }),
);

/**
 * The id cdk-nag gives a wildcard resource finding: the resolved ARN with each reference written `<Logical.Attr>`.
 * Built from the same ARN as the grant, so it stays right whether or not the stack's region and account are known.
 */
function wildcardResourceFinding(stack: Stack, arn: string): string {
  const flatten = (node: unknown): string => {
    if (typeof node === 'string') return node;
    const ref = node as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] };
    if (ref.Ref !== undefined) return `<${ref.Ref}>`;
    if (ref['Fn::GetAtt']) return `<${ref['Fn::GetAtt'].join('.')}>`;
    if (ref['Fn::Join']) return ref['Fn::Join'][1].map(flatten).join(ref['Fn::Join'][0]);
    throw new Error(`Cannot name the cdk-nag finding for ${JSON.stringify(node)}`);
  };
  return `AwsSolutions-IAM5[Resource::${flatten(stack.resolve(arn))}]`;
}

function pascalCase(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** Props are checked before any resource is created, so a mistake names the value and what was expected. */
function validateProps(props: SwitchboardProps): void {
  const auth = AuthSettings.safeParse(props.auth);
  if (!auth.success) {
    // Values from other constructs (a UserPool's id, say) are tokens until deploy time; they cannot be checked.
    const issues = auth.error.issues.filter((issue) => !Token.isUnresolved(valueAt(props.auth, issue.path)));
    if (issues.length > 0) {
      const problems = issues.map((i) => `${['auth', ...i.path].join('.')}: ${i.message}`).join('; ');
      throw new Error(`Invalid Switchboard auth ${JSON.stringify(props.auth)}: ${problems}`);
    }
  }

  if (props.allowedOrigins === undefined) {
    throw new Error(
      'Switchboard allowedOrigins is required: give the origins allowed to connect, such as ' +
        "['https://app.example.com'], or null to switch the Origin check off",
    );
  }
  if (props.allowedOrigins !== null) {
    if (!Array.isArray(props.allowedOrigins) || props.allowedOrigins.length === 0) {
      throw new Error(
        `Invalid Switchboard allowedOrigins ${JSON.stringify(props.allowedOrigins)}: expected a non-empty array ` +
          'of origins, or null to switch the Origin check off',
      );
    }
    for (const origin of props.allowedOrigins) {
      if (Token.isUnresolved(origin)) continue;
      if (!isOrigin(origin)) {
        throw new Error(
          `Invalid Switchboard allowed origin ${JSON.stringify(origin)}: expected scheme://host[:port] such as ` +
            "'https://app.example.com', without path, trailing slash or wildcard",
        );
      }
    }
  }

  const settings = HandlerSettings.safeParse({
    tableName: 'validated',
    forwardClaims: props.forwardClaims,
    roomsClaim: props.roomsClaim,
    fanoutConcurrency: props.fanoutConcurrency,
  });
  if (!settings.success) {
    const problems = settings.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid Switchboard props: ${problems}`);
  }

  if (props.stageName !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(props.stageName)) {
    throw new Error(
      `Invalid Switchboard stageName ${JSON.stringify(props.stageName)}: expected 1-128 characters of A-Z a-z 0-9 _ -`,
    );
  }

  const { rateLimit, burstLimit } = props.throttle ?? {};
  if (rateLimit !== undefined && !(Number.isFinite(rateLimit) && rateLimit > 0)) {
    throw new Error(
      `Invalid Switchboard throttle.rateLimit ${rateLimit}: expected a number of requests per second > 0`,
    );
  }
  if (burstLimit !== undefined && !(Number.isInteger(burstLimit) && burstLimit > 0)) {
    throw new Error(`Invalid Switchboard throttle.burstLimit ${burstLimit}: expected an integer > 0`);
  }

  if (props.logRetention !== undefined && !Object.values(RetentionDays).includes(props.logRetention)) {
    throw new Error(
      `Invalid Switchboard logRetention ${props.logRetention}: expected a RetentionDays value (days CloudWatch ` +
        'Logs accepts, such as 7, 30 or 365)',
    );
  }
  if (props.logRetention === RetentionDays.INFINITE) {
    throw new Error('Invalid Switchboard logRetention INFINITE: logs may hold user ids; give a retention in days');
  }
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

function valueAt(root: unknown, keys: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of keys) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
