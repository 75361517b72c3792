/**
 * What this user's clones have seen of team stashes, as ssh's known_hosts remembers host keys
 * (docs/TEAM.md, Pinning): per team, its fingerprint, the newest membership epoch and its
 * digest, the newest signing key; per scope, the newest generation and its key's fingerprint;
 * the removals seen; and which team each file (by real path) held. Saved under the store's
 * lock, merged with what is on disk then, so two commands that update it at once both land.
 *
 *   $XDG_STATE_HOME/sstash/team-seen     (0600; lines below)
 *   team <id> <fingerprint> <epoch> <digest> <sign-gen> <sign-key>
 *   scope <id> <name> <gen> <fingerprint>
 *   removed <id> <epoch> <member> <scope:gen,...>
 *   path <id> <real path, URI-encoded>
 *
 * Each key path's version, which a read may need, is in a file per team beside it (path-versions.ts).
 */
import { teamSeenPath } from '../locations.js'
import { readStateFile, updateStateFile } from './state-file.js'
import { PathVersions } from './path-versions.js'

/** The store's size bound: far above any clone's memory, far below what a hostile file could make us hold. */
const MAX_BYTES = 16 * 1024 * 1024

type Env = Record<string, string | undefined>

/** What a clone pins of one team. */
export interface TeamPin {
  fingerprint: string
  epoch: number
  digest: string
  signGen: number
  signKey: string
}

/** One scope as last seen. */
export interface Seen {
  gen: number
  fingerprint: string
}

interface Entries {
  teams: Map<string, TeamPin>
  scopes: Map<string, Seen>
  removals: Map<string, string>
  paths: Map<string, string>
}

const empty = (): Entries => ({ teams: new Map(), scopes: new Map(), removals: new Map(), paths: new Map() })
const GEN = /^[1-9][0-9]{0,9}$/

function parse(bytes: Uint8Array | undefined): Entries {
  const out = empty()
  for (const line of bytes ? Buffer.from(bytes).toString('utf8').split('\n') : []) {
    const f = line.split(' ')
    // A line this version cannot read is skipped, not fatal: the file is only ever ours.
    if (f[0] === 'team' && f.length === 7 && GEN.test(f[3] as string) && GEN.test(f[5] as string))
      out.teams.set(f[1] as string, { fingerprint: f[2] as string, epoch: Number(f[3]), digest: f[4] as string, signGen: Number(f[5]), signKey: f[6] as string })
    else if (f[0] === 'scope' && f.length === 5 && GEN.test(f[3] as string)) out.scopes.set(`${f[1]} ${f[2]}`, { gen: Number(f[3]), fingerprint: f[4] as string })
    else if (f[0] === 'removed' && f.length === 5) out.removals.set(`${f[1]} ${f[2]} ${f[3]}`, f[4] as string)
    else if (f[0] === 'path' && f.length === 3) out.paths.set(decodeURIComponent(f[2] as string), f[1] as string)
  }
  return out
}

function serialize(e: Entries): string {
  const lines: string[] = []
  for (const [id, p] of e.teams) lines.push(`team ${id} ${p.fingerprint} ${p.epoch} ${p.digest} ${p.signGen} ${p.signKey}`)
  for (const [key, s] of e.scopes) lines.push(`scope ${key} ${s.gen} ${s.fingerprint}`)
  for (const [key, scopes] of e.removals) lines.push(`removed ${key} ${scopes}`)
  for (const [path, id] of e.paths) lines.push(`path ${id} ${encodeURIComponent(path)}`)
  return lines.sort().map((l) => `${l}\n`).join('')
}

/** Folds `mine` into `into`: the newer pin of each team and scope, every removal, our paths; `reset` teams first forgotten. */
function fold(into: Entries, mine: Entries, reset: ReadonlySet<string>): void {
  for (const id of reset) {
    into.teams.delete(id)
    for (const map of [into.scopes, into.removals]) for (const key of map.keys()) if (key.startsWith(`${id} `)) map.delete(key)
  }
  for (const [id, pin] of mine.teams) if ((into.teams.get(id)?.epoch ?? 0) <= pin.epoch) into.teams.set(id, pin)
  for (const [key, s] of mine.scopes) if ((into.scopes.get(key)?.gen ?? 0) <= s.gen) into.scopes.set(key, s)
  for (const [key, v] of mine.removals) into.removals.set(key, v)
  for (const [path, id] of mine.paths) into.paths.set(path, id)
}

