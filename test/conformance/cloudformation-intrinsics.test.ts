/**
 * CloudFormation intrinsic functions and pseudo parameters (local/cloud/intrinsics.ts) against the examples of
 * the CloudFormation user guide's "Intrinsic function reference", "Pseudo parameters reference" and "Parameters".
 */
import { describe, expect, it } from 'vitest';
import {
  IntrinsicError,
  parameterValue,
  type ResolveContext,
  resolve,
  stackIdOf,
} from '../../local/cloud/intrinsics.ts';
import { SOURCES } from './sources.ts';

function context(overrides: Partial<ResolveContext> = {}): ResolveContext {
  return {
    stackName: 'MyStack',
    region: 'us-east-1',
    accountId: '123456789012',
    parameters: {
      ParameterName: 'resolvedValue',
      ListParameter: parameterValue('CommaDelimitedList', 'a,b,c'),
      InputKeys: 'us-east-1|us-west-2',
    },
    resources: new Map([
      [
        'ExampleVpc',
        {
          ref: 'vpc-123',
          attributes: { CidrBlock: '10.0.0.0/16', Ipv6CidrBlocks: ['2600:1f16:67d:2000::/56'] },
        },
      ],
    ]),
    exports: new Map(),
    conditions: {},
    mappings: {
      RegionMap: {
        'us-east-1': { HVM64: 'ami-0ff8a91507f77f867', HVMG2: 'ami-0a584ac55a7631c0c' },
        'us-west-1': { HVM64: 'ami-0bdb828fd58c52235', HVMG2: 'ami-066ee5fd4a9ef77f1' },
      },
      MyMap: { 'us-east-1': { SecondKey: 'east' } },
      InstanceConfiguration: { 'eu-west-1': { Type: 'm5.large' } },
    },
    ...overrides,
  };
}

interface Case {
  source: string;
  name: string;
  value: unknown;
  expected: unknown;
  ctx?: Partial<ResolveContext>;
}

const cases: Case[] = [
  {
    source: SOURCES.cfn('Fn::Cidr'),
    name: '6 CIDRs with a /27 mask inside a /24 (count and bits given as strings)',
    value: { 'Fn::Cidr': ['192.168.0.0/24', '6', '5'] },
    expected: [
      '192.168.0.0/27',
      '192.168.0.32/27',
      '192.168.0.64/27',
      '192.168.0.96/27',
      '192.168.0.128/27',
      '192.168.0.160/27',
    ],
  },
  {
    source: SOURCES.cfn('Fn::Cidr'),
    name: 'IPv4 subnet of the IPv6 enabled VPC example: Select 0 of Cidr [VPC CidrBlock, 1, 8]',
    value: { 'Fn::Select': [0, { 'Fn::Cidr': [{ 'Fn::GetAtt': ['ExampleVpc', 'CidrBlock'] }, 1, 8] }] },
    expected: '10.0.0.0/24',
  },
  {
    source: SOURCES.cfn('Fn::Cidr'),
    name: 'IPv6 subnet of the IPv6 enabled VPC example: a /64 of the VPC /56',
    value: {
      'Fn::Select': [
        0,
        { 'Fn::Cidr': [{ 'Fn::Select': [0, { 'Fn::GetAtt': ['ExampleVpc', 'Ipv6CidrBlocks'] }] }, 1, 64] },
      ],
    },
    expected: '2600:1f16:67d:2000::/64',
  },
  {
    source: SOURCES.cfn('Fn::Length'),
    name: 'the number of elements of an intrinsic function that returns an array',
    value: { 'Fn::Length': { 'Fn::Split': ['|', 'a|b|c'] } },
    expected: 3,
  },
  {
    source: SOURCES.cfn('Fn::Length'),
    name: 'the number of elements of a Ref to a list parameter',
    value: { 'Fn::Length': { Ref: 'ListParameter' } },
    expected: 3,
  },
  {
    source: SOURCES.cfn('Fn::Length'),
    name: 'the number of elements of an array',
    value: { 'Fn::Length': [1, { Ref: 'ParameterName' }, 3] },
    expected: 3,
  },
  {
    source: SOURCES.cfn('Fn::FindInMap enhancements'),
    name: 'an intrinsic function as the top-level key',
    value: {
      'Fn::FindInMap': [
        'MyMap',
        { 'Fn::Select': [0, { 'Fn::Split': ['|', { Ref: 'InputKeys' }] }] },
        'SecondKey',
      ],
    },
    expected: 'east',
  },
  {
    source: SOURCES.cfn('Fn::FindInMap enhancements'),
    name: 'DefaultValue when the key is not in the map',
    value: {
      'Fn::FindInMap': [
        'InstanceConfiguration',
        { Ref: 'AWS::Region' },
        'Type',
        { DefaultValue: 'm5.small' },
      ],
    },
    expected: 'm5.small',
  },
  {
    source: SOURCES.cfn('Fn::FindInMap enhancements'),
    name: 'the mapped value wins over DefaultValue',
    value: { 'Fn::FindInMap': ['InstanceConfiguration', 'eu-west-1', 'Type', { DefaultValue: 'm5.small' }] },
    expected: 'm5.large',
  },
  {
    source: SOURCES.cfn('Fn::FindInMap'),
    name: 'RegionMap example',
    value: { 'Fn::FindInMap': ['RegionMap', { Ref: 'AWS::Region' }, 'HVM64'] },
    expected: 'ami-0ff8a91507f77f867',
  },
  {
    source: SOURCES.cfn('Fn::GetAZs'),
    name: '"" is the stack\'s region',
    value: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
    expected: 'us-east-1a',
  },
  {
    source: SOURCES.cfn('Fn::GetAZs'),
    name: 'a Ref to AWS::Region',
    value: { 'Fn::Select': ['0', { 'Fn::GetAZs': { Ref: 'AWS::Region' } }] },
    expected: 'us-east-1a',
  },
  {
    source: SOURCES.cfn('Fn::GetAZs'),
    name: 'another region named explicitly',
    value: { 'Fn::Select': [1, { 'Fn::GetAZs': 'eu-west-1' }] },
    expected: 'eu-west-1b',
  },
  {
    source: SOURCES.cfn('Fn::Join'),
    name: 'a list of pseudo parameters',
    value: {
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':s3:::elasticbeanstalk-*-', { Ref: 'AWS::AccountId' }],
      ],
    },
    expected: 'arn:aws:s3:::elasticbeanstalk-*-123456789012',
  },
  {
    source: SOURCES.cfn('Fn::Select'),
    name: 'the second element',
    value: { 'Fn::Select': ['1', ['apples', 'grapes', 'oranges', 'mangoes']] },
    expected: 'grapes',
  },
  {
    source: SOURCES.cfn('Fn::Split'),
    name: 'a simple list',
    value: { 'Fn::Split': ['|', 'a|b|c'] },
    expected: ['a', 'b', 'c'],
  },
  {
    source: SOURCES.cfn('Fn::Split'),
    name: 'empty string values',
    value: { 'Fn::Split': ['|', 'a||c|'] },
    expected: ['a', '', 'c', ''],
  },
  {
    source: SOURCES.cfn('Fn::Sub'),
    name: 'pseudo parameters and a literal ${!…}',
    value: {
      'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${ExampleVpc} ${!Literal}',
    },
    expected: 'arn:aws:ec2:us-east-1:123456789012:vpc/vpc-123 ${Literal}',
  },
  {
    source: SOURCES.cfn('Fn::Sub'),
    name: 'a variable map',
    value: { 'Fn::Sub': ['www.${Domain}', { Domain: { Ref: 'ParameterName' } }] },
    expected: 'www.resolvedValue',
  },
  {
    source: SOURCES.cfn('Fn::Base64'),
    name: 'a string',
    value: { 'Fn::Base64': 'AWS CloudFormation' },
    expected: 'QVdTIENsb3VkRm9ybWF0aW9u',
  },
  {
    source: 'CloudFormation user guide, "Pseudo parameters reference"',
    name: 'AWS::Partition and AWS::URLSuffix in a China region',
    value: { 'Fn::Sub': '${AWS::Partition} ${AWS::URLSuffix}' },
    ctx: { region: 'cn-north-1' },
    expected: 'aws-cn amazonaws.com.cn',
  },
  {
    source: 'CloudFormation user guide, "Pseudo parameters reference"',
    name: 'AWS::Partition in AWS GovCloud (US)',
    value: { Ref: 'AWS::Partition' },
    ctx: { region: 'us-gov-west-1' },
    expected: 'aws-us-gov',
  },
  {
    source: 'CloudFormation user guide, "Pseudo parameters reference"',
    name: 'AWS::NoValue removes a property',
    value: { A: 1, B: { Ref: 'AWS::NoValue' } },
    expected: { A: 1 },
  },
];

