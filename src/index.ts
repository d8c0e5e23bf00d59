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

export { adjustedRandIndex } from './sim/metrics-clustering.js'
// The simulator with its Bayes oracle, and NDJSON event files (docs/simulator.md)
export { simulate } from './sim/simulator.js'
export type { Simulation } from './sim/simulator.js'
export { oraclePosterior, bayesCeiling } from './sim/oracle.js'
export { writeEventsNdjson, readEventsNdjson } from './sim/ndjson.js'

export { Household, UNKNOWN_PERSON } from './model/household.js'
export type { Assignment, HouseholdOptions, HouseholdOutput, PersonProbability } from './model/household.js'
export { validateEvent, EventError } from './model/events.js'
export type { IdrEvent } from './model/events.js'

// the engine (docs/operations.md)
export { Engine } from './engine/engine.js'
export type { EngineOptions, EngineStats, EngineLog } from './engine/engine.js'
export { createEmbedded } from './engine/embedded.js'
export type { EmbeddedEngine, EmbeddedOptions, PersonsChange } from './engine/embedded.js'
export { InProcessBus } from './transport/in-process.js'
export { NatsBus } from './transport/nats.js'
export type { NatsBusOptions } from './transport/nats.js'
export type { Bus, InboundMessage } from './runtime/bus.js'
export { openStore, SqliteStore } from './store/sqlite-store.js'
export type { StoreOptions } from './store/sqlite-store.js'
export { StoreError } from './store/errors.js'
export { MemoryStore } from './runtime/memory-store.js'
export type { JourneyStore, SnapshotStore, Store, StoredHousehold } from './ports/store.js'
export { fnv1a32, partitionOf } from './contracts/partition.js'
export { Ingress, IngressError } from './ingress/ingress.js'
export type { DlqRecord, IngressOptions } from './ingress/ingress.js'
export { Pseudonymiser } from './privacy/pseudonymise.js'
export { serveApi } from './api/service.js'

// Attribution (docs/attribution.md)
export * from './attribution/index.js'
export * from './account/index.js'

// The demo (docs/demo.md)
export { runDemo } from './demo/run.js'
export type { DemoOptions, DemoProgress } from './demo/run.js'
export type { DemoReport } from './demo/report.js'
export { renderReportHtml } from './demo/html.js'

// Privacy: key epochs, erasure, access exports, retention (docs/privacy.md, docs/key-rotation.md)
export { KeyRing, recordKeyEpoch } from './privacy/keyring.js'
export { Eraser, ErasureError, checkRequest } from './privacy/erase.js'
export type { ErasureRequest, ErasureResult, EventStream, ErasurePseudonyms } from './privacy/erase.js'
export { accessExport } from './privacy/export.js'
export type { AccessExport } from './privacy/export.js'
export { RetentionJob, startRetention } from './privacy/retention.js'
export type { PassResult, RetentionOptions, RetentionSchedule } from './privacy/retention.js'
export { deleteMessages, eraseSubject, scanSubject } from './privacy/stream-erase.js'
// Privacy audit trail (docs/privacy.md)
export { AuditLog, AuditError, AUDIT_OPS, canonicalJson, parseAnchor } from './privacy/audit.js'
export type { AuditEntry, AuditHead, AuditRecord, AuditVerdict, AuditOp } from './privacy/audit.js'
