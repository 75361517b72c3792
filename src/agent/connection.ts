/**
 * One connection to the agent: read one request line within the limits, answer it, close.
 * The memory that unanswered requests hold is bounded for all connections together by a
 * {@link RequestBudget}, so that many unfinished large requests cannot fill the agent.
 */
import type { Socket } from 'node:net'
import {
  MAX_REQUEST_BYTES,
  MAX_SMALL_REQUEST_BYTES,
  REQUEST_BUDGET_BYTES,
  SMALL_REQUEST_RESERVE_BYTES,
  type AgentResponse,
} from './protocol.js'

/** How long a connection may stay silent while it sends its request (a client killed mid-request is dropped). */
const IDLE_TIMEOUT_MS = 5_000

/**
 * The bytes all connections hold of requests they have not had answered yet (see
 * REQUEST_BUDGET_BYTES). A request larger than MAX_SMALL_REQUEST_BYTES may not use the last
 * SMALL_REQUEST_RESERVE_BYTES, which stay for ordinary requests.
 */
export class RequestBudget {
  #used = 0

  /**
   * Takes `bytes` more for a request that holds `held` already.
   * @returns false when that would go over the budget (nothing is taken then)
   */
  take(held: number, bytes: number): boolean {
    const limit = held + bytes > MAX_SMALL_REQUEST_BYTES ? REQUEST_BUDGET_BYTES - SMALL_REQUEST_RESERVE_BYTES : REQUEST_BUDGET_BYTES
    if (this.#used + bytes > limit) return false
    this.#used += bytes
    return true
  }

  /** Gives back what a request held. */
  give(bytes: number): void {
    this.#used -= bytes
  }
}

/**
 * Serves one connection: collects its first line, hands it to `answer`, writes the answer as
 * one line and ends the connection. What the line holds counts against `budget` from its
 * first byte until the answer is written.
 * @param answer - turns the line (without `\n`, as UTF-8) and its size in bytes into the answer; never rejects
 */
export function serveConnection(socket: Socket, budget: RequestBudget, answer: (line: string, bytes: number) => Promise<AgentResponse>): void {
  const chunks: Buffer[] = []
  let held = 0
  let answered = false
  const release = (): void => {
    budget.give(held)
    held = 0
    chunks.length = 0
  }
  const reply = (response: AgentResponse): void => {
    release()
    if (!socket.destroyed) socket.end(`${JSON.stringify(response)}\n`)
  }
  socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy())
  socket.on('error', () => socket.destroy())
  // Whatever happens to the connection, what it held is given back once.
  socket.on('close', release)
  socket.on('data', (chunk: Buffer) => {
    // After the answer (or a refusal) the rest is read and dropped, so the client is not
    // stuck writing; none of it is kept.
    if (answered) return
    if (held + chunk.length > MAX_REQUEST_BYTES) return refuse('request too large')
    if (!budget.take(held, chunk.length)) return refuse('busy')
    held += chunk.length
    chunks.push(chunk)
    // Only the new chunk is searched: a large request arrives in many chunks.
    const newline = chunk.indexOf(0x0a)
    if (newline === -1) return
    answered = true
    // The request is in: the time limit was for sending it, not for the work (a write may wait
    // for the stash's lock).
    socket.setTimeout(0)
    const bytes = held - chunk.length + newline
    const line = Buffer.concat(chunks, held).toString('utf8', 0, bytes)
    void answer(line, bytes).then(reply)
  })
  socket.on('end', () => {
    if (!answered) socket.end()
  })

  function refuse(error: 'request too large' | 'busy'): void {
    answered = true
    reply({ ok: false, error })
  }
}
