/**
 * A team stash opened with a member's identity. It offers the tree operations of SecureStash
 * (view, peek, update and the helpers over them), so that every command works on it: the tree
 * holds the values of the scopes the member holds, and a node without a value for every other
 * key path (key paths are public). Every call re-reads the file; every change is a
 * read-modify-write under the stash's lock that rewrites only the records it changed.
 */
import { realpathSync } from 'node:fs'
import { resolve } from 'node:path'
import { SSCryptoError, SSError, SSKeyError } from '../errors.js'
import { TreeStash } from '../store/tree-stash.js'
import { formatKeyPath } from '../tree/key-path.js'
import { fileIdentity, readIfExists, readLocalFile, resolveStashPath } from '../fs/read.js'
import { Tree, TreeNode, checkKey } from '../tree/tree.js'
import type { Identity } from './age-file.js'
import { decodePath, encodePath, inPathOrder, isPrefix, scopeOf, serializeTeamFile, type TeamFile, type ValueRecord } from './format.js'
import { openKeyring, type Keyring } from './keyring.js'
import { parseTeamFile } from './parse.js'
import { sameBytes } from './primitives.js'
import { openValue, sealValue } from './scope-keys.js'
import { SeenStore } from './seen.js'
import { checkTrust } from './trust.js'
import { teamHasNoPassword } from './detect.js'

type Env = Record<string, string | undefined>

/** How a team stash is opened. */
export interface TeamOpenOptions {
  /** Read a file whose membership is older than this clone has seen (an old branch), knowingly; writing to it stays refused. Also `SSTASH_ALLOW_OLD=1`. */
  allowOld?: boolean
}
const writing = (): Promise<[typeof import('../fs/lock.js'), typeof import('../fs/write.js')]> => Promise.all([import('../fs/lock.js'), import('../fs/write.js')])

/** A team stash read and opened: its records, this member's keys, and the tree of what they can read. */
interface Opened {
  file: TeamFile
  ring: Keyring
  tree: Tree
  /** The decrypted bytes of each value in the tree, by encoded path: what an update compares with. */
  plain: Map<string, Uint8Array>
  /** Values set under an older generation than their scope's, by encoded path: refused, to be set again. */
  stale: Set<string>
  /** Why the file is older than this clone has seen, when it was opened with allowOld. */
  old: string | undefined
  /** The bytes read: a change that leaves them as they were writes nothing. */
  bytes: Uint8Array
}

/** Reads and parses a team stash with no identity: for `team ls`, `team exposed` and the drivers. @throws as parseTeamFile */
export function readTeamFile(path: string): TeamFile {
  return parseTeamFile(readTeamBytes(path), path)
}

function readTeamBytes(path: string): Uint8Array {
  const bytes = readIfExists(path)
  if (bytes === undefined) throw new SSError(`${path} does not exist`, 'STASH_NOT_FOUND')
  return bytes
}

/**
 * The paths by which this clone remembers which team a file held: its real path, and the path
 * as given, made absolute, so that a stash path turned into a symbolic link to another team's
 * file is still the file this clone knows.
 */
export const realPathOf = (path: string): string[] => {
  const given = resolve(path)
  try {
    const real = realpathSync(path)
    return real === given ? [real] : [real, given]
  } catch {
    return [given]
  }
}

/** The removal that made the generation a stale value predates, as words. */
function staleCause(file: TeamFile, record: ValueRecord): string {
  const removal = [...file.removals.values()].find((r) => r.scopes.some(([s, g]) => s === record.scope && g > record.gen))
  return removal ? `on a branch cut before the removal of ${removal.member} (${removal.date.slice(0, 10)}), or by ${removal.member} after it` : 'on a branch cut before a removal'
}

/** The error for a value set under an old key of its scope. */
function staleError(file: TeamFile, record: ValueRecord): SSCryptoError {
  const scope = file.scopes.get(record.scope) as { gen: number }
  return new SSCryptoError(`key ${formatKeyPath(record.path)} was set under an old key of scope ${record.scope} (generation ${record.gen}, the scope is at ${scope.gen}): it was set ${staleCause(file, record)}; it must be set again`, 'TEAM_STALE', {
    hint: `a member of ${record.scope} checks the value and runs \`sstash set ${formatKeyPath(record.path)}\``,
  })
}

