import { SSKeyError, SSValueError } from '../errors.js'
import { formatKeyPath } from './key-path.js'

/** The deepest key path a stash holds; deeper trees are refused as corrupt. */
export const MAX_DEPTH = 256

/**
 * The most bytes a tree may take once encoded (docs/FORMAT.md, "Size"): 128 MiB. A stash file
 * stays well under what sstash reads back (1 GiB) in either format, and far from the 2 GiB
 * where buffers and strings stop working. A single value is checked against it at once.
 */
export const MAX_TREE_BYTES = 128 * 1024 * 1024

/** The error for a tree or value too large to store; thrown before anything is encrypted or written. */
export function tooLarge(what: string, bytes: number): SSValueError {
  return new SSValueError(`${what} would take ${bytes} bytes; a stash holds at most ${MAX_TREE_BYTES} bytes (128 MiB)`)
}

/**
 * One node of the stash tree. A node may hold a value, children, or both.
 * Children live in a `Map`, so names such as `__proto__` are plain data.
 */
export class TreeNode {
  value: Uint8Array | undefined
  readonly children = new Map<string, TreeNode>()
}

/** One value in a listing: its full key path and its bytes. */
export interface Entry {
  /** The value's full key path. */
  key: string[]
  /** The value's bytes. */
  value: Uint8Array
}

/**
 * Checks that `key` is an array of well-formed strings no deeper than {@link MAX_DEPTH}.
 * @throws {SSKeyError} BAD_KEY otherwise
 */
export function checkKey(key: unknown): asserts key is readonly string[] {
  if (!Array.isArray(key)) throw new SSKeyError('a key path must be an array of strings', [], 'BAD_KEY')
  if (key.length > MAX_DEPTH) throw new SSKeyError(`a key path may have at most ${MAX_DEPTH} segments`, [], 'BAD_KEY')
  for (const segment of key) {
    if (typeof segment !== 'string') throw new SSKeyError('a key path must be an array of strings', [], 'BAD_KEY')
    // A lone surrogate cannot be stored as UTF-8 without changing it.
    if (!segment.isWellFormed()) throw new SSKeyError('a key segment is not well-formed unicode', key as string[], 'BAD_KEY')
  }
}

/**
 * Checks that `value` is bytes, and not more than a stash can hold.
 * @throws {SSValueError} BAD_VALUE otherwise
 */
export function checkValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new SSValueError('a value must be a Uint8Array')
  if (value.length > MAX_TREE_BYTES) throw tooLarge('the value', value.length)
}

/** The node at `segments` below `from`, creating the missing nodes on the way. */
function makePath(from: TreeNode, segments: readonly string[]): TreeNode {
  let node = from
  for (const segment of segments) {
    let next = node.children.get(segment)
    if (!next) {
      next = new TreeNode()
      node.children.set(segment, next)
    }
    node = next
  }
  return node
}

// A key path as a shell word: pasted into a hint, it must reach sstash as it is shown.
const shellWord = (text: string): string => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`)

/**
 * The error for a key path that is not in the stash. Every "not found" is built here, also
 * for a tree the agent sent, so the message is the same with or without the agent. It names
 * the whole key path in the command-line spelling, and its hint the nearest parent that exists.
 * @param key - the whole key path asked for
 * @param found - how many of its first segments exist (the nearest existing parent)
 */
export function keyNotFound(key: readonly string[], found: number): SSKeyError {
  const parent = key.slice(0, Math.max(0, Math.min(found, key.length - 1)))
  const hint =
    parent.length === 0
      ? '`sstash ls` lists the keys at the top of the stash'
      : `\`sstash ls ${shellWord(formatKeyPath(parent))}\` lists what ${formatKeyPath(parent)} holds`
  return new SSKeyError(`key ${formatKeyPath(key)} was not found in the stash`, key, 'KEY_NOT_FOUND', { hint })
}

/** Pure operations on a tree rooted at a {@link TreeNode} whose own value is unused. */
export class Tree {
  /** @param root - the tree's root node, whose own value is unused */
  constructor(readonly root: TreeNode = new TreeNode()) {}

