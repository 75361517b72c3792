import { dirname, join, basename } from 'node:path'
import { SSCryptoError, SSError, SSKeyError, SSValueError, ioError, showKey } from '../errors.js'
import { DEFAULT_SCRYPT, deriveKey, type KdfParams } from '../format/kdf.js'
import { createStash, parseStash, type FormatName, type LockedStash, type UnlockedStash } from '../format/stash-file.js'
import { fileIdentity, readIfExists, readLocalFile, resolveStashPath } from './read.js'
import { Tree, checkKey, checkValue, type Entry } from '../tree/tree.js'

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
 * Writing and the lock (file-io.ts, and node:fs/promises with it) are loaded by the first
 * write: a command that only reads the stash loads neither.
 */
const fileIo = (): Promise<typeof import('./write.js')> => import('./write.js')
const fsPromises = (): Promise<typeof import('node:fs/promises')> => import('node:fs/promises')

/** A derived key with the identity of what it was derived from: what the agent caches. */
export interface StashKey {
  keyId: string
  key: Uint8Array
}

/** What a stash is made of, without any secret: for `sstash doctor` and status lines. */
export interface StashInfo {
  path: string
  format: FormatName
  kdf: KdfParams
}

/**
 * An encrypted stash file holding a tree of key paths to byte values.
 *
 * Every call re-reads the file, so several processes can share one stash; every change
 * is a read-modify-write under the stash's lock, replacing the file atomically.
 */
export class SecureStash {
  readonly path: string
  #password: string | undefined
  readonly #keys = new Map<string, Uint8Array>()
  #info: StashInfo
  // What open() decrypted or update() wrote, for the next view() or update() to reuse while the
  // file is still that one (every write renames a new file in, so its identity changes): one
  // decryption per command, and none after this process's own write.
  #primed: { identity: string; unlocked: UnlockedStash } | undefined

