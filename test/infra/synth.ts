import { readFileSync } from 'node:fs';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readConfig, type Stage, type Target } from '../../infra/config.ts';
import { buildShop, type Shop } from '../../infra/shop.ts';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

export interface Synthesized {
  app: App;
  shop: Shop;
  template: (stack: Stack) => Template;
}

/**
 * Builds the shop for a target and stage the way `cdk synth` does (cdk.json context, cdk-nag
 * validation), but without bundling the functions or the CDK's template linter, so tests stay fast
 * and offline.
 */
export function synth(
  target: Target = 'aws',
  stage: Stage = 'dev',
  extra: Record<string, unknown> = {},
): Synthesized {
  const app = new App({
    context: { ...cdkJson.context, target, stage, 'aws:cdk:bundling-stacks': [], ...extra },
    // The CDK's built-in CloudFormation linter (WebAssembly) was most of each synth's CPU time here;
    // it only reports, and `npm run synth` of every target in CI runs it on the same templates.
    builtinCloudFormationValidation: false,
  });
  const shop = buildShop(app, readConfig(app));
  app.synth();
  const templates = new Map<Stack, Template>();
  return {
    app,
    shop,
    template: (stack) => {
      let template = templates.get(stack);
      if (!template) {
        template = Template.fromStack(stack);
        templates.set(stack, template);
      }
      return template;
    },
  };
}

/** An IAM statement as it stands in a template. */
export interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** Every IAM statement attached to the role of the function whose logical id starts with `prefix`. */
export function statementsOf(template: Template, prefix: string): Statement[] {
  const functions = template.findResources('AWS::Lambda::Function');
  const fnId = Object.keys(functions).find((id) => id.startsWith(prefix));
  if (!fnId) throw new Error(`no function whose logical id starts with ${prefix}`);
  const roleId = functions[fnId]?.Properties.Role['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