  /** The node at `key`, or undefined. */
  find(key: readonly string[]): TreeNode | undefined {
    checkKey(key)
    let node: TreeNode | undefined = this.root
    for (const segment of key) {
      node = node.children.get(segment)
      if (!node) return undefined
    }
    return node
  }

  /** The node at `key`. @throws {SSKeyError} KEY_NOT_FOUND (see {@link keyNotFound}) */
  node(key: readonly string[]): TreeNode {
    checkKey(key)
    let node = this.root
    for (let i = 0; i < key.length; i++) {
      const next = node.children.get(key[i] as string)
      if (!next) throw keyNotFound(key, i)
      node = next
    }
    return node
  }

  /** @throws {SSKeyError} KEY_NOT_FOUND or NO_VALUE */
  read(key: readonly string[]): Uint8Array {
    if (key.length === 0) throw new SSKeyError('the empty key path holds no value', key, 'NO_VALUE')
    const node = this.node(key)
    if (node.value === undefined) throw new SSKeyError(`key ${formatKeyPath(key)} holds no value`, key, 'NO_VALUE')
    return node.value
  }

  /** Stores `value` at `key`, creating the nodes on the way. */
  write(key: readonly string[], value: Uint8Array): void {
    checkKey(key)
    checkValue(value)
    if (key.length === 0) throw new SSKeyError('the empty key path cannot hold a value', key, 'BAD_KEY')
    makePath(this.root, key).value = new Uint8Array(value)
  }

  /**
   * Removes the node at `key` with everything below it; `[]` empties the tree.
   * @returns the removed node's own value, or undefined when it had none
   * @throws {SSKeyError} KEY_NOT_FOUND
   */
  remove(key: readonly string[]): Uint8Array | undefined {
    checkKey(key)
    if (key.length === 0) {
      this.root.children.clear()
      return undefined
    }
    const parent = this.node(key.slice(0, -1))
    const last = key[key.length - 1] as string
    const node = parent.children.get(last)
    if (!node) throw keyNotFound(key, key.length - 1)
    parent.children.delete(last)
    return node.value
  }

  /** Names of the children of `key`, in insertion order. @throws {SSKeyError} */
  children(key: readonly string[]): string[] {
    return [...this.node(key).children.keys()]
  }

  /** Every value at or below `key`, depth first, parents before children. @throws {SSKeyError} */
  entries(key: readonly string[]): Entry[] {
    const out: Entry[] = []
    const walk = (node: TreeNode, path: string[]): void => {
      if (node.value !== undefined && path.length > 0) out.push({ key: path, value: node.value })
      for (const [name, child] of node.children) walk(child, [...path, name])
    }
    walk(this.node(key), [...key])
    return out
  }

  /**
   * A tree holding only the subtrees at `keys`, shared with this one, not copied; the nodes on
   * the way to them hold no values. Keys that do not exist are left out; `[]` selects everything.
   */
  select(keys: readonly (readonly string[])[]): Tree {
    if (keys.some((key) => key.length === 0)) return this
    const out = new Tree()
    for (const key of keys) {
      const node = this.find(key)
      if (node) makePath(out.root, key.slice(0, -1)).children.set(key[key.length - 1] as string, node)
    }
    return out
  }

  /** Moves the subtree at `from` to `to`. @throws {SSKeyError} when `from` is missing, `to` exists, or `to` is inside `from` */
  move(from: readonly string[], to: readonly string[]): void {
    checkKey(from)
    checkKey(to)
    if (from.length === 0 || to.length === 0) throw new SSKeyError('cannot move the root of the stash', from, 'BAD_KEY')
    if (to.length >= from.length && from.every((s, i) => to[i] === s))
      throw new SSKeyError(`cannot move ${formatKeyPath(from)} inside itself`, from, 'BAD_KEY')
    if (this.find(to)) throw new SSKeyError(`key ${formatKeyPath(to)} already exists`, to, 'KEY_EXISTS')
    const node = this.node(from)
    this.remove(from)
    makePath(this.root, to.slice(0, -1)).children.set(to[to.length - 1] as string, node)
  }
}
