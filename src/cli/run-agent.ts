/**
 * The first half of `sstash-run`, which sits in front of `npm start`: the whole line (./run-line.ts)
 * with a stash read that only asks our agent (../agent/read-first.ts), so that this process loads
 * its own small bundle (scripts/bundle.mjs) and neither node:crypto nor the code that opens a
 * stash. Reference files, package.json's field, naming, `--mask` and the start are the same code
 * as the second half's.
 *
 * Anything it cannot do (the agent does not hold the stash, a team stash, a key the stash does
 * not have, any error before the command starts) goes to the second half (./sstash-run.ts), told
 * what the agent said and the signals taken from the launcher's note: it does the line again and
 * reports every error itself, so each error reads as it always did. This half prints nothing
 * before it has the command's environment.
 */
import { agentFirstRead } from '../agent/read-first.js'
import type { AgentSaid } from '../agent/request.js'
import { takeIgnoredSignals } from '../env/runner.js'
import { Tree } from '../tree/tree.js'
import { runMain } from './exit.js'
import { prepare, start, type Handed, type Prepared } from './run-line.js'

/** Thrown by the read when the agent cannot serve it. */
class Unserved {
  constructor(readonly said: AgentSaid) {}
}

/**
 * Runs `sstash-run` with the agent's read, or hands the line over to `other`.
 * @param argv - the arguments after the program name
 */
export async function main(argv: readonly string[], other: (handed: Handed) => Promise<void>): Promise<void> {
  const ignored = takeIgnoredSignals(process.env)
  let prepared: Prepared
  try {
    prepared = await prepare(
      argv,
      async (stash, keys, env) => {
        const tree = await agentFirstRead(stash, keys, env)
        if (tree instanceof Tree) return tree
        throw new Unserved(tree)
      },
      ignored,
    )
  } catch (error) {
    return other({ said: error instanceof Unserved ? error.said : {}, ignored })
  }
  await runMain(() => start(prepared))
}
