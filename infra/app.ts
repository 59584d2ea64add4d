#!/usr/bin/env node
/**
 * CDK entry point. Context:
 *   -c target=aws|localstack|local   (default aws)
 *   -c stage=dev|prod                 (default dev)
 */
import { App } from 'aws-cdk-lib';
import { readConfig } from './config.ts';
import { buildShop } from './shop.ts';

const app = new App();
buildShop(app, readConfig(app));
app.synth();