/** The node at `path`, made on the way. */
function nodeAt(tree: Tree, path: readonly string[]): TreeNode {
  let node = tree.root
  for (const segment of path) {
    let next = node.children.get(segment)
    if (!next) node.children.set(segment, (next = new TreeNode()))
    node = next
  }
  return node
}

/** The error for a value this member cannot use: a scope they lack, or an unresolved conflict. */
function unreadable(file: TeamFile, ring: Keyring, path: readonly string[]): SSError {
  const enc = encodePath(path)
  const record = file.values.get(enc)
  if (record && ring.holds(record.scope) && record.gen < (file.scopes.get(record.scope)?.gen ?? 0)) return staleError(file, record)
  if (file.conflicts.has(enc))
    return new SSKeyError(`key ${formatKeyPath(path)} has an unresolved merge conflict`, path, 'TEAM_CONFLICT', {
      hint: `\`sstash team resolve ${enc.slice(1)} --ours\` (or --theirs) settles it, or \`sstash set\` a new value`,
    })
  const scope = file.values.get(enc)?.scope ?? scopeOf(file, path)?.name
  return new SSKeyError(`key ${formatKeyPath(path)} is in scope ${scope}, which ${ring.member} does not hold`, path, 'NO_ACCESS')
}

/**
 * The tree of every key path, with the values this member can read.
 * @param only - decrypt only the values below these keys (a read of them); every key path still gets its node
 */
function decryptTree(file: TeamFile, ring: Keyring, only: readonly (readonly string[])[] | undefined, read: Pick<Opened, 'old' | 'bytes'>): Opened {
  const tree = new Tree()
  const plain = new Map<string, Uint8Array>()
  const stale = new Set<string>()
  // In key-path order, so that `ls` lists a team stash sorted, whatever the file's order.
  for (const [enc, record] of inPathOrder(file.values)) {
    const node = nodeAt(tree, record.path)
    if (!ring.holds(record.scope) || file.conflicts.has(enc)) continue
    // Never opened, even though an old key might: a removed member holds that key too (docs/TEAM.md, Removal).
    if (record.gen < (file.scopes.get(record.scope) as { gen: number }).gen) {
      stale.add(enc)
      continue
    }
    if (only && !only.some((key) => isPrefix(key, record.path))) continue
    node.value = openValue(ring.key(record.scope), file.teamId, record)
    plain.set(enc, node.value)
  }
  for (const [enc, record] of file.conflicts) if (!file.values.has(enc) && record) nodeAt(tree, record.path)
  return { file, ring, tree, plain, stale, ...read }
}

/** The team stash's records after `tree` replaced the decrypted one. @throws {SSError} NO_ACCESS, BAD_SCOPE */
function applyTree({ file, ring, plain }: Opened, tree: Tree): void {
  const kept = new Set<string>()
  // A value moved to another key path (`sstash mv`) keeps the generation it was set under, so it stays exposed.
  const moved = new Map<string, number>()
  for (const [enc, bytes] of plain) {
    const record = file.values.get(enc) as ValueRecord
    if (tree.find(record.path)?.value === undefined) moved.set(`${record.scope} ${Buffer.from(bytes).toString('base64')}`, record.since)
  }
  for (const entry of tree.entries([])) {
    const enc = encodePath(entry.key)
    kept.add(enc)
    const old = plain.get(enc)
    if (old && sameBytes(old, entry.value)) continue
    const scope = scopeOf(file, entry.key)
    if (!scope)
      throw new SSError(`no scope holds key ${formatKeyPath(entry.key)}`, 'BAD_SCOPE', { hint: `the scopes are ${[...file.scopes.values()].map((s) => encodePath(s.prefix)).join(', ')}` })
    if (!ring.holds(scope.name)) throw unreadable(file, ring, entry.key)
    const since = old ? scope.gen : (moved.get(`${scope.name} ${Buffer.from(entry.value).toString('base64')}`) ?? scope.gen)
    const record: ValueRecord = sealValue(ring.key(scope.name), file.teamId, { path: entry.key, scope: scope.name, gen: scope.gen, since }, entry.value)
    file.values.set(enc, record)
    file.tombstones.delete(enc)
    file.conflicts.delete(enc)
  }
  for (const enc of new Set([...file.values.keys(), ...file.conflicts.keys()])) {
    if (kept.has(enc)) continue
    // A readable value gone from the tree was removed (or moved): its record goes.
    if (plain.has(enc)) {
      file.values.delete(enc)
      file.tombstones.add(enc)
      continue
    }
    const path = decodePath(enc) as string[]
    if (tree.find(path)) continue
    // A value this member could not read, or one in conflict, was removed: only in a scope they hold.
    if (!ring.holds(scopeOf(file, path)?.name ?? '')) throw unreadable(file, ring, path)
    if (file.values.delete(enc)) file.tombstones.add(enc)
    file.conflicts.delete(enc)
  }
}

