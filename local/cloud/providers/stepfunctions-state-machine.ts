import { validationKey } from '../../stepfunctions/service.ts';
import type { Provider } from './types.ts';

/** `AWS::StepFunctions::StateMachine`: the definition from the template, unchanged, run locally. */
export const stepFunctionsStateMachine: Provider = ({ props, env, name, arn }) => {
  const machineName = String(props.StateMachineName ?? name(80));
  const definition =
    props.DefinitionString ?? (props.Definition ? JSON.stringify(props.Definition) : undefined);
  if (typeof definition !== 'string') throw new Error('no DefinitionString or Definition');
  if (!env.stepFunctions) {
    env.warn(`state machine ${machineName} is not run: this deploy has no Step Functions`);
    const machineArn = arn('states', `stateMachine:${machineName}`);
    return { ref: machineArn, attributes: { Arn: machineArn, Name: machineName } };
  }
  // A definition validated by an earlier deploy (same definition, same validator) is not validated again.
  const key = validationKey(definition);
  const validated = env.state.validatedStateMachines ?? [];
  const machineArn = env.stepFunctions.addStateMachine(machineName, definition, {
    validated: validated.includes(key),
  });
  env.state.validatedStateMachines = [key, ...validated.filter((k) => k !== key)].slice(0, 20);
  return { ref: machineArn, attributes: { Arn: machineArn, Name: machineName } };
};
