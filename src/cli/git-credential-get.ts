/**
 * The first half of git-credential-sstash, which git starts on every fetch: a `get` for a stash
 * the agent holds is answered by the agent (src/agent/credential.ts) from git's request as git
 * wrote it, so that this process loads a few kilobytes (its own bundle, scripts/bundle.mjs)
 * instead of the helper with its parser, mapping and tree. The checks stay: the agent directory
 * and socket are checked as every client checks them (agentSocket), and the agent answers only
 * for the stash at this real path, as the file is now.
 *
 * Anything else (another action, an option it does not read, no agent, an unsafe agent
 * directory, no stash, an agent that cannot answer) goes to the full helper (./git-credential-sstash.ts)
 * with what was read of the request, which does what it always did: the same lines, hints and errors.
 */
import { realpathSync } from 'node:fs'
import { agentCredential } from '../agent/credential-client.js'
import { agentSocket } from '../agent/directory.js'
import type { AgentSaid } from '../agent/request.js'
import { mappingRulesPath } from '../git/mapping-rules.js'
import { stashPath } from '../locations.js'
import { readRequestSync, type PendingRequest } from './credential-request.js'
import { writeStdout } from './stdout.js'

/** Runs the full helper, with what was read of git's request and what the agent said. */
export type FullHelper = (pending?: PendingRequest, said?: AgentSaid) => Promise<void>

/**
 * The options of a plain `[--stash <path>] [--prefix <keypath>] get` (each option as two
 * arguments or `--name=value`, the last one winning, as the full helper reads them), else undefined.
 *
 * A scan of its own, not ./argv.ts: git starts this on every fetch, and argv.ts's first call
 * costs 0.35-0.4 ms more than this scan (compiling and warming a general parser; median of 120
 * fresh processes, Node 20), about 1% of the helper's CPU. It accepts only what argv.ts reads
 * the same way (a property test holds that: test/unit/cli/git-credential-get.test.ts) and hands
 * every other line to the full helper, which parses with argv.ts.
 */
export function plainGet(argv: readonly string[]): { stash?: string; prefix?: string } | undefined {
  const options: { stash?: string; prefix?: string } = {}
  let action: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    // An argument Node could not decode is the full helper's to refuse, with its own message.
    if (arg.includes('\ufffd')) return undefined
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg : arg.slice(0, eq)
    if (name === '--stash' || name === '--prefix') {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
      if (value === undefined || value === '' || value.startsWith('-') || value.includes('\ufffd')) return undefined
      options[name === '--stash' ? 'stash' : 'prefix'] = value
    } else if (arg === 'get' && action === undefined) action = arg
    else return undefined
  }
  return action === undefined ? undefined : options
}

/**
 * Runs git-credential-sstash's `get` through the agent, or hands over to `full`.
 * @param argv - the arguments after the program name
 * @param full - the full helper
 */
export async function main(argv: readonly string[], full: FullHelper): Promise<void> {
  const options = plainGet(argv)
  if (options === undefined) return full()
  let socket: string | undefined
  let path: string
  try {
    // Strict: an unsafe directory throws here, and the full helper says so, once.
    socket = agentSocket(process.env, true)
    path = realpathSync(stashPath(options.stash))
  } catch {
    return full()
  }
  if (socket === undefined) return full()
  const pending = readRequestSync()
  const answer = pending.complete ? await agentCredential(socket, { path, prefix: options.prefix, rules: mappingRulesPath() }, pending.bytes) : {}
  if (!(answer instanceof Uint8Array)) return full(pending, answer)
  try {
    writeStdout(answer)
  } catch (error) {
    process.stderr.write(`sstash: error: ${(error as Error).message}\n`)
    process.exitCode = 1
  }
}
