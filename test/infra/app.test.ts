import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { readConfig, STAGES, TARGETS } from '../../infra/config.ts';
import { synth } from './synth.ts';

describe('the CDK app', () => {
  for (const target of TARGETS) {
    for (const stage of STAGES) {
      it(`synthesizes for target=${target} stage=${stage} with no unacknowledged cdk-nag finding`, () => {
        const { app } = synth(target, stage);
        const stacks = app.synth().stacks.map((s) => s.stackName);
        // The ETL stack (Glue, Athena, Step Functions) is not deployed to LocalStack's free tier.
        const etl = target === 'localstack' ? [] : ['Etl'];
        // The web console's bucket and distribution exist on AWS only (the local cloud serves it itself).
        const web = target === 'aws' ? ['Web'] : [];
        expect(stacks).toEqual(
          ['Data', 'Database', 'Events', ...web, ...etl, 'Services', 'Observability'].map(
            (part) => `Shop-${stage}-${part}`,
          ),
        );
      });
    }
  }

  it('fails the synth on a cdk-nag finding nobody acknowledged', () => {
    const { app } = synth('aws', 'dev');
    // A bucket without TLS enforcement or access logs: AwsSolutions-S1 and -S10.
    new s3.Bucket(new Stack(app, 'Careless'), 'Open');
    expect(() => app.synth({ force: true })).toThrow(/AwsSolutions-S(1|10)/);
  });

  it('rejects an unknown target or stage, naming the allowed values', () => {
    expect(() => readConfig(new App({ context: { target: 'gcp' } }))).toThrow(
      /Context "target" must be one of "aws", "localstack", "local"; got "gcp"/,
    );
    expect(() => readConfig(new App({ context: { stage: 'qa' } }))).toThrow(/Context "stage" must be one of/);
    expect(readConfig(new App())).toEqual({
      target: 'aws',
      stage: 'dev',
      prefix: 'Shop-dev',
      auth: 'cognito',
      architecture: 'arm64',
    });
    expect(readConfig(new App({ context: { target: 'local' } })).auth).toBe('authorizer');
    expect(readConfig(new App({ context: { target: 'local', auth: 'middleware' } })).auth).toBe('middleware');
    expect(() => readConfig(new App({ context: { target: 'localstack', auth: 'cognito' } }))).toThrow(
      /"auth" is "cognito" on target=aws and only there/,
    );
  });
});
