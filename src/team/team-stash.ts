/**
 * A team stash opened with a member's identity. It offers the tree operations of SecureStash
 * (view, peek, update and the helpers over them), so that every command works on it: the tree
 * holds the values of the scopes the member holds, and a node without a value for every other
 * key path (key paths are public). Every call re-reads the file; every change is a
 * read-modify-write under the stash's lock that rewrites only the records it changed.
 */
import { realpathSync } from 'node:fs'
import { resolve } from 'node:path'
import { SSCryptoError, SSError } from '../errors.js'
import { TreeStash, type Loaded } from '../stash/tree-stash.js'
import type { StashFile } from '../stash/detect.js'
import { fileIdentity, readIfExists, readLocalFile, resolveStashPath } from '../fs/read.js'
import { Tree, checkKey } from '../tree/tree.js'
import type { Identity } from './age-file.js'
import { encodePath, serializeTeamFile, type TeamFile } from './format.js'
import { openKeyring } from './keyring.js'
import { parseTeamFile } from './parse.js'
import { parseForRead } from './parse-read.js'
import { sameBytes } from '../crypto/primitives.js'
import { SeenStore } from './seen.js'
import { checkTrust } from './trust.js'
import { teamHasNoPassword } from './detect.js'
import { applyTree, checkReadable, decryptTree, type Opened } from './team-tree.js'

type Env = Record<string, string | undefined>

/** How a team stash is opened. */
export interface TeamOpenOptions {
  /** Read a file whose membership is older than this clone has seen (an old branch), knowingly; writing to it stays refused. Also `SSTASH_ALLOW_OLD=1`. */
  allowOld?: boolean
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
  try {
    return knownPaths(realpathSync(path), path)
  } catch {
    return [resolve(path)]
  }
}

/** {@link realPathOf} of `given`, whose real path `real` is known already. */
const knownPaths = (real: string, given: string): string[] => {
  const absolute = resolve(given)
  return real === absolute ? [real] : [real, absolute]
}

/**
 * Every open's first step: the file at `path` (`given` resolved) read and parsed, checked
 * against what this clone remembers, and this member's keys. `save` remembers what it saw.
 * @throws {SSError} STASH_NOT_FOUND; as parseTeamFile, checkTrust and openKeyring
 */
export function checkedFile(path: string, given: string, identities: readonly Identity[], env: Env, options: TeamOpenOptions = {}, only?: readonly (readonly string[])[], bytes = readTeamBytes(path)) {
  const file = parseFile(bytes, path, only)
  const seen = SeenStore.load(env)
  // The file `given` reaches (which `path` already is), and the path as the user gave it: a path turned into a link to another team's file is still known.
  const allowOld = options.allowOld === true || env.SSTASH_ALLOW_OLD === '1'
  const { old } = checkTrust(file, knownPaths(path, given), seen, path, { allowOld })
  // A read unwraps the keys of the records it reads only (values, removals, conflict sides): a key never unwrapped opens nothing.
  const scopes = only && new Set([...file.values.values(), ...file.tombstones.values(), ...file.conflicts.values()].map((record) => record.scope))
  return { bytes, file, old, allowOld, versions: seen.versions(file.teamId), ring: openKeyring(file, identities, path, scopes), save: () => seen.save() }
}

/**
 * The file parsed whole, or for a read of `only` with the value records at or below those keys
 * only (parseForRead: the membership and every rule over them checked, one cheap pass over
 * the rest). Only a read uses the second: a write, a merge and `team verify` parse it whole.
 */
function parseFile(bytes: Uint8Array, path: string, only: readonly (readonly string[])[] | undefined): TeamFile {
  // A key that names nothing gets the whole file's answer: its error names the nearest key there is.
  if (only && only.length > 0 && only.every((key) => key.length > 0)) return parseForRead(bytes, path, only.map(encodePath)) ?? parseTeamFile(bytes, path)
  return parseTeamFile(bytes, path)
}

/** Reads, checks and opens the file at `path` (the whole of it, or for a read of `only`), and remembers what this clone saw. */
async function openFile(path: string, given: string, identities: readonly Identity[], env: Env, options: TeamOpenOptions, only?: readonly (readonly string[])[], read?: Uint8Array): Promise<Opened> {
  const { bytes, file, old, allowOld, versions, ring, save } = checkedFile(path, given, identities, env, options, only, read)
  const opened = decryptTree(file, ring, only, { old, bytes, versions, allowOld })
  await save()
  return opened
}

/**
 * The tree a command that only reads `keys` needs: every key path, and the values below those
 * keys only, so that a read costs one decryption per value it uses, whatever the file's size.
 * @throws {SSKeyError} NO_ACCESS, TEAM_CONFLICT; as {@link TeamStash.open}
 */
