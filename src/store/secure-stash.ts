import { SSCryptoError, SSError, SSValueError } from '../errors.js'
import { TreeStash } from '../tree/tree-stash.js'
import { DEFAULT_SCRYPT, deriveKey, type KdfParams } from '../format/kdf.js'
import { createStash, parseStash } from '../format/stash-file.js'
import type { FormatName, LockedStash, UnlockedStash } from '../format/stash-types.js'
import { READ_LIMITS, fileIdentity, identityOf, readFileChecked, resolveStashPath } from '../fs/read.js'
import { Tree } from '../tree/tree.js'

/** Options of {@link SecureStash.open}. */
export interface OpenOptions {
  /**
   * The key derivation of a NEW stash; its name picks the format (`scrypt`: native,
   * `pbkdf2-sha512`: Python sstash 0.17). Ignored for an existing file, which keeps its own.
   * Default: scrypt N=2^17, r=8, p=1.
   */
  kdf?: KdfParams
  /** Create the file when it is missing (default true, as the Python package does). */
  create?: boolean
}

/**
 * The lock and writing (and node:fs/promises with them) are loaded by the first write: a
 * command that only reads the stash loads neither.
 */
const writing = (): Promise<[typeof import('../fs/lock.js'), typeof import('../fs/write.js')]> =>
  Promise.all([import('../fs/lock.js'), import('../fs/write.js')])

/** A derived key with the identity of what it was derived from: what the agent caches. */
export interface StashKey {
  /** Which file key this is: a stash's key changes with its salt or password, and a key for another file is refused. */
  keyId: string
  /** The derived key itself: as secret as the password. */
  key: Uint8Array
}

/** What a stash is made of, without any secret: for `sstash doctor` and status lines. */
export interface StashInfo {
  /** The stash file's path, as it was given. */
  path: string
  /** `native` (sstash's own format) or `python` (the Python package's). */
  format: FormatName
  /** The key derivation and its cost. */
  kdf: KdfParams
}

/** How a stash is opened: with its password, or with a key derived earlier. */
type Secret = { password: string } | { key: StashKey }

/** The stash file as read once: parsed, and the identity of the file those bytes came from. */
interface ReadStash {
  locked: LockedStash
  identity: string
}

const formatOf = (kdf: KdfParams): FormatName => (kdf.name === 'scrypt' ? 'native' : 'python')

/**
 * An encrypted stash file holding a tree of key paths to byte values.
 *
 * Several processes can share one stash: a read decrypts the file as it is on disk at that
 * moment (reusing the last decryption while the file is unchanged), and every change is a
 * read-modify-write under the stash's lock that replaces the file atomically. Every method
 * returns a promise and reports a bad argument by rejecting it, never by throwing.
 */
export class SecureStash extends TreeStash {
  /** The stash file's path, as it was given to `open` or `create`. */
  readonly path: string
  #password: string | undefined
  readonly #keys = new Map<string, Uint8Array>()
  #info: StashInfo
  // What open() decrypted or update() wrote, for the next read or update to reuse while the
  // file is still that one (every write renames a new file in, so its identity changes): one
  // decryption per command, and none after this process's own write.
  #primed: { identity: string; unlocked: UnlockedStash } | undefined

  private constructor(path: string, password: string | undefined, info: StashInfo) {
    super()
    this.path = path
    this.#password = password
    this.#info = info
  }

  /**
   * Opens a stash, creating an empty one when the file is missing (unless `create: false`).
   * @param path - the stash file; a symlink is followed, and writes replace its target
   * @param password - the password; its UTF-8 bytes feed the key derivation
   * @throws {SSCryptoError} for a wrong password or a damaged file
   * @throws {SSError} NOT_A_STASH, STASH_NOT_FOUND (with `create: false`), BAD_PARAMETERS
   */
  static async open(path: string, password: string, options: OpenOptions = {}): Promise<SecureStash> {
    if (typeof password !== 'string') throw new SSValueError('the password must be a string')
    return SecureStash.#open(path, { password }, options)
  }

