/**
 * The answers for a stash the agent does not hold or cannot serve, shared by every handler that
 * uses a held key (./handlers.ts, ./credential.ts).
 */
import { SSError } from '../errors.js'
import type { Held, UnlockedStashes } from './unlocked-stashes.js'
import type { AgentResponse } from './protocol.js'

/** The answer for a stash the agent holds a key for but cannot serve now (see {@link notServed}), or under another key id. */
export const NOT_HELD: AgentResponse = { ok: true, found: false }

/**
 * The answer for a path the agent holds no key for at all (never unlocked, locked, expired):
 * `held: false` tells the client that another request about it (a `get` after a `read`) is
 * useless, which saves it a connection on every open by another source.
 */
export const NOT_UNLOCKED: AgentResponse = { ok: true, found: false, held: false }

/**
 * The answer when the agent cannot serve a stash it holds. A file that is gone, or that has
 * a new password, makes the key useless: it is dropped. A damaged or unreadable file keeps it,
 * and the client's ordinary path reports the file's error with the ordinary message.
 */
export function notServed(context: { unlocked: UnlockedStashes; changed(): void }, entry: Held, error: unknown): AgentResponse {
  if (error instanceof SSError && (error.code === 'STASH_NOT_FOUND' || error.code === 'KEY_CHANGED')) {
    context.unlocked.drop(entry)
    context.changed()
  }
  return NOT_HELD
}
