import { Annotations, type App } from 'aws-cdk-lib';
import { addNagChecks } from './checks.js';
import { settingsFromContext } from './context.js';
import { SwitchboardStack } from './switchboard-stack.js';

/**
 * Builds the switchboard app from its context: the stack and the cdk-nag checks. The entry point in bin/ and
 * the tests share it, so the tests check the very app that is deployed.
 */
export function buildApp(app: App): SwitchboardStack {
  const settings = settingsFromContext(app.node);
  const stack = new SwitchboardStack(app, 'Switchboard', {
    stackName: settings.stackName,
    description: 'switchboard: serverless real-time messaging over API Gateway WebSockets',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    switchboard: settings.switchboard,
  });
  if (settings.placeholders.length > 0) {
    const message =
      `No ${settings.placeholders.join(' or ')} in the CDK context: using EXAMPLE PLACEHOLDER values, with ` +
      'which the deployed API refuses every connection. Give real settings with -c or in cdk.json ' +
      '(see docs/deploy.md).';
    // stderr, so it shows even with `cdk synth -q`; the annotation keeps it in the cloud assembly.
    console.warn(`[switchboard] WARNING: ${message}`);
    Annotations.of(stack).addWarningV2('switchboard:placeholderSettings', message);
  }
  addNagChecks(app);
  return stack;
}
