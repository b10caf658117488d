/**
 * The CDK app. Deployment settings come from CDK context: see lib/context.ts and docs/deploy.md.
 *
 *   npx cdk deploy -c auth='{"type":"cognito","userPoolId":"eu-west-1_AbC123","clientId":"…","tokenUse":"id"}' \
 *     -c allowedOrigins='["https://app.example.com"]'
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app.js';

buildApp(new App());
