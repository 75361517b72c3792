/**
 * The git helper's `credential` request (./credential.ts): git's request as git wrote it, sent
 * to the agent, which answers with the lines to print. The helper's small half
 * (src/cli/git-credential-get.ts) loads this file and the transport, nothing more.
 */
import { MAX_SMALL_REQUEST_BYTES, PROTOCOL_VERSION, type CredentialRequest } from './protocol.js'
import { agentAnswer, isNotServing, saidOf, type AgentSaid } from './request.js'

/** Where the helper's stash and settings are, as its command line and environment say. */
export interface CredentialQuestion {
  /** The stash's real path (symlinks resolved). */
  path: string
  /** `--prefix` as typed, when given. */
  prefix?: string
  /** The mapping-rules file (src/git/mapping.ts's mappingRulesPath). */
  rules: string
}

/**
 * Asks the agent at `socketPath` to answer git's `get` request from the stash it holds.
 * Never throws: a missing, dead, old or broken agent, or one that does not hold the stash as
 * it is now, is simply no answer, and the helper's own path runs.
 * @param request - git's request, the bytes as read
 * @returns the lines to print (empty when nothing matches); else what the helper's own path
 *   should know of the agent (see {@link AgentSaid})
 */
export async function agentCredential(socketPath: string, question: CredentialQuestion, request: Uint8Array): Promise<Uint8Array | AgentSaid> {
  const line: CredentialRequest = { v: PROTOCOL_VERSION, op: 'credential', ...question, request: Buffer.from(request).toString('base64') }
  // A request too long for the agent (a long wwwauth[] list) is the helper's own to read.
  if (Buffer.byteLength(JSON.stringify(line)) >= MAX_SMALL_REQUEST_BYTES) return {}
  const answer = await agentAnswer(socketPath, line, 3_000)
  if (isNotServing(answer)) return saidOf(answer)
  if (!answer?.ok || answer.found !== true || typeof answer.answer !== 'string') return {}
  return new Uint8Array(Buffer.from(answer.answer, 'base64'))
}
