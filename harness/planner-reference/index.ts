// FROZEN REFERENCE: the pre-optimisation planner (see the header of each file
// here), kept to prove that the optimised coordinator/planner/ plans exactly
// the same. Imported only by tests and the benchmark.
export { planMaintenance } from './plan.ts';
export { pickTarget, evaluateCandidates, chooseTarget, trimCandidates } from './placement.ts';
export { Reservations } from './reservations.ts';