export async function readTeamTree(path: StashPath, identities: readonly Identity[], keys: readonly (readonly string[])[], env: Env = process.env, options: TeamOpenOptions = {}): Promise<Tree> {
  const { real, given, read } = pathsOf(path)
  const opened = await openFile(real, given, identities, env, options, keys, read?.bytes)
  checkReadable(opened, keys)
  return opened.tree
}

/** A stash path as given, or as src/stash/detect.ts found it (then not resolved or read again). */
export type StashPath = string | (Pick<StashFile, 'given' | 'real'> & Partial<Pick<StashFile, 'read'>>)
const pathsOf = (path: StashPath): Pick<StashFile, 'given' | 'real'> & Partial<Pick<StashFile, 'read'>> => (typeof path === 'string' ? { given: path, real: resolveStashPath(path) } : path)

/** A team stash opened with an identity. */
export class TeamStash extends TreeStash<Opened> {
  readonly #identities: readonly Identity[]
  readonly #env: Env
  readonly #options: TeamOpenOptions
  /** The path as it was given, before links were followed (see openFile). */
  readonly #given: string
  /** The file as detectStash read it, for the first load only: later loads read it again. */
  #detected: StashFile['read']

  private constructor(path: string, given: string, identities: readonly Identity[], env: Env, options: TeamOpenOptions) {
    super(path)
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
  static async open(path: StashPath, identities: readonly Identity[], env: Env = process.env, options: TeamOpenOptions = {}): Promise<TeamStash> {
    const { real, given, read } = pathsOf(path)
    const stash = new TeamStash(real, given, identities, env, options)
    stash.#detected = read
    const { identity, snapshot } = await stash.load()
    stash.prime(identity, snapshot)
    return stash
  }

  /** Reads, checks and opens the whole file as it is now. */
  protected override async load(): Promise<Loaded<Opened>> {
    const detected = this.#detected
    this.#detected = undefined
    const identity = detected?.identity ?? fileIdentity(this.path)
    return { identity, snapshot: await openFile(this.path, this.#given, this.#identities, this.#env, this.#options, undefined, detected?.bytes) }
  }

  /** The records as the update left them; nothing when they are the file's bytes (a helper's store of what is there). */
  protected override encode(opened: Opened): Uint8Array | undefined {
    const bytes = serializeTeamFile(opened.file)
    return sameBytes(bytes, opened.bytes) ? undefined : bytes
  }

  // The records were resealed, so the decrypted values and the bytes kept beside them no longer
  // describe the file: the next call reads it again. The versions the write gave its key paths
  // are remembered now that they are on disk: an older record of them is then refused here.
  protected override async written(opened: Opened): Promise<undefined> {
    await opened.versions.save()
    return undefined
  }

  /** The environment it was opened with: where this clone's memory is. */
  get env(): Env {
    return this.#env
  }

  /** What the stash is, for status lines; a team stash has no key derivation. */
  get info(): { path: string; format: 'team' } {
    return { path: this.path, format: 'team' }
  }

  /**
   * Throws the error a read of `keys` must give when one of them is a value this member cannot
   * read, or a subtree holding only such values (a scope they lack).
   * @throws {SSKeyError} NO_ACCESS or TEAM_CONFLICT
   */
  async check(keys: readonly (readonly string[])[]): Promise<void> {
    checkReadable(await this.shared(), keys)
  }

  /**
   * Applies changes to the tree under the lock and writes the records that changed.
   * @throws {SSError} NO_ACCESS (a value in a scope the member lacks), BAD_SCOPE (a key path no scope covers)
   */
  override async update<T>(fn: (tree: Tree) => T | Promise<T>): Promise<T> {
    return this.mutate(async (opened) => {
      const result = await fn(opened.tree)
      if (result !== TreeStash.UNCHANGED) applyTree(opened, opened.tree)
      return result
    })
  }

  /**
   * Runs `fn` on the stash as it is under the lock, then writes its records.
   * For membership changes (membership.ts); `fn` changes `opened.file` in place.
   * @throws {SSCryptoError} TEAM_ROLLBACK when the file is older than this clone has seen
   */
  async mutate<T>(fn: (opened: Opened) => T | Promise<T>): Promise<T> {
    return this.change(async (opened) => {
      if (opened.old !== undefined)
        throw new SSCryptoError(`${opened.old}; writing to it is refused`, 'TEAM_ROLLBACK', { hint: 'merge the newer branch first (git merge), then write' })
      return fn(opened)
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
