import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synth } from './synth.ts';

describe('Web stack (the console on AWS)', () => {
  const aws = synth('aws', 'dev');
  const web = aws.shop.web;
  if (!web) throw new Error('target=aws has a Web stack');
  const template = aws.template(web);
  const services = aws.template(aws.shop.services);

  it('keeps the site bucket private, encrypted and TLS-only', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: Match.objectLike({}),
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'site/' }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('serves it through CloudFront with origin access control (no OAI, no public website endpoint)', () => {
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
      }),
    });
    template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        Origins: [
          Match.objectLike({
            OriginAccessControlId: Match.anyValue(),
            S3OriginConfig: { OriginAccessIdentity: '' },
          }),
        ],
      }),
    });
    // Only CloudFront, for this distribution, may read the bucket.
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:GetObject',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('answers HTTPS only, with security headers', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({
          ViewerProtocolPolicy: 'https-only',
          ResponseHeadersPolicyId: Match.anyValue(),
          AllowedMethods: ['GET', 'HEAD'],
        }),
      }),
    });
    const [policy] = Object.values(template.findResources('AWS::CloudFront::ResponseHeadersPolicy'));
    const headers = policy?.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    expect(headers.StrictTransportSecurity).toMatchObject({
      AccessControlMaxAgeSec: 63_072_000,
      IncludeSubdomains: true,
      Override: true,
    });
    expect(headers.ContentTypeOptions).toEqual({ Override: true });
    expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(headers.ReferrerPolicy.ReferrerPolicy).toBe('strict-origin-when-cross-origin');
    const csp = JSON.stringify(headers.ContentSecurityPolicy.ContentSecurityPolicy);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain('execute-api');
  });

  it('deploys the built console, and its config.json from the API stack', () => {
    template.resourceCountIs('Custom::CDKBucketDeployment', 2);
    const [config] = Object.values(services.findResources('Custom::CDKBucketDeployment'));
    expect(JSON.stringify(config?.Properties)).toContain('config.json');
    expect(config?.Properties.DistributionPaths).toEqual(['/config.json']);
    // The hosted UI client: authorization code with PKCE (no secret), calling back to the console.
    services.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AllowedOAuthFlows: ['code'],
      GenerateSecret: false,
      CallbackURLs: [Match.objectLike({ 'Fn::Join': Match.anyValue() })],
    });
    services.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
  });
});

describe('CORS: the API allows the console origin only', () => {
  const methods = (t: ReturnType<ReturnType<typeof synth>['template']>) =>
    Object.values(t.findResources('AWS::ApiGateway::Method'));

  it.each(['aws', 'local'] as const)('answers a preflight on every resource (%s)', (target) => {
    const app = synth(target, 'dev');
    const services = app.template(app.shop.services);
    const all = methods(services);
    const resources = new Set(all.map((m) => JSON.stringify(m.Properties.ResourceId)));
    const preflights = all.filter((m) => m.Properties.HttpMethod === 'OPTIONS');
    expect(preflights).toHaveLength(resources.size);
    for (const p of preflights) {
      expect(p.Properties.AuthorizationType).toBe('NONE');
      const headers = p.Properties.Integration.IntegrationResponses[0].ResponseParameters;
      const origin = JSON.stringify(headers['method.response.header.Access-Control-Allow-Origin']);
      expect(origin).not.toContain("'*'");
      expect(origin).toContain(target === 'aws' ? 'Distribution' : 'ConsoleOrigin');
      expect(headers['method.response.header.Access-Control-Allow-Headers']).toContain('If-Match');
      expect(headers['method.response.header.Access-Control-Allow-Headers']).toContain('Idempotency-Key');
    }
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX'])
      services.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseParameters: Match.objectLike({
          'gatewayresponse.header.Access-Control-Allow-Origin': Match.anyValue(),
        }),
      });
  });

  it('gives every route function the origin for its answers, and only those', () => {
    const app = synth('local', 'dev');
    const fns = Object.values(app.template(app.shop.services).findResources('AWS::Lambda::Function'));
    const withCors = fns.filter((f) => f.Properties.Environment?.Variables?.CORS_ALLOW_ORIGIN);
    for (const fn of withCors)
      expect(fn.Properties.Environment.Variables.CORS_ALLOW_ORIGIN).toEqual({ Ref: 'ConsoleOrigin' });
    // Health, Me, catalog, cart, orders, consistency API; not the consumers, relay or authorizer.
    expect(withCors.length).toBeGreaterThanOrEqual(6);
    expect(withCors.length).toBeLessThan(fns.length);
    const etl = app.shop.etl;
    if (etl) {
      const etlFns = Object.values(app.template(etl).findResources('AWS::Lambda::Function'));
      expect(etlFns.filter((f) => f.Properties.Environment?.Variables?.CORS_ALLOW_ORIGIN)).toHaveLength(1);
    }
  });

  it('has no Web stack where the local cloud or LocalStack serve the API', () => {
    expect(synth('local', 'dev').shop.web).toBeUndefined();
    expect(synth('localstack', 'dev').shop.web).toBeUndefined();
  });
});
