/**
 * The value-level calls every kind of stash offers, written once over its `view` and `update`:
 * SecureStash (a password's stash) and TeamStash (a team's file) differ in how they read and
 * write the tree, not in what reading one value or removing one key means.
 */
import { checkKey, checkValue, type Entry, type Tree } from './tree.js'

/** A stash seen as a tree: subclasses say how the tree is read and written. */
export abstract class TreeStash {
  /**
   * What an {@link TreeStash.update} callback returns to say it changed nothing: then nothing
   * is written (the file keeps its bytes, times and inode), and update returns it. The same
   * symbol for every kind of stash (`SecureStash.UNCHANGED === TeamStash.UNCHANGED`).
   */
  static readonly UNCHANGED: unique symbol = Symbol('sstash.unchanged')

  /** Reads a consistent snapshot of the tree and passes it to `fn`. */
  abstract view<T>(fn: (tree: Tree) => T | Promise<T>): Promise<T>
  /** Applies several changes under one lock and writes the file once. */
  abstract update<T>(fn: (tree: Tree) => T | Promise<T>): Promise<T>

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
