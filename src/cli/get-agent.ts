/**
 * The first half of a plain `sstash get`, which scripts run most: when the agent holds the
 * stash, it reads the value (the agent's `read`, as every client asks it), so that this process
 * loads its own small bundle (scripts/bundle.mjs) and neither node:crypto nor the code that opens
 * a stash. The checks stay: the agent directory and socket are checked as every client checks
 * them (agentSocket), and the agent answers only for the stash at this real path as the file is
 * now, read as any stash is read.
 *
 * Anything else (no agent, an unsafe agent directory, a team stash, a stash the agent does not
 * hold, a key that is missing or holds no value, a key path that does not parse) goes to the
 * other half (./get.ts), which does what it always did: the same values, hints and errors. A
 * line that is not a plain `get` goes to the full `sstash`.
 */
import { realpathSync } from 'node:fs'
import { agentSocket } from '../agent/directory.js'
import { PROTOCOL_VERSION } from '../agent/protocol.js'
import { NOT_SERVING, agentAnswer, type AgentSaid } from '../agent/request.js'
import { stashPath } from '../locations.js'
import { isTeamStashFile } from '../team/detect.js'
import { decodeTree } from '../tree/codec.js'
import { parseKeyPath } from '../tree/key-path.js'
import { runMain } from './exit.js'
import { plainGet, printValue } from './get-line.js'

/**
 * The value at `keypath` in the stash at `stash`, read by the agent; else what the other half
 * should know: nothing (no agent, a value it could not give), or not to ask it again (it holds
 * no key for the stash at all, or it did not answer in time).
 */
async function agentValue(stash: string | undefined, keypath: string): Promise<Uint8Array | AgentSaid> {
  try {
    // Strict: an unsafe directory throws here, and the other half says so, once.
    const socket = agentSocket(process.env, true)
    if (socket === undefined) return {}
    const path = realpathSync(stashPath(stash))
    // A team stash is opened with the member's key, never held by path: nothing to ask.
    if (isTeamStashFile(path)) return {}
    const key = parseKeyPath(keypath)
    const answer = await agentAnswer(socket, { v: PROTOCOL_VERSION, op: 'read', path, keys: [key] }, 3_000)
    if (answer === NOT_SERVING) return { agent: false }
    if (!answer?.ok || answer.found !== true || typeof answer.tree !== 'string' || answer.missing !== undefined) return {}
    return decodeTree(new Uint8Array(Buffer.from(answer.tree, 'base64'))).read(key)
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
