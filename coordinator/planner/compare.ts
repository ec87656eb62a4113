// Plans must be identical whatever order the inventory arrives in and
// whatever the machine's locale: every sort in the planner uses this
// code-unit comparison instead of localeCompare.
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
