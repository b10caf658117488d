import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, type NagPack, ServerlessChecks } from 'cdk-nag';

/** The cdk-nag packs every switchboard app is checked against. */
export function nagPacks(app: App): NagPack[] {
  return [new AwsSolutionsChecks(app), new ServerlessChecks(app)];
}

/**
 * Runs the packs on every synth. cdk-nag 3 is a policy validation plugin: a finding that is not acknowledged
 * (with its reason) fails the synth, and so `cdk deploy`.
 */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(...nagPacks(app));
}
