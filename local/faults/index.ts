/**
 * Fault control for the embedded local cloud (issues 9, 11, 12): one registry of fault kinds, one
 * authenticated HTTP surface (`/_local/faults`), one CLI (`npm run local -- faults`). Faults are
 * injected by the local cloud, never by application code; on AWS the same faults are FIS experiments.
 *
 * @module
 */
export { FaultController, handleFaultRequest } from './controller.ts';
export { BUILT_IN_FAULTS } from './kinds.ts';
export {
  FaultError,
  type FaultKind,
  type FaultRecord,
  type FaultTargets,
  type Injected,
  seconds,
  text,
} from './types.ts';
