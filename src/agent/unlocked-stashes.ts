/**
 * What the agent holds: per stash (by real path), its key id, the derived key, when it was
 * unlocked and when it expires, and the stash opened with that key once a client used it.
 * Memory only; nothing here is ever written to disk or logged.
 */
import { SecureStash } from '../store/secure-stash.js'
import type { AgentEntry } from './protocol.js'

/** One unlocked stash. */
export interface Held extends AgentEntry {
  keyId: string
  key: Buffer
  /**
   * The stash opened with this key on first use. Its snapshot (the tree last decrypted or
   * written, and the identity of that file) serves reads and writes while the file is unchanged.
   */
  stash?: SecureStash
}

/** The unlocked stashes, each until its expiry. */
export class UnlockedStashes {
  readonly #held = new Map<string, Held>()

  /** How many stashes are held, expired or not. */
  get size(): number {
    return this.#held.size
  }

  /**
   * The entry for `path` while it has not expired: the expiry guard of every request that
   * uses a key. An expired entry is never served, even before the timer forgets it.
   */
  live(path: string, now = Date.now()): Held | undefined {
    const entry = this.#held.get(path)
    return entry && entry.expiresAt > now ? entry : undefined
  }

  /** Holds `key` for `path` from `now` for `timeoutMs`, replacing what was held for it. */
  add(path: string, keyId: string, key: Buffer, timeoutMs: number, now = Date.now()): Held {
    this.forget(path)
    const entry: Held = { path, keyId, key, unlockedAt: now, expiresAt: now + timeoutMs }
    this.#held.set(path, entry)
    return entry
  }

  /** Forgets `path`. @returns whether it was held */
  forget(path: string): boolean {
    const entry = this.#held.get(path)
    if (!entry) return false
    // Best effort: the bytes are overwritten before the buffer is dropped.
    entry.key.fill(0)
    entry.stash = undefined
    this.#held.delete(path)
    return true
  }

  /** Forgets `entry` if it is still the one held for its path (not a newer unlock). */
  drop(entry: Held): void {
    if (this.#held.get(entry.path) === entry) this.forget(entry.path)
  }

  /** Forgets everything. @returns how many stashes were held */
  forgetAll(): number {
    const count = this.#held.size
    for (const path of [...this.#held.keys()]) this.forget(path)
    return count
  }

  /** Forgets the expired entries. @returns the next expiry (ms since the epoch), or undefined when nothing is left */
  expire(now = Date.now()): number | undefined {
    let next: number | undefined
    for (const [path, entry] of [...this.#held]) {
      if (entry.expiresAt <= now) this.forget(path)
      else next = Math.min(next ?? entry.expiresAt, entry.expiresAt)
    }
    return next
  }

  /** What `status` shows: paths and times of the live entries, no secret. */
  entries(now = Date.now()): AgentEntry[] {
    return [...this.#held.values()]
      .filter((entry) => entry.expiresAt > now)
      .map(({ path, unlockedAt, expiresAt }) => ({ path, unlockedAt, expiresAt }))
  }

  /** The entry's stash, opened with its key on first use. @throws as SecureStash.openWithKey */
  async opened(entry: Held): Promise<SecureStash> {
    entry.stash ??= await SecureStash.openWithKey(entry.path, { keyId: entry.keyId, key: entry.key })
    return entry.stash
  }
}
