import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../infra/config.ts';
import { MIGRATE_FUNCTION_OUTPUT } from '../../infra/stacks/database-stack.ts';
import { ROUTES, routeKey } from '../../shared/api/routes.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../shared/auth/jwt.ts';
import { AUTH_ROUTES_ENV } from '../../shared/middleware/jwt-auth.ts';
import { synth } from './synth.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const LIST = 'localstack/community-4.14.0-cfn-resource-types.txt';

/**
 * The CloudFormation types LocalStack Community 4.14.0 can create, copied from the team's shared
 * list (`../shared/localstack/…` beside the clone: the typeName of every resource provider schema in
 * LocalStack's source at tag v4.14.0; see the file's header).
 */
const FIXTURE = path.join(ROOT, 'test/fixtures', LIST);

/**
 * Types the localstack templates contain although Community cannot create them, each with what
 * happens there and why that is acceptable. Empty today: the stacks leave such resources out on
 * target=localstack (no authorizer, no migrations custom resource, no event archive, no dashboard).
 */
const KNOWINGLY_SKIPPED: Record<string, string> = {};

const readTypes = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

/** `<clone>/../shared`, also from a git worktree (whose main checkout has the shared folder beside it). */
function sharedDir(): string | undefined {
  const candidates = [path.resolve(ROOT, '../shared')];
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    candidates.push(path.resolve(path.dirname(common), '../shared'));
  } catch {}
  return candidates.find((dir) => existsSync(path.join(dir, LIST)));
}

