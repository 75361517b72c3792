/**
 * One request to the agent over its socket, and its answer: the transport every client uses
 * (./client.ts, and the git helper's small half through ./credential-client.ts). Loads
 * node:net only when called, and nothing else that a client would not need.
 */
import { SSError, errno } from '../errors.js'
import { MAX_RESPONSE_BYTES, type AgentRequest, type AgentResponse } from './protocol.js'

/**
 * What a client that asked the agent first tells the code that opens the stash next:
 * `agent: false` when the agent holds no key for the stash, or did not answer in time, so that
 * it is not asked again (a second wait for an agent that hangs, or a second useless request);
 * `answered: false` too when it did not answer, so that nothing more is sent to it in this run,
 * not even the key of a stash then opened with a typed password.
 */
export interface AgentSaid {
  agent?: false
  answered?: false
}

/**
 * What {@link agentAnswer} returns when asking the agent again in this run is useless because
 * it holds no key at all for the path (`held: false`).
 */
const NOT_SERVING = 'not-serving'

/**
 * What {@link agentAnswer} returns when the agent did not answer in time, or answered garbage:
 * an agent that hangs then costs one wait, not two or three.
 */
const NOT_ANSWERING = 'not-answering'

/** The answers of {@link agentAnswer} after which the agent is not asked again in this run. */
export type NotServing = typeof NOT_SERVING | typeof NOT_ANSWERING

/** True for the answers of {@link agentAnswer} after which the agent is not asked again. */
export function isNotServing(answer: unknown): answer is NotServing {
  return answer === NOT_SERVING || answer === NOT_ANSWERING
}

/** What to tell the code that opens the stash after such an answer. */
export function saidOf(answer: NotServing): AgentSaid {
  return answer === NOT_ANSWERING ? { agent: false, answered: false } : { agent: false }
}

/**
 * {@link agentRequest} for a client that goes on by itself when the agent cannot help: never
 * throws, and says when the agent need not be asked again in this run.
 * @returns the answer; one of {@link NotServing}; or undefined when no agent listens
 */
export async function agentAnswer(socketPath: string, request: AgentRequest, timeoutMs: number): Promise<AgentResponse | NotServing | undefined> {
  const answer = await agentRequest(socketPath, request, timeoutMs).catch((): typeof NOT_ANSWERING => NOT_ANSWERING)
  return answer !== NOT_ANSWERING && answer?.ok && answer.found === false && answer.held === false ? NOT_SERVING : answer
}

/**
 * Sends one request and reads the answer.
 * @returns undefined when no agent listens (no socket file, or a stale one)
 * @throws {SSError} AGENT_FAILED when the agent does not answer in time or answers garbage
 */
export async function agentRequest(socketPath: string, request: AgentRequest, timeoutMs = 2_000): Promise<AgentResponse | undefined> {
  const { connect } = await import('node:net')
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath)
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const finish = (error: SSError | undefined, value?: AgentResponse): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (error) reject(error)
      else resolve(value)
    }
    const failed = (why: string, cause?: unknown): SSError =>
      new SSError(`the sstash agent at ${socketPath} ${why}`, 'AGENT_FAILED', { cause })
    const timer = setTimeout(() => finish(failed('did not answer in time')), timeoutMs)
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`))
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_RESPONSE_BYTES) return finish(failed('sent an answer too large'))
      chunks.push(chunk)
    })
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim()
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        return finish(failed('sent a malformed answer'))
      }
      if (typeof parsed !== 'object' || parsed === null || typeof (parsed as AgentResponse).ok !== 'boolean')
        return finish(failed('sent a malformed answer'))
      finish(undefined, parsed as AgentResponse)
    })
    // After a complete answer this is the normal end: no error is built for it.
    socket.on('close', () => settled || finish(failed('closed the connection')))
    socket.on('error', (error) => {
      const code = errno(error)
      // No socket file, or a socket left by a dead agent: no agent runs. Learnt at once.
      if (code === 'ENOENT' || code === 'ECONNREFUSED') {
        if (!settled) {
          settled = true
          clearTimeout(timer)
          resolve(undefined)
        }
        return
      }
      finish(failed(`could not be reached: ${code ?? 'error'}`, error))
    })
  })
}