  /**
   * Opens a stash with a key derived earlier (from {@link SecureStash.exportKey}), with no
   * key derivation at all. Writes keep working; a password change on disk makes the key
   * stale, and calls then throw SSCryptoError KEY_CHANGED.
   * @throws {SSCryptoError} KEY_CHANGED when the file no longer matches the key; DECRYPT_FAILED
   * @throws {SSError} STASH_NOT_FOUND
   */
  static openWithKey(path: string, key: StashKey): Promise<SecureStash> {
    return SecureStash.#open(path, { key }, { create: false })
  }

  // The one load path: the file is read and parsed once, and decrypted from those bytes.
  static async #open(path: string, secret: Secret, options: OpenOptions): Promise<SecureStash> {
    const real = resolveStashPath(path)
    const file = readFileChecked(real, { maxBytes: READ_LIMITS.stash })
    if (file === undefined) {
      if (options.create === false || !('password' in secret)) throw new SSError(`${path} does not exist`, 'STASH_NOT_FOUND')
      return SecureStash.#create(real, secret.password, options.kdf ?? DEFAULT_SCRYPT, false)
    }
    const locked = parseStash(file.bytes, path)
    const stash = new SecureStash(real, 'password' in secret ? secret.password : undefined, SecureStash.#describe(real, locked))
    if ('key' in secret) stash.#keys.set(secret.key.keyId, secret.key.key)
    stash.#prime(identityOf(file.stats), await stash.#unlock(locked))
    return stash
  }

  /**
   * Creates a new, empty stash; refuses an existing file.
   * @throws {SSError} STASH_EXISTS, BAD_PARAMETERS
   */
  static async create(path: string, password: string, options: Pick<OpenOptions, 'kdf'> = {}): Promise<SecureStash> {
    if (typeof password !== 'string') throw new SSValueError('the password must be a string')
    return SecureStash.#create(resolveStashPath(path), password, options.kdf ?? DEFAULT_SCRYPT, true)
  }