/** The remembered state, read once per command; what a command learns is written by {@link SeenStore.save}. */
export class SeenStore {
  #entries: Entries
  readonly #mine = empty()
  readonly #reset = new Set<string>()
  readonly #versions = new Map<string, PathVersions>()

  private constructor(readonly path: string, entries: Entries) {
    this.#entries = entries
  }

  /** Reads the store (a missing file is an empty store). @throws {SSError} NOT_A_FILE, IO_ERROR */
  static load(env: Env = process.env): SeenStore {
    const path = teamSeenPath(env)
    return new SeenStore(path, parse(readStateFile(path, MAX_BYTES)))
  }

  team(id: string): TeamPin | undefined {
    return this.#mine.teams.get(id) ?? this.#entries.teams.get(id)
  }

  get(team: string, scope: string): Seen | undefined {
    return this.#mine.scopes.get(`${team} ${scope}`) ?? this.#entries.scopes.get(`${team} ${scope}`)
  }

  /** The scopes of a team seen, by name. */
  scopesOf(team: string): [string, Seen][] {
    const names = new Set([...this.#entries.scopes.keys(), ...this.#mine.scopes.keys()].filter((k) => k.startsWith(`${team} `)).map((k) => k.slice(team.length + 1)))
    return [...names].map((name) => [name, this.get(team, name) as Seen])
  }

  /** The removals of a team seen: [epoch, member, scope:gen list]. */
  removalsOf(team: string): [number, string, string][] {
    const all = new Map([...this.#entries.removals, ...this.#mine.removals])
    return [...all].filter(([k]) => k.startsWith(`${team} `)).map(([k, scopes]) => {
      const [, epoch, member] = k.split(' ')
      return [Number(epoch), member as string, scopes] as [number, string, string]
    })
  }

  /** The team the file at `realPath` held when this clone last opened it. */
  teamAt(realPath: string): string | undefined {
    return this.#mine.paths.get(realPath) ?? this.#entries.paths.get(realPath)
  }

  // Each setter records only what is new, so that an open that learns nothing writes nothing.
  setTeam(id: string, pin: TeamPin): void {
    const old = this.team(id)
    if (!old || (Object.keys(pin) as (keyof TeamPin)[]).some((k) => old[k] !== pin[k])) this.#mine.teams.set(id, pin)
  }

  set(team: string, scope: string, seen: Seen): void {
    const old = this.get(team, scope)
    if (old?.gen !== seen.gen || old.fingerprint !== seen.fingerprint) this.#mine.scopes.set(`${team} ${scope}`, seen)
  }

  addRemoval(team: string, epoch: number, member: string, scopes: string): void {
    const key = `${team} ${epoch} ${member}`
    if (!this.#entries.removals.has(key)) this.#mine.removals.set(key, scopes)
  }

  setPath(realPath: string, team: string): void {
    if (this.teamAt(realPath) !== team) this.#mine.paths.set(realPath, team)
  }

  /** The versions of team `id`'s key paths this clone has seen (read from disk only when asked). */
  versions(id: string): PathVersions {
    let versions = this.#versions.get(id)
    if (!versions) this.#versions.set(id, (versions = new PathVersions(this.path, id)))
    return versions
  }

  /** Forgets all this clone knew of team `id` (`team trust`): what is set afterwards replaces it. */
  reset(id: string): void {
    this.#reset.add(id)
    fold(this.#entries, empty(), new Set([id]))
    this.versions(id).reset()
  }

  /** Writes what this command learnt, merged under the lock with what is on disk (0600, in a 0700 directory). */
  async save(): Promise<void> {
    for (const versions of this.#versions.values()) await versions.save()
    if (this.#mine.teams.size + this.#mine.scopes.size + this.#mine.removals.size + this.#mine.paths.size + this.#reset.size === 0) return
    await updateStateFile(this.path, MAX_BYTES, (bytes) => {
      const now = parse(bytes)
      fold(now, this.#mine, this.#reset)
      this.#entries = now
      return new Uint8Array(Buffer.from(serialize(now)))
    })
    for (const map of Object.values(this.#mine) as Map<string, unknown>[]) map.clear()
    this.#reset.clear()
  }
}
