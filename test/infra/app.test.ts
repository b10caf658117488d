import { App, type CfnElement, type Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../lambdas/core/config.js';
import { HANDLERS } from '../../lambdas/core/routes.js';
import { buildApp } from '../../lib/app.js';
import { nagPacks } from '../../lib/checks.js';
import { ContextError, PLACEHOLDER_AUTH, settingsFromContext } from '../../lib/context.js';
import type { SwitchboardStack } from '../../lib/switchboard-stack.js';

const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

const COGNITO = { type: 'cognito', userPoolId: 'eu-west-1_AbC123', clientId: 'client-1', tokenUse: 'access' };

function appWith(context: Record<string, unknown>): App {
  return new App({ context: { ...SKIP_BUNDLING, ...context } });
}

/** Every acknowledgment recorded in the tree below `root`, as [construct path, rule id, reason]. */
function acknowledgments(root: IConstruct): [string, string, unknown][] {
  return root.node
    .findAll()
    .flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.entries(entry.data as Record<string, unknown>).map(
            ([id, reason]) => [construct.node.path, id, reason] as [string, string, unknown],
          ),
        ),
    );
}

describe('the switchboard app', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  describe('with real settings', () => {
    let app: App;
    let stack: SwitchboardStack;
    let template: Template;

    beforeAll(() => {
      vi.spyOn(console, 'warn').mockImplementation(() => {});
      app = appWith({ auth: JSON.stringify(COGNITO), allowedOrigins: 'https://a.example.com,https://b.example.com' });
      stack = buildApp(app);
      template = Template.fromStack(stack);
    });

    it('passes the AwsSolutions and Serverless packs with no unacknowledged finding', () => {
      // Act: the packs are registered as validation plugins, so a finding would fail the synth itself.
      const synth = () => app.synth();

      expect(synth).not.toThrow();
      for (const pack of nagPacks(app)) {
        const report = pack.validateScope(app);
        expect(report.violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
      }
    });

    it('gives every acknowledged finding a reason', () => {
      const acknowledged = acknowledgments(app);

      expect(acknowledged.length).toBeGreaterThan(0);
      for (const [path, id, reason] of acknowledged) {
        expect(typeof reason, `${path} ${id}`).toBe('string');
        expect((reason as string).trim().length, `${path} ${id}`).toBeGreaterThan(20);
      }
    });

    it('acknowledges findings on single resources, never on the app or the stack', () => {
      const scopes = new Set(acknowledgments(app).map(([path]) => path));

      expect(scopes.has(app.node.path)).toBe(false);
      expect(scopes.has(stack.node.path)).toBe(false);
      expect(scopes.has(stack.switchboard.node.path)).toBe(false);
    });

    it('outputs the wss:// URL, the publish function ARN and name, and the table name', () => {
      const outputs = template.findOutputs('*');

      expect(JSON.stringify(outputs.WebSocketUrl?.Value)).toMatch(/^\{"Fn::Join":\["",\["wss:\/\//);
      expect(outputs.PublishFunctionArn?.Value).toEqual({
        'Fn::GetAtt': [
          stack.getLogicalId(stack.switchboard.publishFunction.node.defaultChild as lambda.CfnFunction),
          'Arn',
        ],
      });
      expect(outputs.PublishFunctionName?.Value).toEqual({
        Ref: stack.getLogicalId(stack.switchboard.publishFunction.node.defaultChild as lambda.CfnFunction),
      });
      expect(outputs.TableName?.Value).toEqual({
        Ref: stack.getLogicalId(stack.switchboard.table.node.defaultChild as CfnElement),
      });
    });

    it('hands the context settings to the handlers', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: HANDLERS.authorizer.description,
        Environment: {
          Variables: Match.objectLike({
            [ENV.auth]: JSON.stringify(COGNITO),
            [ENV.allowedOrigins]: JSON.stringify(['https://a.example.com', 'https://b.example.com']),
          }),
        },
      });
    });

    it('reports no placeholder settings', () => {
      Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('PLACEHOLDER'));
    });
  });

  it('passes the packs in a stack bound to an account and region, as `cdk synth` with a region makes it', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.stubEnv('CDK_DEFAULT_ACCOUNT', '123456789012');
    vi.stubEnv('CDK_DEFAULT_REGION', 'eu-west-1');
    const app = appWith({ auth: JSON.stringify(COGNITO), allowedOrigins: 'https://a.example.com' });

    const stack = buildApp(app);

    // ARNs now hold literal partition, region and account, so the findings have other names.
    expect(stack.region).toBe('eu-west-1');
    expect(() => app.synth()).not.toThrow();
    for (const pack of nagPacks(app)) {
      expect(pack.validateScope(app).violations.map((v) => v.ruleName)).toEqual([]);
    }
  });

  it('fails the synth when a resource breaks a rule and nobody acknowledged it', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const app = appWith({ auth: JSON.stringify(COGNITO), allowedOrigins: 'https://a.example.com' });
    const stack: Stack = buildApp(app);
    // No explicit memory, timeout, tracing or log retention: several Serverless rules apply.
    new lambda.Function(stack, 'Careless', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('export const handler = async () => {};'),
    });

    expect(() => app.synth()).toThrow(/Serverless-LambdaDefaultMemorySize/);
  });

  it('synthesizes without any context, on placeholders it reports', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const app = appWith({});

    const stack = buildApp(app);

    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/PLACEHOLDER.*refuses every connection/));
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('No auth or allowedOrigins'));
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Description: HANDLERS.authorizer.description,
      Environment: { Variables: Match.objectLike({ [ENV.auth]: JSON.stringify(PLACEHOLDER_AUTH) }) },
    });
  });
});