/** Reads, checks and opens the file at `path` (the whole of it, or for a read of `only`), and remembers what this clone saw. */
async function openFile(path: string, given: string, identities: readonly Identity[], env: Env, options: TeamOpenOptions, only?: readonly (readonly string[])[]): Promise<Opened> {
  const bytes = readTeamBytes(path)
  const file = parseTeamFile(bytes, path)
  const seen = SeenStore.load(env)
  // The path as the user gave it, and the file it reaches (which `path` already is): a path turned into a link to another team's file is still known.
  const { old } = checkTrust(file, realPathOf(given), seen, path, { allowOld: options.allowOld === true || env.SSTASH_ALLOW_OLD === '1' })
  const ring = openKeyring(file, identities, path)
  const opened = decryptTree(file, ring, only, { old, bytes })
  await seen.save()
  return opened
}

/**
 * Throws the error a read of `keys` must give when one of them is a value this member cannot
 * read, or a subtree holding only such values (a scope they lack).
 * @throws {SSKeyError} NO_ACCESS or TEAM_CONFLICT
 */
function checkReadable({ file, ring, tree, stale }: Opened, keys: readonly (readonly string[])[]): void {
  for (const key of keys) {
    const node = tree.find(key)
    if (!node) continue
    const enc = encodePath(key)
    const under = (p: string): boolean => p === enc || p.startsWith(enc === '/' ? '/' : `${enc}/`)
    for (const p of stale) if (under(p)) throw staleError(file, file.values.get(p) as ValueRecord)
    if (node.value !== undefined) continue
    const below = [...file.values.keys(), ...file.conflicts.keys()].filter(under)
    if (below.length > 0 && tree.entries(key).length === 0) throw unreadable(file, ring, file.values.get(below[0] as string)?.path ?? key)
  }
}

/**
 * The tree a command that only reads `keys` needs: every key path, and the values below those
 * keys only, so that a read costs one decryption per value it uses, whatever the file's size.
 * @throws {SSKeyError} NO_ACCESS, TEAM_CONFLICT; as {@link TeamStash.open}
 */
export async function readTeamTree(path: string, identities: readonly Identity[], keys: readonly (readonly string[])[], env: Env = process.env, options: TeamOpenOptions = {}): Promise<Tree> {
  const opened = await openFile(resolveStashPath(path), path, identities, env, options, keys)
  checkReadable(opened, keys)
  return opened.tree
}

/** A team stash opened with an identity. */
export class TeamStash extends TreeStash {
  readonly path: string
  readonly #identities: readonly Identity[]
  readonly #env: Env
  readonly #options: TeamOpenOptions
  /** The path as it was given, before links were followed (see openFile). */
  readonly #given: string
  #primed: { identity: string; opened: Opened } | undefined

  private constructor(path: string, given: string, identities: readonly Identity[], env: Env, options: TeamOpenOptions) {
    super()
    this.path = path
    this.#given = given
    this.#identities = identities
    this.#env = env
    this.#options = options
  }

  /**
   * Opens a team stash: checks its signed membership and what this clone has seen of the team
   * (docs/TEAM.md, Pinning), finds the member the identities are, checks each scope key they
   * hold, and remembers what it saw.
   * @throws {SSError} STASH_NOT_FOUND, NOT_A_STASH, UNSUPPORTED_FORMAT, NOT_A_MEMBER; {@link SSCryptoError} TEAM_TAMPERED, TEAM_REPLACED, TEAM_ROLLBACK
   */
  static async open(path: string, identities: readonly Identity[], env: Env = process.env, options: TeamOpenOptions = {}): Promise<TeamStash> {
    const stash = new TeamStash(resolveStashPath(path), path, identities, env, options)
    const identity = fileIdentity(stash.path)
    stash.#primed = { identity, opened: await stash.#read() }
    return stash
  }

  #read(): Promise<Opened> {
    return openFile(this.path, this.#given, this.#identities, this.#env, this.#options)
  }

