#!/usr/bin/env node
/**
 * CDK entry point. Context:
 *   -c target=aws|localstack|local   (default aws)
 *   -c stage=dev|prod                 (default dev)
 */
import { prebuildAll } from './constructs/bundles.ts';

// The functions' bundles build in esbuild's process while aws-cdk-lib and the stacks load here.
const bundles = prebuildAll();
const [{ App }, { readConfig }, { buildShop }] = await Promise.all([
  import('aws-cdk-lib'),
  import('./config.ts'),
  import('./shop.ts'),
]);
await bundles;
const app = new App();
buildShop(app, readConfig(app));
app.synth();
