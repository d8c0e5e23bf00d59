// idr's public API. Deeper modules are internal; tests and benchmarks may reach them, users should not need to.
export { IdrError, KernelError } from './errors.js'
export type { KernelErrorCode } from './errors.js'
export { version } from './paths.js'

export { KernelOps, DEFAULT_EMPTY_BIN_EPS } from './kernels/ops.js'
export type { Gaussian, Mixture, MiniBatchState, KMeansResult } from './kernels/ops.js'
export { createWasmKernels, createTwinKernels, defaultKernels } from './kernels/backend.js'
export type { Kernels, KernelFunctions } from './kernels/backend.js'
export { matrix, fromRows } from './kernels/validate.js'
export type { Matrix } from './kernels/validate.js'
export { GMM_DEFAULTS, gmmParamCount } from './kernels/gmm.js'
export type { CovarianceType, GaussianMixture, GmmCandidate, GmmOptions, GmmSelectOptions, GmmSelection } from './kernels/gmm.js'
export { GmmPool, gmmWork, POOL_MIN_WORK } from './kernels/pool.js'
export type { GmmJob, GmmPoolOptions, Placement } from './kernels/pool.js'
export type { GmmJobResult } from './kernels/protocol.js'

export { adjustedRandIndex } from './sim/metrics.js'
