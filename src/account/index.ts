// An account's state ({ household, ledger }) and the offline journeys built from it (docs/attribution.md).
export { Account } from './account.js'
export type { AccountOptions, AccountRemoval, AssignSource } from './account.js'
export { JourneyBuilder, buildJourneys, JOURNEY_LEVELS } from './journeys.js'
export type { JourneyLevel, JourneyOptions, JourneyStats, PersonSplit } from './journeys.js'
