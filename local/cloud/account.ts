/** Where the local cloud says it runs: the region and the account of every ARN it creates. */
export const REGION = 'us-east-1';

/**
 * The account id of everything the local cloud creates (ARNs, `AWS::AccountId`, event envelopes, custom
 * resource requests): one value, `LOCAL_ACCOUNT_ID` when set.
 */
export const ACCOUNT_ID = process.env.LOCAL_ACCOUNT_ID ?? '000000000000';
