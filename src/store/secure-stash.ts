import { SSCryptoError, SSError, SSValueError } from '../errors.js'
import { TreeStash, guardAfterWrite, writing, type Loaded } from '../stash/tree-stash.js'
import { DEFAULT_SCRYPT, deriveKey, type KdfParams } from '../format/kdf.js'
import { createStash, parseStash } from '../format/stash-file.js'
import type { FormatName, LockedStash, UnlockedStash } from '../format/stash-types.js'
import { READ_LIMITS, identityOf, readFileChecked, resolveStashPath } from '../fs/read.js'
import { detectStash, type StashFile } from '../stash/detect.js'
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
export type Secret = { password: string } | { key: StashKey }

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
export class SecureStash extends TreeStash<UnlockedStash> {
  #password: string | undefined
  readonly #keys = new Map<string, Uint8Array>()
  #info: StashInfo

  private constructor(path: string, password: string | undefined, info: StashInfo) {
    super(path)
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
    return SecureStash.openDetected(detectStash(path), { password }, options)
  }

  /**
   * Opens a stash with a key derived earlier (from {@link SecureStash.exportKey}), with no
   * key derivation at all. Writes keep working; a password change on disk makes the key
   * stale, and calls then throw SSCryptoError KEY_CHANGED.
   * @throws {SSCryptoError} KEY_CHANGED when the file no longer matches the key; DECRYPT_FAILED
   * @throws {SSError} STASH_NOT_FOUND
   */
  static openWithKey(path: string, key: StashKey): Promise<SecureStash> {
    return SecureStash.openDetected(detectStash(path), { key }, { create: false })
  }

  /**
   * The one load path: the file {@link detectStash} read, parsed and decrypted from those bytes
   * (the opening code in unlock/ detects a stash once and passes it here).
   * @param parsed - `parseStash` of `found`'s bytes, when the caller parsed them already (an enrolled open reads its header first)
   * @internal
   */
  static async openDetected(found: StashFile, secret: Secret, options: OpenOptions = {}, parsed?: LockedStash): Promise<SecureStash> {
    const { given: path, real, read } = found
    if (read === undefined) {
      if (options.create === false || !('password' in secret)) throw new SSError(`${path} does not exist`, 'STASH_NOT_FOUND')
      return SecureStash.#create(real, secret.password, options.kdf ?? DEFAULT_SCRYPT, false)
    }
    const locked = parsed ?? parseStash(read.bytes, path)
    const stash = new SecureStash(real, 'password' in secret ? secret.password : undefined, SecureStash.#describe(real, locked))
    if ('key' in secret) stash.#keys.set(secret.key.keyId, secret.key.key)
    stash.prime(read.identity, await stash.#unlock(locked))
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

  async #unlock(locked: LockedStash): Promise<UnlockedStash> {
    return locked.unlock(await this.#keyFor(locked))
  }

  /** Reads and decrypts the file as it is now. */
  protected override async load(): Promise<Loaded<UnlockedStash>> {
    const { locked, identity } = this.#read()
    return { identity, snapshot: await this.#unlock(locked) }
  }

  /** The tree sealed with the file's own key and parameters. */
  protected override encode(unlocked: UnlockedStash): Uint8Array {
    return unlocked.seal(unlocked.tree)
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
      const { tree } = await this.#unlock(this.#read().locked)
      await writeAtomic(this.path, fresh.seal(tree), { lock })
      await guardAfterWrite(this.path, formatOf(kdf), tree)
    })
    this.#password = newPassword
    this.#keys.clear()
    this.#keys.set(fresh.keyId, fresh.key)
    this.#info = { path: this.path, format: formatOf(kdf), kdf }
  }
}
