/**
 * The stash a command works on: `--stash`, else SSTASH_FILE, else the default location, opened
 * or read with the usual key sources (../unlock/open.ts).
 */
import type { AgentSaid } from '../agent/request.js'
import { stashPath } from '../locations.js'
import type { Tree } from '../tree/tree.js'
import { openStash, readStash, requireStash, type OpenedStash } from '../unlock/open.js'

/** Options every sstash command accepts (see ./argv.ts: values are strings exactly as typed). */
export interface GlobalOptions {
  /** `--stash <path>`; else SSTASH_FILE; else the default location. */
  stash?: unknown
}

/** An option's value as typed: the last one when it was given more than once; undefined when absent. */
export const optionText = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : Array.isArray(value) ? (value.findLast((v) => typeof v === 'string') as string | undefined) : undefined

/** The stash the options name; a missing file fails here, before any password is asked. */
export function existingStash(options: GlobalOptions): string {
  const path = stashPath(optionText(options.stash))
  requireStash(path)
  return path
}

/**
 * Opens the stash the options name, with the key or password from the usual sources (the
 * agent, SSTASH_PASSWORD_FILE, SSTASH_PASSWORD, SSTASH_ASKPASS, a /dev/tty prompt).
 * @throws {SSError} STASH_NOT_FOUND (with a hint to run `sstash init`), NO_PASSWORD; SSCryptoError
 */
export async function openFromOptions(options: GlobalOptions): Promise<OpenedStash> {
  // A missing file fails in openStash, which reads it once, before any password is asked.
  return openStash(stashPath(optionText(options.stash)))
}

/**
 * Reads the subtrees at `keys` of the stash the options name, for a command that only reads:
 * through the agent when it holds the stash, with no cipher loaded (see readStash).
 * @param said - what a client that asked the agent first learnt (see AgentSaid)
 * @throws as {@link openFromOptions}
 */
export async function readFromOptions(options: GlobalOptions, keys: string[][], said: AgentSaid = {}): Promise<Tree> {
  return readStash(stashPath(optionText(options.stash)), keys, said)
}