  private constructor(path: string, password: string | undefined, info: StashInfo) {
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
    const real = resolveStashPath(path)
    const identity = fileIdentity(real)
    const bytes = readIfExists(real)
    if (bytes === undefined) {
      if (options.create === false) throw new SSError(`${path} does not exist`, 'STASH_NOT_FOUND')
      return SecureStash.#create(real, password, options.kdf ?? DEFAULT_SCRYPT, false)
    }
    const stash = new SecureStash(real, password, SecureStash.#describe(real, parseStash(bytes, path)))
    stash.#prime(identity, await stash.#unlock(bytes))
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

  /**
   * Opens a stash with a key derived earlier (from {@link SecureStash.exportKey}), with no
   * key derivation at all. Writes keep working; a password change on disk makes the key
   * stale, and calls then throw SSCryptoError KEY_CHANGED.
   * @throws {SSCryptoError} KEY_CHANGED when the file no longer matches the key; DECRYPT_FAILED
   */
  static async openWithKey(path: string, key: StashKey): Promise<SecureStash> {
    const real = resolveStashPath(path)
    const identity = fileIdentity(real)
    const bytes = readIfExists(real)
    if (bytes === undefined) throw new SSError(`${path} does not exist`, 'STASH_NOT_FOUND')
    const stash = new SecureStash(real, undefined, SecureStash.#describe(real, parseStash(bytes, path)))
    stash.#keys.set(key.keyId, key.key)
    stash.#prime(identity, await stash.#unlock(bytes))
    return stash
  }

  static async #create(real: string, password: string, kdf: KdfParams, refuseExisting: boolean): Promise<SecureStash> {
    const fresh = await createStash(kdf, password)
    const format: FormatName = kdf.name === 'scrypt' ? 'native' : 'python'
    const stash = new SecureStash(real, password, { path: real, format, kdf })
    stash.#keys.set(fresh.keyId, fresh.key)
    const { withLock, writeAtomic } = await fileIo()
    try {
      await withLock(real, () => writeAtomic(real, fresh.seal(new Tree()), true))
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
    const locked = await this.#read()
    const key = await this.#keyFor(locked)
    return { keyId: locked.keyId, key }
  }

  async #read(): Promise<LockedStash> {
    const bytes = readIfExists(this.path)
    if (bytes === undefined) throw new SSError(`${this.path} does not exist any more`, 'STASH_NOT_FOUND')
    const locked = parseStash(bytes, this.path)
    this.#info = SecureStash.#describe(this.path, locked)
    return locked
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

  async #unlock(bytes?: Uint8Array) {
    const locked = bytes ? parseStash(bytes, this.path) : await this.#read()
    return locked.unlock(await this.#keyFor(locked))
  }

  /**
   * Reads a consistent snapshot of the tree and passes it to `fn`.
   * @returns what `fn` returns
   */
  async view<T>(fn: (tree: Tree) => T | Promise<T>): Promise<T> {
    return fn((await this.#current()).tree)
  }

  /**
   * Passes the tree to `fn`, which only reads it, synchronously: for a long-lived reader such
   * as the agent. Unlike {@link view}, the snapshot is kept for the next call while the file is
   * unchanged, so reading again decrypts nothing. `fn` must not change the tree or keep it.
   * @returns what `fn` returns
   */
  async peek<T>(fn: (tree: Tree) => T): Promise<T> {
    // Taken before any read: a file replaced after this never matches it.
    const identity = fileIdentity(this.path)
    const primed = this.#primed
    if (primed && identity !== '' && primed.identity === identity) return fn(primed.unlocked.tree)
    const unlocked = await this.#unlock()
    // Kept unless a view() or update() took the snapshot meanwhile (and may be changing it).
    if (this.#primed === primed) this.#prime(identity, unlocked)
    return fn(unlocked.tree)
  }

  /** The primed snapshot when the file is still the one it came from, else a fresh decryption. */
  async #current(): Promise<UnlockedStash> {
    // Taken once: `fn` may change the tree it is given, so a snapshot is never handed out twice.
    const primed = this.#primed
    this.#primed = undefined
    if (primed && primed.identity !== '' && primed.identity === fileIdentity(this.path)) return primed.unlocked
    return this.#unlock()
  }

  #prime(identity: string, unlocked: UnlockedStash): void {
    this.#primed = { identity, unlocked }
  }

  /**
   * Applies several changes under one lock and writes the file once. When `fn` throws,
   * nothing is written.
   * @returns what `fn` returns
   */
  async update<T>(fn: (tree: Tree) => T | Promise<T>): Promise<T> {
    const { withLock, writeAtomic } = await fileIo()
    return withLock(this.path, async () => {
      const unlocked = await this.#current()
      const result = await fn(unlocked.tree)
      await writeAtomic(this.path, unlocked.seal(unlocked.tree))
      // Still under the lock, so no other sstash writer can have replaced the file since.
      this.#prime(fileIdentity(this.path), unlocked)
      return result
    })
  }

  /** The value at `key`. @throws {SSKeyError} KEY_NOT_FOUND or NO_VALUE */
  async readValue(key: readonly string[]): Promise<Uint8Array> {
    checkKey(key)
    return this.view((tree) => tree.read(key))
  }

  /** Stores `value` at `key`, creating the path. @throws {SSValueError} when value is not a Uint8Array */
  async writeValue(key: readonly string[], value: Uint8Array): Promise<void> {
    checkKey(key)
    checkValue(value)
    await this.update((tree) => tree.write(key, value))
  }

  /**
   * Removes `key` and everything below it; `[]` empties the stash.
   * @returns the removed node's own value, or undefined when it held none
   * @throws {SSKeyError} KEY_NOT_FOUND
   */
  async removeKey(key: readonly string[]): Promise<Uint8Array | undefined> {
    checkKey(key)
    return this.update((tree) => tree.remove(key))
  }

  /** Names of the children of `key` (`[]` is the root). @throws {SSKeyError} KEY_NOT_FOUND */
  async getChildren(key: readonly string[]): Promise<string[]> {
    checkKey(key)
    return this.view((tree) => tree.children(key))
  }

  /** True when `key` exists, with or without a value. */
  async has(key: readonly string[]): Promise<boolean> {
    checkKey(key)
    return this.view((tree) => tree.find(key) !== undefined)
  }

  /** Every value at or below `key`, with its full key path. @throws {SSKeyError} KEY_NOT_FOUND */
  async list(key: readonly string[] = []): Promise<Entry[]> {
    checkKey(key)
    return this.view((tree) => tree.entries(key))
  }

  /** Moves a subtree. @throws {SSKeyError} when `from` is missing or `to` exists */
  async move(from: readonly string[], to: readonly string[]): Promise<void> {
    await this.update((tree) => tree.move(from, to))
  }

  /**
   * Re-encrypts the stash under a new password, atomically, keeping every value.
   * @param options.kdf - new key derivation; its name may switch the format (this is how `migrate` works)
   */
  async changePassword(newPassword: string, options: Pick<OpenOptions, 'kdf'> = {}): Promise<void> {
    if (typeof newPassword !== 'string') throw new SSValueError('the password must be a string')
    const kdf = options.kdf ?? this.#info.kdf
    const fresh = await createStash(kdf, newPassword)
    const { withLock, writeAtomic } = await fileIo()
    await withLock(this.path, async () => {
      const { tree } = await this.#unlock()
      await writeAtomic(this.path, fresh.seal(tree))
    })
    this.#password = newPassword
    this.#keys.clear()
    this.#keys.set(fresh.keyId, fresh.key)
    this.#info = { path: this.path, format: kdf.name === 'scrypt' ? 'native' : 'python', kdf }
  }

  /** Stores the bytes of the file at `srcPath` at `key`. */
  async writeFile(key: readonly string[], srcPath: string): Promise<void> {
    checkKey(key)
    await this.writeValue(key, readLocalFile(srcPath))
  }

  /** Writes the value at `key` to `destPath` (created 0600, replaced atomically). */
  async readFile(key: readonly string[], destPath: string): Promise<void> {
    const { writeAtomic } = await fileIo()
    await writeAtomic(destPath, await this.readValue(key))
  }

  /**
   * Stores every regular file below `srcDir` under `key`, one segment per path component,
   * in one write. Symlinks and other special files are refused.
   */
  async writeDir(key: readonly string[], srcDir: string): Promise<void> {
    checkKey(key)
    const { readdir, lstat } = await fsPromises()
    const files: Entry[] = []
    const walk = async (dir: string, rel: string[]): Promise<void> => {
      for (const name of (await readdir(dir)).sort()) {
        const path = join(dir, name)
        const info = await lstat(path)
        if (info.isDirectory()) await walk(path, [...rel, name])
        else if (info.isFile()) files.push({ key: [...key, ...rel, name], value: readLocalFile(path) })
        else throw new SSValueError(`${path} is not a regular file or directory`)
      }
    }
    const info = await lstat(srcDir).catch((error: unknown) => {
      throw ioError('read', srcDir, error)
    })
    if (!info.isDirectory()) throw new SSValueError(`${srcDir} is not a directory`)
    await walk(srcDir, [])
    await this.update((tree) => {
      for (const file of files) tree.write(file.key, file.value)
    })
  }

  /**
   * Recreates the subtree at `key` as a directory at `destDir` (0700, files 0600). Refuses an
   * existing `destDir`; writes into a temporary directory first, so nothing partial is left.
   * @throws {SSError} DEST_EXISTS; {@link SSKeyError} when a node holds a value and children
   */
  async readDir(key: readonly string[], destDir: string): Promise<void> {
    checkKey(key)
    const { lstat, mkdtemp, mkdir, rename, rm, writeFile: fsWriteFile } = await fsPromises()
    if (await lstat(destDir).then(() => true, () => false)) throw new SSError(`${destDir} already exists`, 'DEST_EXISTS')
    const entries = await this.view((tree) => {
      tree.node(key)
      return tree.entries(key)
    })
    const paths = new Set(entries.map((entry) => entry.key.slice(key.length).join('\0')))
    for (const entry of entries) {
      const rel = entry.key.slice(key.length)
      for (const segment of rel)
        if (segment === '' || segment === '.' || segment === '..' || segment.includes('/') || segment.includes('\0'))
          throw new SSKeyError(`key ${showKey(entry.key)} cannot be a file name`, entry.key, 'BAD_KEY')
      for (let i = 1; i < rel.length; i++)
        if (paths.has(rel.slice(0, i).join('\0')))
          throw new SSKeyError(`key ${showKey([...key, ...rel.slice(0, i)])} holds a value and children; it cannot be both a file and a directory`, entry.key, 'BAD_KEY')
    }
    const tmp = await mkdtemp(join(dirname(destDir), `.${basename(destDir)}.tmp-`))
    try {
      for (const entry of entries) {
        const rel = entry.key.slice(key.length)
        const file = join(tmp, ...rel)
        await mkdir(dirname(file), { recursive: true, mode: 0o700 })
        await fsWriteFile(file, entry.value, { mode: 0o600, flag: 'wx' })
      }
      await rename(tmp, destDir)
    } catch (error) {
      await rm(tmp, { recursive: true, force: true })
      throw error instanceof SSError ? error : ioError('write', destDir, error)
    }
  }
}