describe('settingsFromContext', () => {
  it('reads lists and objects given as JSON strings, as -c does', () => {
    const app = appWith({
      auth: '{"type":"oidc","issuer":"https://id.example.com","audience":"api","jwksUri":"https://id.example.com/jwks"}',
      allowedOrigins: '["https://app.example.com"]',
      forwardClaims: 'email, org',
      throttleRateLimit: '50',
      throttleBurstLimit: 100,
      logRetentionDays: '14',
      removalPolicy: 'destroy',
      apiGatewayCloudWatchRole: 'false',
      sourceMaps: true,
    });

    const settings = settingsFromContext(app.node);

    expect(settings.placeholders).toEqual([]);
    expect(settings.switchboard).toMatchObject({
      auth: { type: 'oidc', issuer: 'https://id.example.com', audience: 'api' },
      allowedOrigins: ['https://app.example.com'],
      forwardClaims: ['email', 'org'],
      throttle: { rateLimit: 50, burstLimit: 100 },
      logRetention: 14,
      removalPolicy: 'destroy',
      apiGatewayCloudWatchRole: false,
      sourceMaps: true,
    });
  });

  it('switches the Origin check off only when asked with null', () => {
    expect(
      settingsFromContext(appWith({ auth: COGNITO, allowedOrigins: 'null' }).node).switchboard.allowedOrigins,
    ).toBe(null);
    expect(settingsFromContext(appWith({ auth: COGNITO, allowedOrigins: null }).node).switchboard.allowedOrigins).toBe(
      null,
    );
    expect(settingsFromContext(appWith({ auth: COGNITO }).node).placeholders).toEqual(['allowedOrigins']);
  });

  it('names the key and the value it could not read', () => {
    expect(() => settingsFromContext(appWith({ auth: '{type: cognito}' }).node)).toThrow(ContextError);
    expect(() => settingsFromContext(appWith({ auth: '{type: cognito}' }).node)).toThrow(/auth must be JSON/);
    expect(() => settingsFromContext(appWith({ throttleRateLimit: 'fast' }).node)).toThrow(
      /throttleRateLimit must be a number, got "fast"/,
    );
    expect(() => settingsFromContext(appWith({ removalPolicy: 'snapshot' }).node)).toThrow(/retain" or "destroy/);
    expect(() => settingsFromContext(appWith({ allowedOrigins: { a: 1 } }).node)).toThrow(/allowedOrigins must be/);
  });

  it('lets the construct reject invalid auth from the context', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const app = appWith({ auth: { ...COGNITO, userPoolId: 'pool' }, allowedOrigins: 'https://a.example.com' });

    expect(() => buildApp(app)).toThrow(/auth\.userPoolId/);
  });
});
