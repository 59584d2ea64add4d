import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { partitionOf } from '../intrinsics.ts';
import { shortId } from './ids.ts';
import type { Provider } from './types.ts';

/** `AWS::S3::Bucket`: an s3rver bucket (created when missing; its objects persist between runs). */
export const s3Bucket: Provider = async ({ props, env, stack, logicalId }) => {
  const bucket = (props.BucketName as string | undefined) ?? bucketName(stack.stackName, logicalId);
  try {
    await env.s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await env.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  const { partition, urlSuffix } = partitionOf(env.region);
  return {
    ref: bucket,
    attributes: {
      Arn: `arn:${partition}:s3:::${bucket}`,
      DomainName: `${bucket}.s3.${urlSuffix}`,
      RegionalDomainName: `${bucket}.s3.${env.region}.${urlSuffix}`,
    },
  };
};

/** CloudFormation-like bucket name: lowercase, ≤ 63 characters, stable for the same stack and id. */
function bucketName(stackName: string, logicalId: string): string {
  const base = `${stackName}-${logicalId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  return `${base.slice(0, 50)}-${shortId(base)}`.replace(/-+/g, '-');
}
