// The kernel module: every export is a pure function over pointers into this module's linear memory, which
// the host owns and lays out (stub runtime: nothing here allocates). heapBase tells the host where its
// arena may start.
export { sqEuclidean, weightedSqEuclidean } from './distance';
export { cholesky, invertChol, logDetChol, mahalanobis, gaussianLogPdf } from './linalg';
export { logSumExpRows, softmaxRows } from './softmax';
export { kmeansPlusPlus, kmeansLloyd, kmeansMiniBatch } from './kmeans';
export { diagPrecision, gmmEStepFull, gmmEStepDiag, gmmMStepFull, gmmMStepDiag } from './gmm';
export { klDiscrete, psi, jsDivergence, klGaussian, klGmmVariational } from './divergence';
export { mixtureEStep, mixtureStats } from './mixture';

/** First byte past the module's static data: the host's arena starts here (rounded up to 16). */
export function heapBase(): usize {
  return __heap_base;
}
