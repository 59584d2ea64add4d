import { describe, expect, it } from 'vitest';
import { type EventPattern, matchesPattern, validatePattern } from '../../local/eventbridge/pattern.ts';

/**
 * Cases from the EventBridge documentation ("Amazon EventBridge event patterns", "Content filtering in event
 * patterns", "Arrays in event patterns", "Matching null values and empty strings") and the README of
 * aws/event-ruler, the engine behind EventBridge. Each operator has at least one case that matches and one that
 * does not.
 */

/** The sample event of the content-filtering documentation. */
const ec2 = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

/** The sample event with a different `detail`. */
const withDetail = (detail: Record<string, unknown>) => ({ ...ec2, detail });

interface MatchCase {
  description: string;
  pattern: EventPattern;
  event: unknown;
  expected: boolean;
}

const matchCases: MatchCase[] = [
  // Exact values: strings, numbers, booleans, null, any-of, AND across fields.
  {
    description: 'exact: source, detail-type and one of two states (docs: simple matching)',
    pattern: {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
      detail: { state: ['initializing', 'running'] },
    },
    event: ec2,
    expected: true,
  },
  {
    description: 'exact: no listed state matches',
    pattern: { source: ['aws.ec2'], detail: { state: ['initializing', 'stopped'] } },
    event: ec2,
    expected: false,
  },
  {
    description: 'exact: matching is case-sensitive',
    pattern: { source: ['AWS.EC2'] },
    event: ec2,
    expected: false,
  },
  {
    description: 'exact: all fields must match (AND), one does not',
    pattern: { source: ['aws.ec2'], region: ['eu-west-1'] },
    event: ec2,
    expected: false,
  },
  { description: 'exact: a number', pattern: { detail: { 'c-count': [5] } }, event: ec2, expected: true },
  {
    description: 'exact: a number is not its string',
    pattern: { detail: { 'c-count': ['5'] } },
    event: ec2,
    expected: false,
  },
  {
    description: 'exact: numbers compare by value (3.018e2 = 301.8)',
    pattern: { detail: { 'x-limit': [3.018e2] } },
    event: ec2,
    expected: true,
  },
  {
    description: 'exact: a boolean',
    pattern: { detail: { enabled: [true] } },
    event: withDetail({ enabled: true }),
    expected: true,
  },
  {
    description: 'exact: a boolean is not its string',
    pattern: { detail: { enabled: [true] } },
    event: withDetail({ enabled: 'true' }),
    expected: false,
  },
  {
    description: 'null: [null] matches a null value (docs: null values)',
    pattern: { detail: { responseElements: [null] } },
    event: withDetail({ eventVersion: '', responseElements: null }),
    expected: true,
  },
  {
    description: 'empty string: [""] matches an empty string',
    pattern: { detail: { eventVersion: [''] } },
    event: withDetail({ eventVersion: '', responseElements: null }),
    expected: true,
  },
  {
    description: 'empty string: [""] does not match null (not interchangeable)',
    pattern: { detail: { responseElements: [''] } },
    event: withDetail({ eventVersion: '', responseElements: null }),
    expected: false,
  },
  {
    description: 'missing field: a value pattern on an absent field does not match',
    pattern: { detail: { zone: ['a'] } },
    event: ec2,
    expected: false,
  },
  {
    description: 'empty-array leaf never matches',
    pattern: { source: [] },
    event: ec2,
    expected: false,
  },
  {
    description: 'nested: a pattern on a nested field of a string does not match',
    pattern: { source: { name: ['aws.ec2'] } },
    event: ec2,
    expected: false,
  },

  // Arrays in events.
  {
    description: 'arrays: matches when the event array and the pattern intersect (docs: arrays)',
    pattern: {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
      ],
    },
    event: {
      ...ec2,
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    },
    expected: true,
  },
  {
    description: 'arrays: no intersection',
    pattern: { resources: ['arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f'] },
    event: ec2,
    expected: false,
  },
  {
    description: 'arrays: a field of objects in an array (ruler: employees)',
    pattern: { detail: { employees: { firstName: ['Anna'] } } },
    event: withDetail({
      employees: [
        { firstName: 'John', lastName: 'Doe' },
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', lastName: 'Jones' },
      ],
    }),
    expected: true,
  },
  {
    description: 'arrays: fields must come from the same array element (array consistency)',
    pattern: { detail: { employees: { firstName: ['Anna'], lastName: ['Jones'] } } },
    event: withDetail({
      employees: [
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', lastName: 'Jones' },
      ],
    }),
    expected: false,
  },
  {
    description: 'arrays: nested arrays are flattened',
    pattern: { detail: { employees: { lastName: ['Jones'] } } },
    event: withDetail({ employees: [[{ lastName: 'Doe' }], [{ lastName: 'Jones' }]] }),
    expected: true,
  },
  {
    description: 'arrays: operators apply to each element',
    pattern: { detail: { tags: [{ prefix: 'team-' }] } },
    event: withDetail({ tags: ['env-prod', 'team-orders'] }),
    expected: true,
  },

  // prefix
  {
    description: 'prefix: time starts with 2017-10-02',
    pattern: { time: [{ prefix: '2017-10-02' }] },
    event: ec2,
    expected: true,
  },
  {
    description: 'prefix: a different day',
    pattern: { time: [{ prefix: '2017-10-03' }] },
    event: ec2,
    expected: false,
  },
  {
    description: 'prefix: only strings (not a number)',
    pattern: { detail: { 'c-count': [{ prefix: '5' }] } },
    event: ec2,
    expected: false,
  },
  {
    description: 'prefix + equals-ignore-case: EventB matches eventbridge',
    pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    event: withDetail({ service: 'eventbridge' }),
    expected: true,
  },
  {
    description: 'prefix + equals-ignore-case: lambda does not start with EventB',
    pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    event: withDetail({ service: 'lambda' }),
    expected: false,
  },

  // suffix
  {
    description: 'suffix: FileName ends with .png',
    pattern: { detail: { FileName: [{ suffix: '.png' }] } },
    event: withDetail({ FileName: 'photo.png' }),
    expected: true,
  },
  {
    description: 'suffix: is case-sensitive',
    pattern: { detail: { FileName: [{ suffix: '.png' }] } },
    event: withDetail({ FileName: 'photo.PNG' }),
    expected: false,
  },
  {
    description: 'suffix + equals-ignore-case: .PNG ends with .png',
    pattern: { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    event: withDetail({ FileName: 'photo.PNG' }),
    expected: true,
  },

  // equals-ignore-case
  {
    description: 'equals-ignore-case: alice matches ALICE',
    pattern: { detail: { name: [{ 'equals-ignore-case': 'alice' }] } },
    event: withDetail({ name: 'ALICE' }),
    expected: true,
  },
  {
    description: 'equals-ignore-case: alice does not match alicia',
    pattern: { detail: { name: [{ 'equals-ignore-case': 'alice' }] } },
    event: withDetail({ name: 'alicia' }),
    expected: false,
  },

  // wildcard
  {
    description: 'wildcard: Simple*Service matches SimpleQueueService',
    pattern: { detail: { service: [{ wildcard: 'Simple*Service' }] } },
    event: withDetail({ service: 'SimpleQueueService' }),
    expected: true,
  },
  {
    description: 'wildcard: the whole value must match',
    pattern: { detail: { service: [{ wildcard: 'Simple*Service' }] } },
    event: withDetail({ service: 'SimpleQueueServices' }),
    expected: false,
  },
  {
    description: 'wildcard: \\* is a literal star',
    pattern: { detail: { key: [{ wildcard: 'a\\*b' }] } },
    event: withDetail({ key: 'a*b' }),
    expected: true,
  },
  {
    description: 'wildcard: an escaped star is not a wildcard',
    pattern: { detail: { key: [{ wildcard: 'a\\*b' }] } },
    event: withDetail({ key: 'axb' }),
    expected: false,
  },

  // anything-but
  {
    description: 'anything-but: a string other than initializing',
    pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
    event: ec2,
    expected: true,
  },
  {
    description: 'anything-but: the excluded string',
    pattern: { detail: { state: [{ 'anything-but': 'running' }] } },
    event: ec2,
    expected: false,
  },
  {
    description: 'anything-but: a number other than 123',
    pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
    event: ec2,
    expected: true,
  },
  {
    description: 'anything-but: list of strings, value in the list',
    pattern: { detail: { state: [{ 'anything-but': ['stopped', 'running'] }] } },
    event: ec2,
    expected: false,
  },
  {
    description: 'anything-but: list of strings, value not in the list',
    pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    event: ec2,
    expected: true,
  },
  {
    description: 'anything-but: list of numbers, value in the list',
    pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    event: withDetail({ 'x-limit': 200 }),
    expected: false,
  },
  {
    description: 'anything-but: a missing field does not match',
    pattern: { detail: { zone: [{ 'anything-but': 'a' }] } },
    event: ec2,
    expected: false,
  },
  {
    description: 'anything-but prefix: initializing starts with init',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    event: withDetail({ state: 'initializing' }),
    expected: false,
  },
  {
    description: 'anything-but prefix: running does not start with init',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    event: ec2,
    expected: true,
  },
  {
    description: 'anything-but prefix: a number is anything but a string starting with init',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    event: withDetail({ state: 3 }),
    expected: true,
  },
  {
    description: 'anything-but suffix: photo.png ends with .png',
    pattern: { detail: { FileName: [{ 'anything-but': { suffix: '.png' } }] } },
    event: withDetail({ FileName: 'photo.png' }),
    expected: false,
  },
  {
    description: 'anything-but equals-ignore-case: STOPPED is stopped in another case',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'Overloaded'] } }] } },
    event: withDetail({ state: 'STOPPED' }),
    expected: false,
  },
  {
    description: 'anything-but equals-ignore-case: running is not listed',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'Overloaded'] } }] } },
    event: ec2,
    expected: true,
  },
  {
    description: 'anything-but wildcard: a path containing /lib/',
    pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
    event: withDetail({ FilePath: '/usr/lib/libc.so' }),
    expected: false,
  },
  {
    description: 'anything-but wildcard: a path without /lib/',
    pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
    event: withDetail({ FilePath: '/usr/bin/env' }),
    expected: true,
  },

  // numeric
  {
    description: 'numeric: > 0 and <= 5 includes the upper bound 5',
    pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
    event: ec2,
    expected: true,
  },
  {
    description: 'numeric: > 0 excludes the lower bound 0',
    pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
    event: withDetail({ 'c-count': 0 }),
    expected: false,
  },
  {
    description: 'numeric: <= 5 excludes 5.000001',
    pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
    event: withDetail({ 'c-count': 5.000001 }),
    expected: false,
  },
  {
    description: 'numeric: < 10 excludes 10',
    pattern: { detail: { 'd-count': [{ numeric: ['<', 10] }] } },
    event: withDetail({ 'd-count': 10 }),
    expected: false,
  },
  {
    description: 'numeric: >= -10 and < 0 includes -10',
    pattern: { detail: { delta: [{ numeric: ['>=', -10, '<', 0] }] } },
    event: withDetail({ delta: -10 }),
    expected: true,
  },
  {
    description: 'numeric: = 3.018e2 matches 301.8',
    pattern: { detail: { 'x-limit': [{ numeric: ['=', 3.018e2] }] } },
    event: ec2,
    expected: true,
  },
  {
    description: 'numeric: only JSON numbers, not numeric strings',
    pattern: { detail: { 'c-count': [{ numeric: ['>', 0] }] } },
    event: withDetail({ 'c-count': '5' }),
    expected: false,
  },

  // cidr
  {
    description: 'cidr: 10.0.0.33 is in 10.0.0.0/24',
    pattern: { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } },
    event: ec2,
    expected: true,
  },
  {
    description: 'cidr: 10.0.1.1 is not in 10.0.0.0/24',
    pattern: { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } },
    event: withDetail({ 'source-ip': '10.0.1.1' }),
    expected: false,
  },
  {
    description: 'cidr: IPv6 address in 2001:db8::/32',
    pattern: { detail: { 'source-ip': [{ cidr: '2001:db8::/32' }] } },
    event: withDetail({ 'source-ip': '2001:db8:85a3::8a2e:370:7334' }),
    expected: true,
  },
  {
    description: 'cidr: IPv6 address outside 2001:db8::/32',
    pattern: { detail: { 'source-ip': [{ cidr: '2001:db8::/32' }] } },
    event: withDetail({ 'source-ip': '2001:db9::1' }),
    expected: false,
  },
  {
    description: 'cidr: a string that is not an IP address',
    pattern: { detail: { 'source-ip': [{ cidr: '10.0.0.0/8' }] } },
    event: withDetail({ 'source-ip': 'localhost' }),
    expected: false,
  },

  // exists
  {
    description: 'exists: true, the field is present',
    pattern: { detail: { state: [{ exists: true }] } },
    event: ec2,
    expected: true,
  },
  {
    description: 'exists: true, the field is absent',
    pattern: { detail: { state: [{ exists: true }] } },
    event: withDetail({ 'instance-id': 'i-1' }),
    expected: false,
  },
  {
    description: 'exists: true does not match an intermediate node (docs)',
    pattern: { detail: { 'c-count': [{ exists: true }] } },
    event: withDetail({ 'c-count': { c1: 100 } }),
    expected: false,
  },
  {
    description: 'exists: false, the field is absent',
    pattern: { detail: { 'c-count': [{ exists: false }] } },
    event: withDetail({ state: 'running' }),
    expected: true,
  },
  {
    description: 'exists: false, the field is present',
    pattern: { detail: { 'c-count': [{ exists: false }] } },
    event: ec2,
    expected: false,
  },
  {
    description: 'exists: false matches an intermediate node, which is not a leaf (docs)',
    pattern: { detail: { 'c-count': [{ exists: false }] } },
    event: withDetail({ state: 'running', 'c-count': { c1: 100 } }),
    expected: true,
  },
  {
    description: 'exists: false under an absent parent',
    pattern: { source: ['aws.ec2'], detail: { error: { code: [{ exists: false }] } } },
    event: ec2,
    expected: true,
  },

  // $or
  {
    description: '$or: source AND (metricName OR namespace), namespace matches (ruler README)',
    pattern: {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    },
    event: { source: 'aws.cloudwatch', metricName: 'DiskUsage', namespace: 'AWS/EC2' },
    expected: true,
  },
  {
    description: '$or: no branch matches',
    pattern: {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    },
    event: { source: 'aws.cloudwatch', metricName: 'DiskUsage', namespace: 'AWS/RDS' },
    expected: false,
  },
  {
    description: '$or: a branch matches but the AND-ed field does not',
    pattern: { source: ['aws.ec2'], $or: [{ region: ['us-east-1'] }, { account: ['1'] }] },
    event: { ...ec2, source: 'aws.s3' },
    expected: false,
  },
  {
    description: '$or: inside detail, with operators in the branches',
    pattern: {
      detail: { $or: [{ 'c-count': [{ numeric: ['>', 10] }] }, { state: [{ prefix: 'run' }] }] },
    },
    event: ec2,
    expected: true,
  },

  // Combinations
  {
    description: 'alternatives mix literals and operators (any of)',
    pattern: { detail: { state: ['stopped', { prefix: 'run' }] } },
    event: ec2,
    expected: true,
  },
  {
    description: 'complex example of the documentation',
    pattern: {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
        'source-ip': [{ cidr: '10.0.0.0/8' }],
      },
    },
    event: ec2,
    expected: true,
  },
  {
    description: 'complex example with one failing condition (d-count 10)',
    pattern: {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'd-count': [{ numeric: ['<', 10] }],
      },
    },
    event: withDetail({ ...ec2.detail, 'd-count': 10 }),
    expected: false,
  },
  {
    description: 'an event that is not an object never matches',
    pattern: { source: [{ exists: false }] },
    event: 'aws.ec2',
    expected: false,
  },
];

