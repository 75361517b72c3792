/**
 * The one contract every kind of stash keeps (a password's SecureStash, a team's TeamStash):
 * a file at a path, read as a tree; a snapshot of what was last decrypted, reused while the file
 * is unchanged; a change made under the file's lock and written atomically; and the value-level
 * calls over `view` and `update`. A kind of stash says only how its bytes become a snapshot
 * ({@link TreeStash.load}) and a snapshot becomes bytes ({@link TreeStash.encode}).
 */
import { fileIdentity } from '../fs/read.js'
import { checkKey, checkValue, type Entry, type Tree } from '../tree/tree.js'

/** What a stash decrypted: the tree, and whatever its kind needs to write that tree back. */
export interface Snapshot {
  /** The tree of key paths and values. */
  tree: Tree
}

/** A snapshot, and the identity of the file it was read from (`''`: unknown, never reused). */
export interface Loaded<S extends Snapshot> {
  /** The file's {@link fileIdentity} when it was read. */
  identity: string
  /** What was decrypted. */
  snapshot: S
}

/** What a stash is, without any secret: for status lines and `sstash doctor`. */
export interface StashSummary {
  /** The stash file's real path. */
  path: string
  /** The file's format: `native`, `python` or `team`. */
  format: string
}

/**
 * The lock and writing (and node:fs/promises with them) are loaded by the first write: a
 * command that only reads a stash loads neither.
 */
export const writing = (): Promise<[typeof import('../fs/lock.js'), typeof import('../fs/write.js')]> =>
  Promise.all([import('../fs/lock.js'), import('../fs/write.js')])

/** The leak guard's fingerprints follow each write: one stat when the guard is off. */
export async function guardAfterWrite(path: string, format: string, tree: Tree): Promise<void> {
  await (await import('../guard/active.js')).afterWrite(path, format === 'team' ? 'team' : 'personal', tree)
}

// '' is a file that could not be stat'ed: it never matches, so nothing is reused on a guess.
const isCurrent = (identity: string, path: string): boolean => identity !== '' && identity === fileIdentity(path)

/** A stash seen as a tree: a kind of stash says how its file is read and written. */
export abstract class TreeStash<S extends Snapshot = Snapshot> {
  /**
   * What an {@link TreeStash.update} callback returns to say it changed nothing: then nothing
   * is written (the file keeps its bytes, times and inode), and update returns it. The same
   * symbol for every kind of stash (`SecureStash.UNCHANGED === TeamStash.UNCHANGED`).
   */
  static readonly UNCHANGED: unique symbol = Symbol('sstash.unchanged')

  /** The stash file's real path (symbolic links followed: a write replaces the target). */
  readonly path: string
  // What was last decrypted or written, for the next read or update to reuse while the file is
  // still that one (every write renames a new file in, so its identity changes): one
  // decryption per command, and none after this process's own write.
  #primed: Loaded<S> | undefined

  protected constructor(path: string) {
    this.path = path
  }

  /** What the stash is, as last read. */
  abstract get info(): StashSummary

  /**
   * Reads the file at {@link path} as it is now and decrypts it.
   * @throws as the kind of stash's open
   */
  protected abstract load(): Promise<Loaded<S>>

  /**
   * The file's bytes holding `snapshot` (its tree changed by an update), or undefined when they
   * are the bytes on disk already: then nothing is written.
   */
  protected abstract encode(snapshot: S): Uint8Array | undefined

  /** The snapshot to reuse after `snapshot` was written, or undefined to decrypt the file again; still under the lock. */
  protected written(snapshot: S): S | undefined | Promise<S | undefined> {
    return snapshot
  }

  /** Keeps `snapshot`, read from the file of `identity`, for the next read or update. */
  protected prime(identity: string, snapshot: S): void {
    this.#primed = { identity, snapshot }
  }

