import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * Grants exactly these actions on the table, and on the named indexes only (no `index/*` wildcard):
 * what a function may do to a table is readable from its policy.
 *
 * @example
 * grantTable(fn, catalogTable, ['dynamodb:Query'], ['byCategory']);
 */
export function grantTable(
  fn: lambda.IFunction,
  table: dynamodb.ITableV2,
  actions: string[],
  indexes: string[] = [],
): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions,
      resources: [table.tableArn, ...indexes.map((index) => `${table.tableArn}/index/${index}`)],
    }),
  );
}
