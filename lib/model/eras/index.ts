// The model of each era, by id.
import type { EraId, ModelEnv, MremapCall, Prediction } from '../types.js';
import type { KernelVersion } from '../../kernel.js';
import { LATEST_MERGES, type MergePolicy, type VmaSet } from '../vmas.js';
import { era51to515, era51to515Merges } from './5.1-5.15.js';
import { era516to614, era516to614Merges } from './5.16-6.14.js';
import { era615to616, era615to616Merges } from './6.15-6.16.js';
import { era617to70 } from './6.17-7.0.js';
import { era71 } from './7.1.js';
import { pre51, pre51Merges } from './pre-5.1.js';

export type EraModel = (state: VmaSet, call: MremapCall, env: ModelEnv) => Prediction;

/** The merge rules of an era's releases, by version (docs/merges.md#model-rules). */
export const ERA_MERGES: Record<EraId, (v: KernelVersion) => MergePolicy> = {
  'pre-5.1': pre51Merges,
  '5.1-5.15': era51to515Merges,
  '5.16-6.14': era516to614Merges,
  '6.15-6.16': era615to616Merges,
  '6.17-7.0': () => LATEST_MERGES,
  '7.1+': () => LATEST_MERGES,
};

export const ERA_MODELS: Record<EraId, EraModel> = {
  'pre-5.1': pre51,
  '5.1-5.15': era51to515,
  '5.16-6.14': era516to614,
  '6.15-6.16': era615to616,
  '6.17-7.0': era617to70,
  '7.1+': era71,
};
