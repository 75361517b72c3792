/**
 * `sstash-run [options] -- <command> [args...]`: runs a command with stash subtrees and
 * reference files (`--env-file`) as environment variables. bin/sstash-run.cjs runs the small
 * first half (./run-agent.ts) first; this is the second, which opens the stash when the agent
 * cannot serve the read, and reports every error. The line itself is ./run-line.ts.
 */
import { takeIgnoredSignals } from '../env/runner.js'
import { readStash } from '../unlock/open.js'
import { runMain } from './exit.js'
import { prepare, start, type Handed } from './run-line.js'

/**
 * Entry point of the binary.
 * @param handed - from the first half, when it ran (the launcher's note is gone from the environment by then)
 */
export async function main(argv: string[], handed?: Handed): Promise<void> {
  await runMain(async () => {
    const ignored = handed?.ignored ?? takeIgnoredSignals(process.env)
    return start(await prepare(argv, (stash, keys, env) => readStash(stash, keys, { env, ...handed?.said }), ignored))
  })
}