  static async #create(real: string, password: string, kdf: KdfParams, refuseExisting: boolean): Promise<SecureStash> {
    const fresh = await createStash(kdf, password)
    const stash = new SecureStash(real, password, { path: real, format: formatOf(kdf), kdf })
    stash.#keys.set(fresh.keyId, fresh.key)
    const [{ withLock }, { writeAtomic }] = await writing()
    try {
      await withLock(real, (lock) => writeAtomic(real, fresh.seal(new Tree()), { exclusive: true, lock }))
    } catch (error) {
      // Two processes creating the same stash at once: the loser opens the winner's file.
      if (error instanceof SSError && error.code === 'STASH_EXISTS' && !refuseExisting) return SecureStash.open(real, password)
      throw error
    }
    return stash
  }

  static #describe(path: string, locked: LockedStash): StashInfo {
    return { path, format: locked.format, kdf: locked.kdf }
  }

  /** The stash's format and key derivation, as last read. */
  get info(): StashInfo {
    return { ...this.#info }
  }

  /**
   * The derived key of the stash as it is on disk now, for an agent to hold.
   * @throws {SSCryptoError} KEY_CHANGED when the file changed password since this stash was opened
   */
  async exportKey(): Promise<StashKey> {
    const { locked } = this.#read()
    return { keyId: locked.keyId, key: await this.#keyFor(locked) }
  }

  #read(): ReadStash {
    const file = readFileChecked(this.path, { maxBytes: READ_LIMITS.stash })
    if (file === undefined) throw new SSError(`${this.path} does not exist any more`, 'STASH_NOT_FOUND')
    const locked = parseStash(file.bytes, this.path)
    this.#info = SecureStash.#describe(this.path, locked)
    return { locked, identity: identityOf(file.stats) }
  }

  async #keyFor(locked: LockedStash): Promise<Uint8Array> {
    const cached = this.#keys.get(locked.keyId)
    if (cached) return cached
    if (this.#password === undefined)
      throw new SSCryptoError(`the password of ${this.path} has changed; unlock it again`, 'KEY_CHANGED')
    const key = await deriveKey(locked.kdf, this.#password, locked.salt)
    this.#keys.clear()
    this.#keys.set(locked.keyId, key)
    return key
  }

  async #unlock(locked: LockedStash = this.#read().locked): Promise<UnlockedStash> {
    return locked.unlock(await this.#keyFor(locked))
  }

  /**
   * Passes `fn` a snapshot of the tree that is its own: `fn` may change it or keep it, and
   * nothing it does is written (use {@link update} to change the stash). Decrypts the file as it
   * is now, unless the snapshot open() or the last update() left is still current: that one is
   * handed over, once. For many reads of an unchanged file, {@link peek} decrypts nothing.
   * @returns what `fn` returns
   */
  override async view<T>(fn: (tree: Tree) => T | Promise<T>): Promise<T> {
    return fn((await this.#current()).tree)
  }

  /**
   * Passes `fn` the shared, cached snapshot of the tree: for a long-lived reader such as the
   * agent. The snapshot is kept while the file is unchanged, so reading again decrypts nothing;
   * in exchange `fn` only reads, synchronously, and keeps nothing. Unlike {@link view}, whose
   * tree is the caller's own.
   * @returns what `fn` returns
   */
  async peek<T>(fn: (tree: Tree) => T): Promise<T> {
    const primed = this.#primed
    if (primed && SecureStash.#isCurrent(primed.identity, this.path)) return fn(primed.unlocked.tree)
    const read = this.#read()
    const unlocked = await this.#unlock(read.locked)
    // Kept unless a view() or update() took the snapshot meanwhile (and may be changing it).
    if (this.#primed === primed) this.#prime(read.identity, unlocked)
    return fn(unlocked.tree)
  }

  /** The primed snapshot when the file is still the one it came from, else a fresh decryption. */
  #current(): Promise<UnlockedStash> {
    // Taken once: `fn` may change the tree it is given, so a snapshot is never handed out twice.
    const primed = this.#primed
    this.#primed = undefined
    if (primed && SecureStash.#isCurrent(primed.identity, this.path)) return Promise.resolve(primed.unlocked)
    return this.#unlock()
  }

  // '' is a file that could not be stat'ed: it never matches, so nothing is reused on a guess.
  static #isCurrent(identity: string, path: string): boolean {
    return identity !== '' && identity === fileIdentity(path)
  }

  #prime(identity: string, unlocked: UnlockedStash): void {
    this.#primed = { identity, unlocked }
  }

  /**
   * Applies several changes under one lock and writes the file once. When `fn` throws, or
   * returns {@link TreeStash.UNCHANGED} (it changed nothing, and left the tree as it was),
   * nothing is written. The tree is the stash as it is under the lock: decrypted once, or
   * not at all when this process already holds the file's current content.
   * @returns what `fn` returns
   * @throws {SSError} LOCK_TIMEOUT, LOCK_LOST, WRITE_FAILED, UNSAFE_DIRECTORY; {@link SSValueError} for a tree too large
   */
  override async update<T>(fn: (tree: Tree) => T | Promise<T>): Promise<T> {
    const [{ withLock }, { writeAtomic }] = await writing()
    return withLock(this.path, async (lock) => {
      const unlocked = await this.#current()
      const result = await fn(unlocked.tree)
      if (result === TreeStash.UNCHANGED) return result
      await writeAtomic(this.path, unlocked.seal(unlocked.tree), { lock })
      // Still under the lock, so no other sstash writer can have replaced the file since.
      this.#prime(fileIdentity(this.path), unlocked)
      // The leak guard's fingerprints follow each write: one stat when the guard is off.
      await (await import('../guard/active.js')).afterWrite(this.path, 'personal', unlocked.tree)
      return result
    })
  }

  /**
   * Re-encrypts the stash under a new password, atomically, keeping every value.
   * @param options.kdf - new key derivation; its name may switch the format (this is how `migrate` works)
   */
  async changePassword(newPassword: string, options: Pick<OpenOptions, 'kdf'> = {}): Promise<void> {
    if (typeof newPassword !== 'string') throw new SSValueError('the password must be a string')
    const kdf = options.kdf ?? this.#info.kdf
    const fresh = await createStash(kdf, newPassword)
    const [{ withLock }, { writeAtomic }] = await writing()
    await withLock(this.path, async (lock) => {
      const { tree } = await this.#unlock()
      await writeAtomic(this.path, fresh.seal(tree), { lock })
      await (await import('../guard/active.js')).afterWrite(this.path, 'personal', tree)
    })
    this.#password = newPassword
    this.#keys.clear()
    this.#keys.set(fresh.keyId, fresh.key)
    this.#info = { path: this.path, format: formatOf(kdf), kdf }
  }
}
