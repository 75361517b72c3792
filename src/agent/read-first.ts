/**
 * The read that the small first halves of `sstash get` (../cli/get-agent.ts) and `sstash-run`
 * (../cli/run-agent.ts) ask our agent for, before any code that opens a stash is loaded: the
 * agent's `read`, as every client asks it. The checks stay: the agent directory and socket are
 * checked as every client checks them (agentSocket, strict, so that an unsafe directory is
 * reported once, by the second half), and the agent answers only for the stash at this real
 * path as the file is now, read as any stash is read.
 */
import { realpathSync } from 'node:fs'
import { isTeamStashFile } from '../team/detect.js'
import { decodeTree } from '../tree/codec.js'
import type { Tree } from '../tree/tree.js'
import { agentSocket } from './directory.js'
import { PROTOCOL_VERSION } from './protocol.js'
import { agentAnswer, isNotServing, saidOf, type AgentSaid } from './request.js'

type Env = Readonly<Record<string, string | undefined>>

/**
 * The subtrees at `keys` of the stash at `stash`, read by the agent, each of them found; else
 * what the second half should know: nothing (no agent, an unsafe agent directory, a team stash,
 * a key it does not have), or not to ask the agent again (it holds no key for the stash at all,
 * or did not answer in time). Never throws.
 */
export async function agentFirstRead(stash: string, keys: string[][], env: Env): Promise<Tree | AgentSaid> {
  try {
    const socket = agentSocket(env, true)
    if (socket === undefined) return {}
    const path = realpathSync(stash)
    // A team stash is opened with the member's key, never held by path: nothing to ask.
    if (isTeamStashFile(path)) return {}
    const answer = await agentAnswer(socket, { v: PROTOCOL_VERSION, op: 'read', path, keys }, 3_000)
    if (isNotServing(answer)) return saidOf(answer)
    if (!answer?.ok || answer.found !== true || typeof answer.tree !== 'string' || answer.missing !== undefined) return {}
    return decodeTree(new Uint8Array(Buffer.from(answer.tree, 'base64')))
  } catch {
    return {}
  }
}
