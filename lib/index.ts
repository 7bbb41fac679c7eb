// The package's public API.
export * from './sys.js';
export * from './maps.js';
export * from './kernel.js';
export { native, nativeAvailable, AddonUnavailableError } from './native.js';
export type { NativeAddon, NativeConstants, SyscallOutcome } from './native.js';
export { Lab, LabDiedError, LabHazardError, describeEnd } from './lab.js';
export type {
  LabOp,
  LabResult,
  LabOptions,
  VmaSnapshot,
  PageState,
  MapCountReading,
} from './lab.js';
export { PressureLab, parseTarget, resolveTarget, DEFAULT_MAX_FILL } from './pressure.js';
export type { PressureReading, Arena, TargetSpec } from './pressure.js';
export { CaseRunner, machineFacts } from './runner.js';
export type { CaseRun, Observation, MachineFacts } from './runner.js';
export { runProbe } from './probe.js';
export type { RunReport, CaseReport } from './report/report.js';
export { catalogue, findScenario, filterScenarios, FAMILIES } from './scenarios/index.js';
export type { Scenario, Family } from './scenarios/types.js';
export { explainCase } from './explain.js';
export { ERAS, eraOfVersion } from './model/types.js';
export type { EraId } from './model/types.js';
export { lowerMaxMapCount, restoreFromState } from './sysctl.js';
