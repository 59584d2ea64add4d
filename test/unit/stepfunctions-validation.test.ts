import { describe, expect, it } from 'vitest';
import type { DeployState } from '../../local/cloud/deploy.ts';
import { stepFunctionsStateMachine } from '../../local/cloud/providers/stepfunctions-state-machine.ts';
import type { ProviderRequest } from '../../local/cloud/providers/types.ts';
import { LocalStepFunctions, validationKey } from '../../local/stepfunctions/service.ts';

const valid = JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
const invalid = JSON.stringify({ StartAt: 'Missing', States: { Done: { Type: 'Succeed' } } });

const deploy = (definition: string, state: DeployState) => {
  const stepFunctions = new LocalStepFunctions({
    region: 'us-east-1',
    accountId: '000000000000',
    invoke: async () => ({}),
  });
  return stepFunctionsStateMachine({
    logicalId: 'Machine',
    props: { StateMachineName: 'machine', DefinitionString: definition },
    env: { stepFunctions, state, warn: () => {} },
    name: () => 'stack-Machine',
    arn: (service: string, rest: string) => `arn:aws:${service}:us-east-1:000000000000:${rest}`,
  } as unknown as ProviderRequest);
};

describe('state machine validation on deploy', () => {
  it('refuses an invalid definition, and remembers the keys of those it validated', async () => {
    const state: DeployState = { customResources: {} };
    expect(() => deploy(invalid, state)).toThrow();
    expect(state.validatedStateMachines ?? []).toEqual([]);
    await deploy(valid, state);
    expect(state.validatedStateMachines).toEqual([validationKey(valid)]);
  });

  it('does not validate again a definition an earlier deploy validated, and validates any other', async () => {
    // A key in the state is what a successful validation of that very definition left: skipping
    // shows as an invalid definition getting through under a key that says it passed.
    const state: DeployState = { customResources: {}, validatedStateMachines: [validationKey(invalid)] };
    await expect(Promise.resolve(deploy(invalid, state))).resolves.toMatchObject({ ref: expect.any(String) });
    const changed = JSON.stringify({ StartAt: 'Nope', States: { Done: { Type: 'Succeed' } } });
    expect(() => deploy(changed, state)).toThrow();
  });

  it('keys a definition by its text and the validating library version', () => {
    expect(validationKey(valid)).toBe(validationKey(valid));
    expect(validationKey(valid)).not.toBe(validationKey(`${valid} `));
  });
});
