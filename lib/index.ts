// The package's public API.
export * from './sys.js';
export * from './maps.js';
export * from './kernel.js';
export { native, nativeAvailable, AddonUnavailableError } from './native.js';
export type { NativeAddon, NativeConstants, SyscallOutcome } from './native.js';
