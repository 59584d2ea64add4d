import { describe, expect, it } from 'vitest';
import {
  dependenciesOf,
  evaluateConditions,
  IntrinsicError,
  type ResolveContext,
  resolve,
} from '../../local/cloud/intrinsics.ts';

const ctx: ResolveContext = {
  stackName: 'Shop-dev-Services',
  region: 'us-east-1',
  accountId: '000000000000',
  parameters: { DatabaseUrl: 'postgres://u:p@127.0.0.1:5432/shop', Stage: 'dev' },
  resources: new Map([
    [
      'Catalog',
      {
        ref: 'Shop-dev-Data-Catalog',
        attributes: { Arn: 'arn:aws:dynamodb:us-east-1:000000000000:table/Shop-dev-Data-Catalog' },
      },
    ],
    ['Api', { ref: 'abc123', attributes: { RootResourceId: 'abc123-root' } }],
  ]),
  exports: new Map([['Shop-dev-Data:ExportsOutputRefCatalog', 'Shop-dev-Data-Catalog']]),
  conditions: { IsProd: false },
  mappings: { Sizes: { dev: { Memory: 256 } } },
};

describe('resolve (CloudFormation intrinsics)', () => {
  it.each([
    ['Ref to a resource', { Ref: 'Catalog' }, 'Shop-dev-Data-Catalog'],
    ['Ref to a parameter', { Ref: 'DatabaseUrl' }, 'postgres://u:p@127.0.0.1:5432/shop'],
    ['Ref to a pseudo parameter', { Ref: 'AWS::Region' }, 'us-east-1'],
    ['Fn::GetAtt as array', { 'Fn::GetAtt': ['Api', 'RootResourceId'] }, 'abc123-root'],
    [
      'Fn::GetAtt as string',
      { 'Fn::GetAtt': 'Catalog.Arn' },
      'arn:aws:dynamodb:us-east-1:000000000000:table/Shop-dev-Data-Catalog',
    ],
    ['Fn::Join', { 'Fn::Join': ['/', ['a', { Ref: 'Stage' }, 'c']] }, 'a/dev/c'],
    [
      'Fn::Sub with resources, attributes and pseudo parameters',
      {
        'Fn::Sub':
          'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/${Catalog.Arn}',
      },
      'arn:aws:execute-api:us-east-1:000000000000:abc123/*/arn:aws:dynamodb:us-east-1:000000000000:table/Shop-dev-Data-Catalog',
    ],
    [
      'Fn::Sub with variables and a literal',
      { 'Fn::Sub': ['${X}-${!Literal}', { X: { Ref: 'Stage' } }] },
      'dev-${Literal}',
    ],
    ['Fn::Select over Fn::Split', { 'Fn::Select': [1, { 'Fn::Split': [':', 'a:b:c'] }] }, 'b'],
    [
      'Fn::ImportValue',
      { 'Fn::ImportValue': 'Shop-dev-Data:ExportsOutputRefCatalog' },
      'Shop-dev-Data-Catalog',
    ],
    ['Fn::If', { 'Fn::If': ['IsProd', 'big', 'small'] }, 'small'],
    ['Fn::FindInMap', { 'Fn::FindInMap': ['Sizes', { Ref: 'Stage' }, 'Memory'] }, 256],
    ['Fn::Base64', { 'Fn::Base64': 'hi' }, 'aGk='],
  ])('%s', (_, input, expected) => {
    expect(resolve(input, ctx)).toEqual(expected);
  });

  it('resolves deeply and drops AWS::NoValue properties and list items', () => {
    expect(
      resolve(
        {
          Env: { A: { Ref: 'Stage' }, B: { 'Fn::If': ['IsProd', 'x', { Ref: 'AWS::NoValue' }] } },
          L: [1, { Ref: 'AWS::NoValue' }],
        },
        ctx,
      ),
    ).toEqual({ Env: { A: 'dev' }, L: [1] });
  });

  it('names the property path and the missing thing when it cannot resolve', () => {
    expect(() => resolve({ Env: { T: { Ref: 'Nope' } } }, ctx)).toThrow(IntrinsicError);
    expect(() => resolve({ Env: { T: { Ref: 'Nope' } } }, ctx)).toThrow('$.Env.T.Ref: Ref to "Nope"');
    expect(() => resolve({ 'Fn::ImportValue': 'missing' }, ctx)).toThrow('no stack exports "missing"');
    expect(() => resolve({ 'Fn::GetAtt': ['Catalog', 'StreamArn'] }, ctx)).toThrow(
      'has no attribute "StreamArn"',
    );
  });
});

describe('evaluateConditions', () => {
  it('evaluates conditions that refer to each other, in any order', () => {
    const conditions = evaluateConditions(
      {
        NotProd: { 'Fn::Not': [{ Condition: 'IsProd' }] },
        IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] },
        Both: { 'Fn::And': [{ Condition: 'NotProd' }, { 'Fn::Equals': ['a', 'a'] }] },
      },
      { ...ctx },
    );
    expect(conditions).toEqual({ IsProd: false, NotProd: true, Both: true });
  });
});

describe('dependenciesOf', () => {
  it('collects resources named by Ref, GetAtt and Sub, but not pseudo parameters or literals', () => {
    const deps = dependenciesOf({
      A: { Ref: 'Table' },
      B: { 'Fn::GetAtt': ['Fn', 'Arn'] },
      C: { 'Fn::Sub': 'x-${Bucket.Arn}-${AWS::Region}-${!Skip}' },
    });
    expect([...deps].sort()).toEqual(['Bucket', 'Fn', 'Table']);
  });
});
