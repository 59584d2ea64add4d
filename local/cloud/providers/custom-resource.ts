import { createHash, randomUUID } from 'node:crypto';
import { stackIdOf } from '../intrinsics.ts';
import type { Provider } from './types.ts';

/**
 * `Custom::*` and `AWS::CloudFormation::CustomResource`: the service-token function is sent the
 * CloudFormation request (Create, or Update with the previous properties when they changed since the last
 * deploy) and its answer to the ResponseURL becomes the resource's physical id and attributes. Unchanged
 * properties run nothing, as in CloudFormation.
 */
export const customResource: Provider = async ({ props, env, stack, logicalId, resource }) => {
  const { ServiceToken, ...properties } = props;
  const key = `${stack.stackName}/${logicalId}`;
  const propertiesHash = createHash('sha256').update(JSON.stringify(props)).digest('hex');
  const previous = env.state.customResources[key];
  if (previous?.propertiesHash === propertiesHash) {
    return { ref: previous.physicalId, attributes: previous.data };
  }
  if (!env.runtime.get(String(ServiceToken))) {
    throw new Error(`custom resource service token ${ServiceToken} is not a deployed function`);
  }
  const resourceProperties = { ServiceToken, ...properties };
  const response = await env.runCustomResource(String(ServiceToken), {
    RequestType: previous ? 'Update' : 'Create',
    ServiceToken,
    StackId: stackIdOf(env.region, env.accountId, stack.stackName),
    RequestId: randomUUID(),
    ResourceType: resource.Type,
    LogicalResourceId: logicalId,
    ...(previous
      ? { PhysicalResourceId: previous.physicalId, OldResourceProperties: previous.properties ?? {} }
      : {}),
    ResourceProperties: resourceProperties,
  });
  if (response.Status !== 'SUCCESS')
    throw new Error(`custom resource failed: ${response.Reason ?? 'no reason given'}`);
  const physicalId = response.PhysicalResourceId ?? `${key}-local`;
  const data = response.Data ?? {};
  env.state.customResources[key] = { propertiesHash, physicalId, data, properties: resourceProperties };
  return { ref: physicalId, attributes: data };
};
