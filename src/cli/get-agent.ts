/**
 * The first half of a plain `sstash get`, which scripts run most: when the agent holds the
 * stash, it reads the value (../agent/read-first.ts), so that this process loads its own small
 * bundle (scripts/bundle.mjs) and neither node:crypto nor the code that opens a stash.
 *
 * Anything else (no agent, an unsafe agent directory, a team stash, a stash the agent does not
 * hold, a key that is missing or holds no value, a key path that does not parse) goes to the
 * other half (./get.ts), which does what it always did: the same values, hints and errors. A
 * line that is not a plain `get` goes to the full `sstash`.
 */
import { agentFirstRead } from '../agent/read-first.js'
import type { AgentSaid } from '../agent/request.js'
import { stashPath } from '../locations.js'
import { parseKeyPath } from '../tree/key-path.js'
import { Tree } from '../tree/tree.js'
import { runMain } from './exit.js'
import { plainGet, printValue } from './get-line.js'

/**
 * The value at `keypath` in the stash at `stash`, read by the agent; else what the other half
 * should know (see agentFirstRead).
 */
async function agentValue(stash: string | undefined, keypath: string): Promise<Uint8Array | AgentSaid> {
  try {
    const key = parseKeyPath(keypath)
    const tree = await agentFirstRead(stashPath(stash), [key], process.env)
    return tree instanceof Tree ? tree.read(key) : tree
  } catch {
    return {}
  }
}

/**
 * Runs a plain `sstash get` through the agent, or hands over to `other` (the rest of `sstash`)
 * with what the agent said.
 * @param argv - the arguments after the program name
 * @returns undefined (having done nothing) for any command line but a plain `get`
 */
export function main(argv: readonly string[], other: (said: AgentSaid) => Promise<void> | undefined): Promise<void> | undefined {
  const plain = plainGet(argv)
  if (plain === undefined) return undefined
  return agentValue(plain.options.stash, plain.keypath).then((got) => (got instanceof Uint8Array ? runMain(async () => printValue(got)) : other(got)))
}
