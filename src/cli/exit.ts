/**
 * How a binary ends: a user error exits non-zero with one line on stderr (and a hint where one
 * helps); a stack trace only with SSTASH_DEBUG=1, or for a bug.
 */
import { EXIT, exitStatusOf, SSError, type SSErrorCode } from '../errors.js'
import { printError, printHint } from './print.js'

/** Exit codes, documented in the README and docs/ERRORS.md (the table lives in ../errors.ts). */
export { EXIT } from '../errors.js'

/** A usage error: wrong arguments. Exits 2. */
export class UsageError extends SSError {
  override name = 'UsageError'
  constructor(message: string, hint?: string) {
    super(message, 'USAGE', hint === undefined ? undefined : { hint })
  }
}

const HINTS: Partial<Record<SSErrorCode, string>> = {
  STASH_NOT_FOUND: 'did you mean `sstash init`? (or pass --stash <path>, or set SSTASH_FILE)',
  NO_PASSWORD: 'run `sstash unlock` in a terminal first',
  KEY_CHANGED: 'run `sstash unlock` again',
  LOCK_TIMEOUT: 'another sstash process is writing; if none is, `sstash doctor` checks for a stale lock',
  KEY_NOT_FOUND: '`sstash ls` lists the keys (`sstash tree` shows all of them)',
  NO_VALUE: 'this key only has children: `sstash ls <keypath>` lists them',
  BAD_KEYPATH_SYNTAX: 'segments are joined by /; write \\/ for a / inside a name, \\\\ for \\, \\e for an empty name',
}

/** The exit code for an error: its code's, from the one table (EXIT_STATUS in ../errors.ts); 1 for a bug. */
export function exitCodeOf(error: unknown): number {
  return error instanceof SSError ? exitStatusOf(error.code) : EXIT.ERROR
}

/**
 * Reports an error as one line (plus a hint where one helps) and returns its exit code.
 * Errors that are not ours are bugs: they get a stack trace.
 */
export function reportError(error: unknown): number {
  const debug = process.env.SSTASH_DEBUG === '1'
  if (error instanceof SSError) {
    printError(error.message)
    for (const more of error.details ?? []) printError(more)
    const hint = error.hint ?? HINTS[error.code]
    if (hint) printHint(hint)
    if (debug) process.stderr.write(`${error.stack}\n`)
  } else {
    printError(`internal error: ${(error as Error)?.message ?? String(error)}`)
    process.stderr.write(`${(error as Error)?.stack ?? ''}\n`)
  }
  return exitCodeOf(error)
}

/** Runs a binary's body, turning any error into one line on stderr and an exit code. */
export async function runMain(body: () => Promise<number | void>): Promise<void> {
  try {
    const code = await body()
    if (typeof code === 'number') process.exitCode = code
  } catch (error) {
    process.exitCode = reportError(error)
  }
}