  /** The environment it was opened with: where this clone's memory is. */
  get env(): Env {
    return this.#env
  }

  /** What the stash is, for status lines; a team stash has no key derivation. */
  get info(): { path: string; format: 'team' } {
    return { path: this.path, format: 'team' }
  }

  async #current(): Promise<Opened> {
    const primed = this.#primed
    this.#primed = undefined
    if (primed && primed.identity !== '' && primed.identity === fileIdentity(this.path)) return primed.opened
    return this.#read()
  }

  /**
   * Throws the error a read of `keys` must give when one of them is a value this member cannot
   * read, or a subtree holding only such values (a scope they lack).
   * @throws {SSKeyError} NO_ACCESS or TEAM_CONFLICT
   */
  async check(keys: readonly (readonly string[])[]): Promise<void> {
    checkReadable(await this.#peekOpened(), keys)
  }

  async #peekOpened(): Promise<Opened> {
    const identity = fileIdentity(this.path)
    const primed = this.#primed
    if (primed && identity !== '' && primed.identity === identity) return primed.opened
    const opened = await this.#read()
    if (this.#primed === primed) this.#primed = { identity, opened }
    return opened
  }

  /** Reads a consistent snapshot of the tree and passes it to `fn`. */
  override async view<T>(fn: (tree: Tree) => T | Promise<T>): Promise<T> {
    return fn((await this.#current()).tree)
  }

  /** As SecureStash.peek: `fn` reads the tree synchronously and must not change or keep it. */
  async peek<T>(fn: (tree: Tree) => T): Promise<T> {
    return fn((await this.#peekOpened()).tree)
  }

  /**
   * Applies changes to the tree under the lock and writes the records that changed.
   * @throws {SSError} NO_ACCESS (a value in a scope the member lacks), BAD_SCOPE (a key path no scope covers)
   */
  override async update<T>(fn: (tree: Tree) => T | Promise<T>): Promise<T> {
    const { SecureStash } = await import('../store/secure-stash.js')
    return this.mutate(async (opened) => {
      const result = await fn(opened.tree)
      if (result === SecureStash.UNCHANGED) return result
      applyTree(opened, opened.tree)
      return result
    })
  }

  /**
   * Runs `fn` on the freshly read and opened stash under the lock, then writes its records.
   * For membership changes (membership.ts); `fn` changes `opened.file` in place.
   */
  async mutate<T>(fn: (opened: Opened) => T | Promise<T>): Promise<T> {
    const [{ withLock }, { writeAtomic }] = await writing()
    return withLock(this.path, async (lock) => {
      this.#primed = undefined
      const opened = await this.#read()
      if (opened.old !== undefined)
        throw new SSCryptoError(`${opened.old}; writing to it is refused`, 'TEAM_ROLLBACK', { hint: 'merge the newer branch first (git merge), then write' })
      const result = await fn(opened)
      const bytes = serializeTeamFile(opened.file)
      // A change that changed nothing (a credential helper's store of what is there) leaves the file as it was.
      if (!sameBytes(bytes, opened.bytes)) {
        await writeAtomic(this.path, bytes, { lock })
        // The leak guard's fingerprints follow each write: one stat when the guard is off.
        await (await import('../guard/active.js')).afterWrite(this.path, 'team', opened.tree)
      }
      return result
    })
  }

  /** The value at `key`. @throws {SSKeyError} KEY_NOT_FOUND, NO_VALUE, NO_ACCESS, TEAM_CONFLICT */
  override async readValue(key: readonly string[]): Promise<Uint8Array> {
    checkKey(key)
    await this.check([key])
    return super.readValue(key)
  }

  /** Stores the bytes of the file at `srcPath` at `key`. */
  async writeFile(key: readonly string[], srcPath: string): Promise<void> {
    await this.writeValue(key, readLocalFile(srcPath))
  }

  /** A team stash has no password: refused with a message that says what to do instead. */
  async changePassword(): Promise<never> {
    throw teamHasNoPassword(this.path)
  }

  /** The agent holds password-derived keys only; a team stash is opened with an identity. */
  async exportKey(): Promise<never> {
    throw new SSError(`${this.path} is a team stash: the agent holds your identity's stash, not this file`, 'USAGE', {
      hint: '`sstash unlock` your personal stash; team stashes then open through it',
    })
  }
}
