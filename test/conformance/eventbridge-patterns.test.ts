/**
 * Event pattern matching (local/eventbridge/pattern.ts) against aws/event-ruler — the library EventBridge
 * matches with — and the EventBridge user guide. Each case: source, pattern, event, expected match.
 */
import { describe, expect, it } from 'vitest';
import { type EventPattern, matchesPattern, validatePattern } from '../../local/eventbridge/pattern.ts';
import { SOURCES } from './sources.ts';

interface Case {
  source: string;
  name: string;
  pattern: unknown;
  event: unknown;
  matches: boolean;
}

// RulerTest.JSON_FROM_README
const README_EVENT = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:012345679012:instance/i-000000aaaaaa00000'],
  detail: {
    'c.count': 5,
    'd.count': 3,
    'x.limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

// RulerTest.JSON_FROM_RFC (RFC 7159's example)
const RFC_EVENT = {
  Image: {
    Width: 800,
    Height: 600,
    Title: 'View from 15th Floor',
    Thumbnail: { Url: 'http://www.example.com/image/481989943', Height: 125, Width: 100 },
    Animated: false,
    IDs: [116, 943, 234, 38793],
  },
};

// RulerTest.JSON_WITH_COMPLEX_ARRAYS
const ARRAYS_EVENT = {
  employees: [
    [
      { firstName: 'John', lastName: 'Doe', ids: [1234, 1000, 9999] },
      { firstName: 'Anna', lastName: 'Smith' },
    ],
    [{ firstName: 'Peter', lastName: 'Jones', ids: [] }],
  ],
};

const readmeRules: unknown[] = [
  {
    'detail-type': ['EC2 Instance State-change Notification'],
    resources: ['arn:aws:ec2:us-east-1:012345679012:instance/i-000000aaaaaa00000'],
    detail: { state: ['initializing', 'running'] },
  },
  { time: [{ prefix: '2017-10-02' }], detail: { state: [{ 'anything-but': 'initializing' }] } },
  {
    detail: {
      'source-ip': [{ cidr: '10.0.0.0/24' }],
      'c.count': [{ numeric: ['>', 0, '<=', 5] }],
      'd.count': [{ numeric: ['<', 10] }],
      'x.limit': [{ numeric: ['=', 3.018e2] }],
    },
  },
  { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
  { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } },
  { detail: { 'source-ip': [{ cidr: '10.0.0.0/8' }] } },
];

const rfcMatching: unknown[] = [
  { Image: { Width: [800], Thumbnail: { Height: [125, 300] } } },
  { Image: { Thumbnail: { Url: [{ prefix: 'http' }] } } },
  {
    Image: {
      Width: [{ numeric: ['<', 1000] }],
      Height: [{ numeric: ['<=', 600] }],
      Title: [{ 'anything-but': 'View from 15th Flood' }],
      Thumbnail: {
        Url: [{ prefix: 'http' }],
        Height: [{ numeric: ['>', 124, '<', 126] }],
        Width: [{ numeric: ['>=', 99.999, '<=', 100] }],
      },
      Animated: [false],
    },
  },
];
const rfcNonMatching: unknown[] = [
  { Image: { Width: [{ numeric: ['<', 800] }] } },
  { Image: { Height: [{ numeric: ['<', 599] }] } },
  { Image: { Title: [{ 'anything-but': 'View from 15th Floor' }] } },
  { Image: { Thumbnail: { Url: [{ prefix: 'https' }] } } },
  { Image: { Thumbnail: { Height: [{ numeric: ['>', 124, '<', 125] }] } } },
  { Image: { Thumbnail: { Width: [{ numeric: ['>=', 100.00001, '<=', 1001] }] } } },
  { Image: { Animated: [true] } },
];

const arraysMatching: unknown[] = [
  { employees: { firstName: ['Anna'] } },
  { employees: { firstName: ['John'], ids: [1000] } },
  { employees: { firstName: ['Anna'], ids: [{ exists: false }] } },
];
const arraysNonMatching: unknown[] = [
  { employees: { firstName: ['Alice'] } },
  { employees: { firstName: ['Anna'], lastName: ['Jones'] } }, // fields from two elements
  { employees: { firstName: ['Alice'], lastName: ['Bob'] } },
  { a: ['b'] },
  { employees: ['b'] },
  { employees: { firstName: ['Anna'], ids: [1000] } },
  { employees: { firstName: ['Anna'], ids: [{ exists: true }] } },
];

// WHEN_WeTryExistsRules_THEN_TheyWork: [event, rule, expected]
const existsEvents = [{ a: 1 }, { b: 2 }, { x: 'X' }];
const existsRules = [
  { a: [{ exists: true }] },
  { b: [{ exists: false }] },
  { x: [{ exists: true }] },
  { x: [{ exists: false }] },
];
const existsExpected = [
  [true, true, false, true],
  [false, false, false, true],
  [false, true, true, false],
];

// WHEN_WeTryAnythingButRules_THEN_Theywork
const anythingButRule = {
  a: [{ 'anything-but': ['dad0', 'dad1', 'dad2'] }],
  b: [{ 'anything-but': [111, 222, 333] }],
  c: [{ 'anything-but': 'zdd' }],
  d: [{ 'anything-but': 444 }],
  z: [{ numeric: ['>', 0, '<', 1] }],
  w: [{ 'anything-but': { prefix: 'zax' } }],
};
const anythingButEvents: [unknown, boolean][] = [
  [{ a: 'child1', b: '444', c: 'child1', d: 123, w: 'xaz', z: 0.001 }, true],
  [{ a: 'dad789', b: 789, c: 'zdd', d: 123, w: 'xaz', z: 0.001 }, false],
  [{ a: 'dad789', b: 789, c: 'child1', d: 123, w: 'xaz', z: 1.01 }, false],
  [{ a: 'dad1', b: 345, c: 'child1', d: 123, w: 'xaz', z: 0.001 }, false],
  [{ a: 'abc', b: 111, c: 'child1', d: 123, w: 'xaz', z: 0.001 }, false],
  [{ a: 'dad1', b: 333, c: 'child1', d: 123, w: 'xaz', z: 0.001 }, false],
  [{ a: 'abc', b: 0, c: 'child1', d: 444, w: 'xaz', z: 0.999999 }, false],
  [{ a: 'child1', b: '444', c: 'child1', d: 123, w: 'zaxonie', z: 0.001 }, false],
];

// WHEN_WeTryEqualsIgnoreCaseRules_THEN_TheyWork
const ignoreCaseRule = {
  a: [{ 'equals-ignore-case': 'aBc' }],
  b: [{ 'equals-ignore-case': 'Def' }],
  c: [{ 'equals-ignore-case': 'xyZ' }],
};
const ignoreCaseEvents: [unknown, boolean][] = [
  [{ a: 'ABC', b: 'defx', c: 'xYz', d: 'rst' }, false],
  [{ a: 'ABC', c: 'xYz', d: 'rst' }, false],
  [{ a: 'ABC', b: 'xYz', c: 'def', d: 'rst' }, false],
  [{ a: 'ABC', b: 'def', c: 'xYz', d: 'rst' }, true],
];

// WHEN_WeTryWildcardRules_THEN_TheyWork
const wildcardRule = {
  a: [{ wildcard: '*bc' }],
  b: [{ wildcard: 'd*f' }],
  c: [{ wildcard: 'xy*' }],
  d: [{ wildcard: 'xy*' }],
};
const wildcardEvents: [unknown, boolean][] = [
  [{ a: 'abcbc', b: 'deeeefx', c: 'xy', d: 'xyzzz' }, false],
  [{ a: 'abcbc', b: 'deeeef', d: 'xyzzz' }, false],
  [{ a: 'abcbc', b: 'xy', c: 'deeeef', d: 'xyzzz' }, false],
  [{ a: 'abcbc', b: 'deeeef', c: 'xy', d: 'xyzzz' }, true],
];

const ebEvent = {
  time: '2017-10-02T18:43:48Z',
  detail: { state: 'running', 'c-count': 5, 'd-count': 3, 'x-limit': 301.8, sourceIPAddress: '10.0.0.24' },
};

/** RulerTest cases of one test: each rule of a list against one event. */
const rulesOf =
  (test: string, event: unknown, matches: boolean, label: string) =>
  (pattern: unknown, i: number): Case => ({
    source: `${SOURCES.ruler} ${test}`,
    name: `${label} ${i + 1}`,
    pattern,
    event,
    matches,
  });

/** RulerTest cases of one test: one rule against each event of a list, with its expected result. */
const eventsOf =
  (test: string, pattern: unknown) =>
  ([event, matches]: readonly [unknown, boolean], i: number): Case => ({
    source: `${SOURCES.ruler} ${test}`,
    name: `event ${i + 1}`,
    pattern,
    event,
    matches,
  });

const cases: Case[] = [
  ...readmeRules.map(
    rulesOf('WHEN_RulesFromReadmeAreTried_THEN_TheyWork', README_EVENT, true, 'README rule'),
  ),
  ...rfcMatching.map(
    rulesOf('WHEN_WeWriteRulesToMatchVariousFieldCombos_THEN_TheyWork', RFC_EVENT, true, 'matching rule'),
  ),
  ...rfcNonMatching.map(
    rulesOf(
      'WHEN_WeWriteRulesToMatchVariousFieldCombos_THEN_TheyWork',
      RFC_EVENT,
      false,
      'non-matching rule',
    ),
  ),
  ...arraysMatching.map(
    rulesOf('WHEN_JSONContainsArrays_THEN_RulerNoCompileMatchesWork', ARRAYS_EVENT, true, 'matching rule'),
  ),
  ...arraysNonMatching.map(
    rulesOf(
      'WHEN_JSONContainsArrays_THEN_RulerNoCompileMatchesWork',
      ARRAYS_EVENT,
      false,
      'non-matching rule',
    ),
  ),
  ...existsEvents.flatMap((event, e) =>
    existsRules.map((pattern, r) => ({
      source: `${SOURCES.ruler} WHEN_WeTryToMatchExistsRules_THEN_TheyWork`,
      name: `${r + 1}/${e + 1}`,
      pattern,
      event,
      matches: existsExpected[e]?.[r] as boolean,
    })),
  ),
  ...(
    [
      [{ a: 1 }, { a: [1] }, true],
      [{ b: 2 }, { b: [2] }, true],
      [{ x: 'X' }, { x: ['X'] }, true],
      [{ x: true }, { a: [1] }, false],
      [{ x: true }, { b: [2] }, false],
      [{ x: true }, { x: ['X'] }, false],
    ] as const
  ).map(([event, pattern, matches], i) => ({
    source: `${SOURCES.ruler} WHEN_WeTryReallySimpleRules_THEN_TheyWork`,
    name: `case ${i + 1}`,
    pattern,
    event,
    matches,
  })),
  ...anythingButEvents.map(eventsOf('WHEN_WeTryAnythingButRules_THEN_Theywork', anythingButRule)),
  ...ignoreCaseEvents.map(eventsOf('WHEN_WeTryEqualsIgnoreCaseRules_THEN_TheyWork', ignoreCaseRule)),
  ...wildcardEvents.map(eventsOf('WHEN_WeTryWildcardRules_THEN_TheyWork', wildcardRule)),
  // "exactly" (Constants.EXACT_MATCH): a string compared as is, even one that reads like an operator.
  ...(
    [
      [{ a: 'prefix' }, true],
      [{ a: 'prefixes' }, false],
      [{ a: 'PREFIX' }, false],
    ] as const
  ).map(([event, matches], i) => ({
    source: `${SOURCES.rulerCompiler} processMatchExpression (exactly)`,
    name: `exactly "prefix" ${i + 1}`,
    pattern: { a: [{ exactly: 'prefix' }] },
    event,
    matches,
  })),
  {
    source: `${SOURCES.rulerCompiler} processMatchExpression (exactly)`,
    name: 'exactly matches strings only, not the number of the same text',
    pattern: { a: [{ exactly: '5' }] },
    event: { a: 5 },
    matches: false,
  },
  {
    source: `${SOURCES.ebFiltering} Prefix matching`,
    name: 'time prefix',
    pattern: { time: [{ prefix: '2017-10-02' }] },
    event: ebEvent,
    matches: true,
  },
  {
    source: `${SOURCES.ebFiltering} Anything-but matching`,
    name: 'anything-but a list of strings',
    pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    event: ebEvent,
    matches: true,
  },
  {
    source: `${SOURCES.ebFiltering} Anything-but matching`,
    name: 'anything-but a number',
    pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
    event: ebEvent,
    matches: true,
  },
  {
    source: `${SOURCES.ebFiltering} Numeric matching`,
    name: 'all numeric conditions',
    pattern: {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    },
    event: ebEvent,
    matches: true,
  },
  {
    source: `${SOURCES.ebFiltering} IP address matching`,
    name: '10.0.0.24 in 10.0.0.0/24',
    pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
    event: ebEvent,
    matches: true,
  },
  {
    source: `${SOURCES.ebFiltering} Exists matching`,
    name: 'exists:false matches a missing leaf',
    pattern: { detail: { 'c-count': [{ exists: false }] } },
    event: { detail: { state: ['initializing', 'running'] } },
    matches: true,
  },
  {
    source: `${SOURCES.ebFiltering} Exists matching`,
    name: 'exists:false also matches an intermediate node',
    pattern: { detail: { 'c-count': [{ exists: false }] } },
    event: { detail: { state: ['initializing', 'running'], 'c-count': { c1: 100 } } },
    matches: true,
  },
  {
    source: SOURCES.ebArrays,
    name: 'an event array matches when it intersects the pattern array',
    pattern: {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    },
    event: {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    },
    matches: true,
  },
];

describe('EventBridge event patterns (conformance)', () => {
  it.each(cases.map((c) => [`${c.source}: ${c.name}`, c] as const))('%s', (_, c) => {
    expect(validatePattern(c.pattern)).toBeUndefined();
    expect(matchesPattern(c.pattern as EventPattern, c.event)).toBe(c.matches);
  });

  it.each([
    [{ a: [{ exactly: 5 }] }, /exact match pattern must be a string/],
    [{ a: [{ exactly: 'x', prefix: 'y' }] }, /Only one key allowed in match expression/],
  ])(`${SOURCES.rulerCompiler}: refuses %j`, (pattern, message) => {
    expect(validatePattern(pattern)).toMatch(message);
  });
});
