/**
 * `sstash get`, the command scripts run most (`$(sstash get ...)`), when the agent could not
 * answer it (./get-agent.ts, tried first): it opens the stash with the usual key sources. It has
 * a bundle of its own (scripts/bundle.mjs), so that a plain `sstash [--stash <path>] get
 * <keypath>` runs without loading cac, the other commands and their code (docs/SPEED.md). Any
 * other line, `--help` and mistakes included, is left to the full `sstash` (./sstash.ts), which
 * runs `get` with this same function.
 */
import type { AgentSaid } from '../agent/request.js'
import { parseKeyPath } from '../tree/key-path.js'
import { runMain } from './exit.js'
import { plainGet, printValue } from './get-line.js'
import { readFromOptions, type GlobalOptions } from './stash-options.js'

/** Prints the value at `keypath`: raw bytes, with a newline added only on a terminal. */
export async function get(keypath: string, options: GlobalOptions, said: AgentSaid = {}): Promise<void> {
  const key = parseKeyPath(keypath)
  printValue((await readFromOptions(options, [key], said)).read(key))
}

/**
 * Runs a plain `sstash get` (see {@link plainGet}).
 * @param said - what ./get-agent.ts learnt from the agent
 * @returns its completion, or undefined (having done nothing) for any other command line
 */
export function main(argv: readonly string[], said: AgentSaid = {}): Promise<void> | undefined {
  const plain = plainGet(argv)
  return plain && runMain(() => get(plain.keypath, plain.options, said))
}
