import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { synth } from './synth.ts';

describe('the cdk-nag switch of the local cloud', () => {
  it('runs the checks unless shop:nag=false, which only the local cloud sets', () => {
    const withChecks = synth('local', 'dev');
    new s3.Bucket(new Stack(withChecks.app, 'Careless'), 'Open');
    expect(() => withChecks.app.synth({ force: true })).toThrow(/AwsSolutions-S/);

    const without = synth('local', 'dev', { 'shop:nag': false });
    new s3.Bucket(new Stack(without.app, 'Careless'), 'Open');
    expect(() => without.app.synth({ force: true })).not.toThrow();
    expect(new App().node.tryGetContext('shop:nag')).toBeUndefined();
  });
});