interface ValidationCase {
  description: string;
  pattern: unknown;
  /** A fragment of the expected error, or undefined for a valid pattern. */
  error: string | undefined;
}

const validationCases: ValidationCase[] = [
  {
    description: 'valid: every operator',
    pattern: {
      source: ['shop.orders', { prefix: 'shop.' }, { suffix: '.orders' }, { 'equals-ignore-case': 'SHOP' }],
      detail: {
        a: [
          { wildcard: 'x*y\\*z' },
          { 'anything-but': { prefix: ['a', 'b'] } },
          { numeric: ['>=', 0, '<', 1] },
        ],
        b: [{ exists: false }, { cidr: '2001:db8::/32' }, null, true, 3],
        $or: [{ c: [1] }, { d: { e: ['f'] } }],
      },
    },
    error: undefined,
  },
  { description: 'not an object', pattern: ['source'], error: 'must be a JSON object' },
  {
    description: 'a leaf that is not an array',
    pattern: { source: 'aws.ec2' },
    error: '"source" must be an object or an array',
  },
  { description: 'an empty array', pattern: { source: [] }, error: 'Empty arrays are not allowed' },
  { description: 'an empty object', pattern: { detail: {} }, error: 'detail: Empty objects are not allowed' },
  { description: 'an empty pattern', pattern: {}, error: 'Empty objects are not allowed' },
  {
    description: 'an unknown operator',
    pattern: { detail: { n: [{ between: [1, 2] }] } },
    error: 'detail.n: Unrecognized match type between',
  },
  {
    description: 'two operators in one expression',
    pattern: { source: [{ prefix: 'a', suffix: 'b' }] },
    error: 'Only one key allowed',
  },
  {
    description: 'an array inside a leaf',
    pattern: { source: [['a']] },
    error: 'Match value must be String, number, true, false, or null',
  },
  { description: 'prefix of a number', pattern: { source: [{ prefix: 1 }] }, error: 'must be a string' },
  {
    description: 'prefix with an unknown option',
    pattern: { source: [{ prefix: { 'ignore-case': 'a' } }] },
    error: 'Unsupported prefix pattern',
  },
  {
    description: 'numeric with an unknown operator',
    pattern: { n: [{ numeric: ['!=', 1] }] },
    error: 'Unrecognized numeric range operator',
  },
  {
    description: 'numeric with a string bound',
    pattern: { n: [{ numeric: ['>', '5'] }] },
    error: 'Value of > must be numeric',
  },
  {
    description: 'numeric range with bottom above top',
    pattern: { n: [{ numeric: ['>', 10, '<', 5] }] },
    error: 'Bottom must be less than top',
  },
  {
    description: 'numeric: an upper bound cannot come first',
    pattern: { n: [{ numeric: ['<', 5, '>', 1] }] },
    error: 'Too many elements',
  },
  {
    description: 'numeric: = takes a single value',
    pattern: { n: [{ numeric: ['=', 5, '<', 6] }] },
    error: 'Too many elements',
  },
  { description: 'numeric not an array', pattern: { n: [{ numeric: 5 }] }, error: 'must be an array' },
  {
    description: 'anything-but mixing strings and numbers',
    pattern: { s: [{ 'anything-but': ['a', 1] }] },
    error: 'mixed type is not supported',
  },
  {
    description: 'anything-but of null',
    pattern: { s: [{ 'anything-but': null }] },
    error: 'must be an array or single string/number value',
  },
  {
    description: 'anything-but with an unsupported operator',
    pattern: { s: [{ 'anything-but': { numeric: ['>', 1] } }] },
    error: 'Unsupported anything-but pattern: numeric',
  },
  {
    description: 'anything-but prefix empty',
    pattern: { s: [{ 'anything-but': { prefix: '' } }] },
    error: 'Null prefix/suffix not allowed',
  },
  {
    description: 'exists not a boolean',
    pattern: { s: [{ exists: 'yes' }] },
    error: 'exists match pattern must be either true or false',
  },
  {
    description: 'cidr prefix too long',
    pattern: { ip: [{ cidr: '10.0.0.0/33' }] },
    error: 'Malformed CIDR',
  },
  {
    description: 'cidr without a prefix length',
    pattern: { ip: [{ cidr: '10.0.0.1' }] },
    error: 'Malformed CIDR',
  },
  {
    description: 'wildcard with consecutive stars',
    pattern: { s: [{ wildcard: 'a**b' }] },
    error: 'Consecutive wildcard characters',
  },
  {
    description: 'wildcard escaping another character',
    pattern: { s: [{ wildcard: 'a\\b' }] },
    error: 'Invalid escape character',
  },
  {
    description: '$or with a single branch',
    pattern: { $or: [{ source: ['a'] }] },
    error: '$or needs at least 2 objects',
  },
  {
    description: '$or not followed by an array',
    pattern: { $or: { source: ['a'] } },
    error: 'must be followed by an array',
  },
  {
    description: '$or with a non-object branch',
    pattern: { $or: [{ source: ['a'] }, 'b'] },
    error: 'only JSON objects are allowed',
  },
  {
    description: 'an operator name used as a field inside $or',
    pattern: { $or: [{ numeric: [123] }, { prefix: ['abc'] }] },
    error: 'reserved name',
  },
  {
    description: 'errors name the path of a nested $or branch',
    pattern: { detail: { $or: [{ a: [1] }, { b: [{ exists: 1 }] }] } },
    error: 'detail.$or[1].b',
  },
];

describe('matchesPattern', () => {
  it.each(matchCases)('$description → $expected', ({ pattern, event, expected }) => {
    expect(matchesPattern(pattern, event)).toBe(expected);
  });

  it('uses only valid patterns in its cases (except the empty-array leaf)', () => {
    const invalid = matchCases
      .map((c) => ({ description: c.description, error: validatePattern(c.pattern) }))
      .filter((c) => c.error !== undefined);
    expect(invalid).toEqual([
      { description: 'empty-array leaf never matches', error: 'source: Empty arrays are not allowed' },
    ]);
  });
});

describe('validatePattern', () => {
  it.each(validationCases)('$description', ({ pattern, error }) => {
    const result = validatePattern(pattern);
    if (error === undefined) expect(result).toBeUndefined();
    else expect(result).toContain(error);
  });
});
