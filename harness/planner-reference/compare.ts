// FROZEN REFERENCE: verbatim copy of coordinator/planner/compare.ts as of commit 9738019,
// before the planner was optimised. Imported only by tests (test/planner-equivalence.test.ts)
// and bench/planner.ts to prove the optimised planner gives the same answers. Do not edit;
// only the import paths were adjusted to this directory.
// Plans must be identical whatever order the inventory arrives in and
// whatever the machine's locale: every sort in the planner uses this
// code-unit comparison instead of localeCompare.
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
