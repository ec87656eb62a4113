// What the Ctrl-C handler (main.ts) needs to know about the running command.
// Process-wide on purpose: there is one command per process.
export const session = {
  /** An operation is being followed: Ctrl-C detaches instead of exiting. */
  following: false,
  /** A mutating call in flight ("" = none): Ctrl-C says it may still take effect. */
  changeInFlight: '',
};
