/**
 * The public sources the conformance suite checks the local cloud against. Every case names one of these
 * (and the test, section or example it comes from), so a failing case points at what AWS documents.
 */
export const SOURCES = {
  ruler: 'aws/event-ruler src/test/software/amazon/event/ruler/RulerTest.java',
  rulerCompiler: 'aws/event-ruler src/main/software/amazon/event/ruler/JsonRuleCompiler.java',
  rulerReadme: 'aws/event-ruler README.md',
  ebFiltering: 'EventBridge user guide, "Content filtering in event patterns"',
  ebArrays: 'EventBridge user guide, "Arrays in event patterns"',
  ebTransform: 'EventBridge user guide, "Transforming target input"',
  apigwProxy: 'API Gateway developer guide, "Set up Lambda proxy integrations" (input and output format)',
  apigwErrors:
    'API Gateway developer guide, "Gateway response types" (MISSING_AUTHENTICATION_TOKEN, INTEGRATION_TIMEOUT) and "Quotas" (29 s integration timeout)',
  cfn: (fn: string) => `CloudFormation user guide, "${fn}"`,
} as const;