describe('target=localstack (LocalStack Community 4.14.0)', () => {
  const community = new Set(readTypes(FIXTURE));
  const templates = ['dev', 'prod'].flatMap((stage) =>
    synth('localstack', stage as 'dev' | 'prod')
      .app.synth()
      .stacks.map((stack) => ({
        stage,
        name: stack.stackName,
        template: stack.template as {
          Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
          Parameters?: Record<string, unknown>;
          Outputs?: Record<string, unknown>;
        },
      })),
  );
  const dev = templates.filter((t) => t.stage === 'dev');
  const resourcesOf = (stack: string, type: string) =>
    Object.values(dev.find((t) => t.name === stack)?.template.Resources ?? {}).filter((r) => r.Type === type);

  it('keeps a fixture that is the shared list when ../shared is present', () => {
    expect(community.size).toBe(102);
    const shared = sharedDir();
    if (!shared) {
      console.warn(`../shared/${LIST} not found beside the clone: checked against the fixture only`);
      return;
    }
    expect(readTypes(path.join(shared, LIST))).toEqual([...community]);
  });

  it('uses only resource types Community can create, or ones listed as knowingly skipped', () => {
    const types = new Set(templates.flatMap((t) => Object.values(t.template.Resources).map((r) => r.Type)));
    expect(types.size).toBeGreaterThan(10);
    const unsupported = [...types].filter((type) => !community.has(type)).sort();
    expect(unsupported, 'add a reason to KNOWINGLY_SKIPPED or leave the resource out').toEqual(
      Object.keys(KNOWINGLY_SKIPPED).sort(),
    );
    // The list does what it is trusted for: it rejects the types Community skips.
    for (const type of [
      'AWS::ApiGateway::Authorizer',
      'AWS::Events::Archive',
      'AWS::CloudWatch::Dashboard',
    ]) {
      expect(community.has(type), type).toBe(false);
      expect(types.has(type), type).toBe(false);
    }
    expect([...types].some((type) => type.startsWith('Custom::'))).toBe(false);
  });

  it('protects routes in the functions: no authorizer, AUTH_JWT_ROUTES naming each protected route', () => {
    const methods = resourcesOf('Shop-dev-Services', 'AWS::ApiGateway::Method');
    expect(methods.length).toBeGreaterThan(15);
    for (const method of methods) expect(method.Properties?.AuthorizationType).toBe('NONE');
    const routes = resourcesOf('Shop-dev-Services', 'AWS::Lambda::Function').flatMap((fn) => {
      const env = (fn.Properties?.Environment as { Variables?: Record<string, string> } | undefined)
        ?.Variables;
      if (!env?.[AUTH_ROUTES_ENV]) return [];
      expect(env).toMatchObject({
        JWT_PUBLIC_JWK: { Ref: 'JwtPublicJwk' },
        JWT_ISSUER: LOCAL_ISSUER,
        JWT_AUDIENCE: LOCAL_AUDIENCE,
      });
      return env[AUTH_ROUTES_ENV].split(',');
    });
    // Exactly the manifest's protected routes (the ETL ones are the Etl stack's function's, below).
    expect(routes.sort()).toEqual(
      ROUTES.filter((r) => r.auth !== 'public' && r.handler !== 'etl')
        .map(routeKey)
        .sort(),
    );
    expect(routes).toContain('POST /orders');
  });

  it('runs the same way on the local target with -c auth=middleware, ETL routes (another stack) included', () => {
    const { app } = synth('local', 'dev', { auth: 'middleware' });
    const stacks = app.synth().stacks;
    const etl = stacks.find((s) => s.stackName === 'Shop-dev-Etl')?.template as {
      Parameters: Record<string, unknown>;
      Resources: Record<
        string,
        { Type: string; Properties: { Environment?: { Variables: Record<string, unknown> } } }
      >;
    };
    const runsApi = Object.entries(etl.Resources).find(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('EtlRunsApi'),
    );
    expect(runsApi?.[1].Properties.Environment?.Variables).toMatchObject({
      [AUTH_ROUTES_ENV]: 'POST /etl/runs,GET /etl/runs,GET /etl/runs/{runId}',
      JWT_PUBLIC_JWK: { Ref: 'JwtPublicJwk' },
    });
    expect(Object.keys(etl.Parameters)).toContain('JwtPublicJwk');
    const types = stacks.flatMap((s) =>
      Object.values((s.template as { Resources: Record<string, { Type: string }> }).Resources).map(
        (r) => r.Type,
      ),
    );
    expect(types).not.toContain('AWS::ApiGateway::Authorizer');
  });

  it('outputs the migration function for deploy-localstack.sh instead of a custom resource', () => {
    const database = dev.find((t) => t.name === 'Shop-dev-Database')?.template;
    expect(Object.keys(database?.Outputs ?? {})).toContain(MIGRATE_FUNCTION_OUTPUT);
    const script = readFileSync(path.join(ROOT, 'scripts/deploy-localstack.sh'), 'utf8');
    expect(script).toContain('scripts/migrate-deployed.ts');
  });

  it("builds the functions for the host's architecture unless told otherwise", () => {
    const host = process.arch === 'arm64' ? 'arm64' : 'x86_64';
    for (const fn of resourcesOf('Shop-dev-Services', 'AWS::Lambda::Function')) {
      expect(fn.Properties?.Architectures).toEqual([host]);
    }
    const config = (context: Record<string, string>) => readConfig(new App({ context }));
    expect(config({ target: 'localstack', architecture: 'arm64' }).architecture).toBe('arm64');
    expect(config({ target: 'aws' }).architecture).toBe('arm64');
    expect(() => config({ target: 'localstack', architecture: 'sparc' })).toThrow(
      /"architecture" must be one of/,
    );
  });

  it('takes the Postgres URL and the JWT key as parameters that deploy-localstack.sh passes', () => {
    const script = readFileSync(path.join(ROOT, 'scripts/deploy-localstack.sh'), 'utf8');
    const parameters = Object.fromEntries(
      dev.map((t) => [
        t.name,
        Object.keys(t.template.Parameters ?? {}).filter((n) => n !== 'BootstrapVersion'),
      ]),
    );
    expect(parameters['Shop-dev-Database']).toContain('DatabaseUrl');
    expect(parameters['Shop-dev-Services']).toEqual(expect.arrayContaining(['DatabaseUrl', 'JwtPublicJwk']));
    for (const [stack, names] of Object.entries(parameters)) {
      for (const name of names) {
        const argument = `${stack.replace('Shop-dev', '$prefix')}:${name}=`;
        expect(script, `deploy-localstack.sh passes ${stack}:${name}`).toContain(argument);
      }
    }
  });

  it('deploy-localstack.sh sets every endpoint cdklocal 3.x requires, on 127.0.0.1 with path-style S3', () => {
    const deploy = readFileSync(path.join(ROOT, 'scripts/deploy-localstack.sh'), 'utf8');
    expect(deploy).toContain('. "$(dirname "$0")/localstack-env.sh"');
    const scripts = (
      JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts['destroy:localstack']).toContain('. scripts/localstack-env.sh && cdklocal destroy');
    const script = readFileSync(path.join(ROOT, 'scripts/localstack-env.sh'), 'utf8');
    // aws-cdk-local 3.x: "If specifying 'AWS_ENDPOINT_URL' then 'AWS_ENDPOINT_URL_S3' must be specified".
    const cdklocal = readFileSync(path.join(ROOT, 'node_modules/aws-cdk-local/src/index.js'), 'utf8');
    expect(cdklocal).toContain("'AWS_ENDPOINT_URL_S3' must be specified");
    expect(script).toMatch(/export [^\n]*\bAWS_ENDPOINT_URL\b/);
    expect(script).toMatch(/export [^\n]*\bAWS_ENDPOINT_URL_S3\b/);
    expect(script).toContain('http://127.0.0.1:4566');
    // cdklocal drops AWS_* variables that AWS_ENVAR_ALLOWLIST does not name; path style must survive.
    expect(script).toMatch(/AWS_ENVAR_ALLOWLIST=[^\n]*AWS_S3_FORCE_PATH_STYLE/);
    expect(script).toMatch(/AWS_S3_FORCE_PATH_STYLE=[^\n]*true/);
  });
});