  /** The primed snapshot when the file is still the one it came from, else a fresh decryption. */
  protected async current(): Promise<S> {
    // Taken once: the caller may change the tree it is given, so a snapshot is never handed out twice.
    const primed = this.#primed
    this.#primed = undefined
    if (primed && isCurrent(primed.identity, this.path)) return primed.snapshot
    return (await this.load()).snapshot
  }

  /** The shared snapshot: kept while the file is unchanged, read again when it changed. */
  protected async shared(): Promise<S> {
    const primed = this.#primed
    if (primed && isCurrent(primed.identity, this.path)) return primed.snapshot
    const loaded = await this.load()
    // Kept unless a view() or update() took the snapshot meanwhile (and may be changing it).
    if (this.#primed === primed) this.#primed = loaded
    return loaded.snapshot
  }

  /**
   * Passes `fn` a snapshot of the tree that is its own: `fn` may change it or keep it, and
   * nothing it does is written (use {@link update} to change the stash). Decrypts the file as it
   * is now, unless the snapshot open() or the last update() left is still current: that one is
   * handed over, once. For many reads of an unchanged file, {@link peek} decrypts nothing.
   * @returns what `fn` returns
   */
  async view<T>(fn: (tree: Tree) => T | Promise<T>): Promise<T> {
    return fn((await this.current()).tree)
  }

  /**
   * Passes `fn` the shared, cached snapshot of the tree: for a long-lived reader such as the
   * agent. The snapshot is kept while the file is unchanged, so reading again decrypts nothing;
   * in exchange `fn` only reads, synchronously, and keeps nothing. Unlike {@link view}, whose
   * tree is the caller's own.
   * @returns what `fn` returns
   */
  async peek<T>(fn: (tree: Tree) => T): Promise<T> {
    return fn((await this.shared()).tree)
  }

  /**
   * Applies several changes under one lock and writes the file once. When `fn` throws, or
   * returns {@link TreeStash.UNCHANGED} (it changed nothing, and left the tree as it was),
   * nothing is written. The tree is the stash as it is under the lock: decrypted once, or
   * not at all when this process already holds the file's current content.
   * @returns what `fn` returns
   * @throws {SSError} LOCK_TIMEOUT, LOCK_LOST, WRITE_FAILED, UNSAFE_DIRECTORY; {@link SSValueError} for a tree too large
   */
  async update<T>(fn: (tree: Tree) => T | Promise<T>): Promise<T> {
    return this.change((snapshot) => fn(snapshot.tree))
  }

  /**
   * The one write path: under the lock, the snapshot as the file is now (reread if it changed),
   * `fn`, then, unless `fn` returned {@link TreeStash.UNCHANGED} or the bytes are those on
   * disk, an atomic write, the snapshot kept for the next call, and the leak guard told.
   */
  protected async change<T>(fn: (snapshot: S) => T | Promise<T>): Promise<T> {
    const [{ withLock }, { writeAtomic }] = await writing()
    return withLock(this.path, async (lock) => {
      const snapshot = await this.current()
      const result = await fn(snapshot)
      if (result === TreeStash.UNCHANGED) return result
      const bytes = this.encode(snapshot)
      if (bytes === undefined) return result
      // Kept under the identity of the file written, not of what the path holds now: a writer
      // that takes no lock (a sync tool, a `mv` of a backup) may have renamed its file in since.
      const identity = await writeAtomic(this.path, bytes, { lock })
      const kept = await this.written(snapshot)
      if (kept && identity !== '') this.prime(identity, kept)
      await guardAfterWrite(this.path, this.info.format, snapshot.tree)
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

  /** Every (readable) value at or below `key`, with its full key path. @throws {SSKeyError} KEY_NOT_FOUND */
  async list(key: readonly string[] = []): Promise<Entry[]> {
    checkKey(key)
    return this.view((tree) => tree.entries(key))
  }

  /** Moves a subtree. @throws {SSKeyError} when `from` is missing or `to` exists */
  async move(from: readonly string[], to: readonly string[]): Promise<void> {
    await this.update((tree) => tree.move(from, to))
  }
}
