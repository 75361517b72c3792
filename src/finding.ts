/**
 * What `sstash doctor` reports, one line per finding. Every part that has something to say
 * (the store, git's setup, a team stash, the project in the working directory) returns these,
 * so the type sits below them all and none of them imports another's doctor for it.
 */

/** How much a finding matters: `problem` and `warning` make `sstash doctor` exit 1. */
export type Severity = 'ok' | 'note' | 'warning' | 'problem'

/** One thing `diagnose` found. */
export interface Finding {
  severity: Severity
  /** What was found, in one line, never a secret. */
  what: string
  /** A command or step that fixes it. */
  fix?: string
}
