/**
 * What this user's clones have seen of team stashes, as ssh's known_hosts remembers host keys:
 * per team and scope, the newest key generation opened and its fingerprint. A team stash whose
 * scope is older, or does not chain back to what was seen, is a rollback (docs/TEAM.md).
 *
 *   $XDG_STATE_HOME/sstash/team-seen     lines: <team-id> <scope> <gen> <fingerprint>
 */
import { dirname } from 'node:path'
import { SSError } from '../errors.js'
import { teamSeenPath } from '../locations.js'
import { readRegularFile } from '../store/read.js'

type Env = Record<string, string | undefined>

/** One scope as last seen. */
export interface Seen {
  gen: number
  fingerprint: string
}

/** The remembered generations, read once per command and written only when something changed. */
export class SeenStore {
  readonly #entries = new Map<string, Seen>()
  #changed = false

  private constructor(readonly path: string) {}

  /** Reads the store (a missing file is an empty store). @throws {SSError} NOT_A_FILE, IO_ERROR */
  static load(env: Env = process.env): SeenStore {
    const store = new SeenStore(teamSeenPath(env))
    const bytes = readRegularFile(store.path, 16 * 1024 * 1024)
    for (const line of bytes ? Buffer.from(bytes).toString('utf8').split('\n') : []) {
      const [team, scope, gen, fingerprint] = line.split(' ')
      // A line this version cannot read is skipped, not fatal: the file is only ever ours.
      if (team && scope && gen && fingerprint && /^[1-9][0-9]*$/.test(gen)) store.#entries.set(`${team} ${scope}`, { gen: Number(gen), fingerprint })
    }
    return store
  }

  get(team: string, scope: string): Seen | undefined {
    return this.#entries.get(`${team} ${scope}`)
  }

  set(team: string, scope: string, seen: Seen): void {
    const old = this.get(team, scope)
    if (old?.gen === seen.gen && old.fingerprint === seen.fingerprint) return
    this.#entries.set(`${team} ${scope}`, seen)
    this.#changed = true
  }

  /** Writes the store when it changed (0600, in a 0700 directory, replaced atomically). */
  async save(): Promise<void> {
    if (!this.#changed) return
    const { makePrivateDir, writeAtomic } = await import('../store/write.js')
    const lines = [...this.#entries].map(([key, seen]) => `${key} ${seen.gen} ${seen.fingerprint}\n`).sort()
    try {
      await makePrivateDir(dirname(this.path))
      await writeAtomic(this.path, new Uint8Array(Buffer.from(lines.join(''))))
    } catch (error) {
      throw new SSError(`cannot remember the team stash generations in ${this.path}: ${(error as Error).message}`, 'WRITE_FAILED', { cause: error })
    }
    this.#changed = false
  }
}