describe('CloudFormation intrinsic functions (conformance)', () => {
  it.each(cases.map((c) => [`${c.source}: ${c.name}`, c] as const))('%s', (_, c) => {
    expect(resolve(c.value, context(c.ctx))).toEqual(c.expected);
  });

  it(`${SOURCES.cfn('Fn::ToJsonString')}: an object and an array become their JSON text`, () => {
    // The guide's printed outputs split the object's keys into two objects, which its inputs do not;
    // the text here is the JSON of the input with the Ref resolved.
    const object = resolve(
      { 'Fn::ToJsonString': { key1: 'value1', key2: { Ref: 'ParameterName' } } },
      context(),
    );
    expect(object).toBe('{"key1":"value1","key2":"resolvedValue"}');
    const array = resolve(
      { 'Fn::ToJsonString': [{ key1: 'value1', key2: { Ref: 'ParameterName' } }] },
      context(),
    );
    expect(array).toBe('[{"key1":"value1","key2":"resolvedValue"}]');
  });

  it(`${SOURCES.cfn('Fn::FindInMap')}: a key that is not in the map, without DefaultValue, fails the deploy`, () => {
    expect(() => resolve({ 'Fn::FindInMap': ['RegionMap', 'eu-west-1', 'HVM64'] }, context())).toThrow(
      IntrinsicError,
    );
  });

  it('an intrinsic function the local cloud does not know fails the deploy instead of passing through', () => {
    expect(() => resolve({ Env: { 'Fn::Transform': { Name: 'AWS::Include' } } }, context())).toThrow(
      /Fn::Transform is not supported/,
    );
  });

  it('CloudFormation user guide, "Pseudo parameters reference": AWS::StackId is the stack ARN ending in a UUID', () => {
    const stackId = resolve({ Ref: 'AWS::StackId' }, context());
    expect(stackId).toMatch(
      /^arn:aws:cloudformation:us-east-1:123456789012:stack\/MyStack\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(stackId).toBe(stackIdOf('us-east-1', '123456789012', 'MyStack')); // the same on every deploy
  });

  it.each([
    ['Number', 8080, '8080'],
    ['String', 'MyValue', 'MyValue'],
    ['CommaDelimitedList', 'test, dev ,prod', ['test', 'dev', 'prod']],
    ['List<Number>', '80,443', ['80', '443']],
    ['List<AWS::EC2::Subnet::Id>', 'subnet-123,subnet-456', ['subnet-123', 'subnet-456']],
  ])(
    'CloudFormation user guide, "Parameters": a %s parameter given %j is referenced as %j',
    (type, given, expected) => {
      expect(parameterValue(type, given)).toEqual(expected);
    },
  );
});
