/**
 * What this clone remembers of each key path's version, per team (docs/TEAM.md, Versions): the
 * highest version of a value or removal it has read or written, so that an older record of the
 * same key path copied back (a replay from git history, an old branch) is seen as what it is.
 *
 *   $XDG_STATE_HOME/sstash/team-versions/<team-id>    (0600, in 0700 directories)
 *   <16 hex digits> <version, 10 digits>\n           (one line per key path, sorted)
 *
 * A line names its key path by a hash (the file is plaintext state, and key paths need not be
 * in it). The lines have a fixed width, so a read finds a key path by binary search in the
 * file's bytes, without parsing the file: a `get` pays one read of the file and a few
 * comparisons, whatever the number of key paths (docs/TEAM.md gives the measurement). The file
 * is loaded only when a value is verified, and written, under its lock and merged with what is
 * on disk then, only when a command learnt a higher version.
 */
import { dirname, join } from 'node:path'
import { hexHash } from '../crypto/primitives.js'
import { readStateFile, updateStateFile } from './state-file.js'

/** The file's size bound (a line per key path, 28 bytes each). */
const MAX_BYTES = 64 * 1024 * 1024
const HASH = 16
const WIDTH = HASH + 1 + 10 + 1
const LINE = /^([0-9a-f]{16}) ([0-9]{10})$/

/** The lines of a versions file as a map (for a merge on save, or a file not in the fixed width). */
function parseAll(bytes: Uint8Array | undefined): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of bytes ? Buffer.from(bytes).toString('latin1').split('\n') : []) {
    const m = LINE.exec(line)
    if (m) out.set(m[1] as string, Math.max(out.get(m[1] as string) ?? 0, Number(m[2])))
  }
  return out
}

const serialize = (all: Map<string, number>): string =>
  [...all].sort(([a], [b]) => (a < b ? -1 : 1)).map(([h, n]) => `${h} ${String(n).padStart(10, '0')}\n`).join('')

/** The versions this clone remembers of one team's key paths. */
export class PathVersions {
  /** The file's bytes (fixed-width lines), or a map when they are not in that form; loaded on first use. */
  #known: Buffer | Map<string, number> | undefined
  readonly #mine = new Map<string, number>()
  #reset = false
  /** This team's versions file. */
  readonly path: string

  /** @param stateFile - the team-seen file; the versions live beside it */
  constructor(stateFile: string, readonly teamId: string) {
    this.path = join(dirname(stateFile), 'team-versions', teamId)
  }

  #hash(spelling: string): string {
    return hexHash('sha256', `sstash-team/2 path\n${this.teamId}\n${spelling}`).slice(0, HASH)
  }

  #load(): Buffer | Map<string, number> {
    if (this.#known === undefined) {
      const bytes = this.#reset ? undefined : readStateFile(this.path, MAX_BYTES)
      const buffer = Buffer.from(bytes ?? new Uint8Array(0))
      this.#known = buffer.length % WIDTH === 0 ? buffer : parseAll(buffer)
    }
    return this.#known
  }

  /** The highest version this clone has seen of the key path spelt `spelling` (the file's spelling); 0 when none. */
  seen(spelling: string): number {
    const hash = this.#hash(spelling)
    const mine = this.#mine.get(hash) ?? 0
    const known = this.#load()
    if (known instanceof Map) return Math.max(mine, known.get(hash) ?? 0)
    let [low, high] = [0, known.length / WIDTH - 1]
    while (low <= high) {
      const mid = (low + high) >>> 1
      // Byte by byte in JavaScript: Buffer#compare of a range costs a call into C++ (ten times more).
      let order = 0
      for (let k = 0; k < HASH && order === 0; k++) order = (known[mid * WIDTH + k] as number) - hash.charCodeAt(k)
      if (order === 0) return Math.max(mine, Number(known.toString('latin1', mid * WIDTH + HASH + 1, mid * WIDTH + WIDTH - 1)))
      if (order < 0) low = mid + 1
      else high = mid - 1
    }
    return mine
  }

  /** Notes that this clone read or wrote `version` of the key path; only a higher one is kept. */
  learn(spelling: string, version: number): void {
    if (version > this.seen(spelling)) this.#mine.set(this.#hash(spelling), version)
  }

  /** Forgets every version of this team (`team trust`): what is learnt afterwards replaces them. */
  reset(): void {
    this.#reset = true
    this.#known = undefined
  }

  /** Writes what was learnt, merged under the lock with what is on disk (0600, in a 0700 directory). */
  async save(): Promise<void> {
    if (this.#mine.size === 0 && !this.#reset) return
    await updateStateFile(this.path, MAX_BYTES, (bytes) => {
      const all = this.#reset ? new Map<string, number>() : parseAll(bytes)
      for (const [hash, n] of this.#mine) if (n > (all.get(hash) ?? 0)) all.set(hash, n)
      return new Uint8Array(Buffer.from(serialize(all), 'latin1'))
    })
    this.#mine.clear()
    this.#reset = false
    this.#known = undefined
  }
}
