/**
 * The tree's compact binary encoding: the plaintext body of a native stash (docs/FORMAT.md),
 * and what the agent hands a client that reads through it. Pure: no I/O, no cryptography, so
 * the binaries can read an agent-decrypted tree without loading a cipher.
 *
 *   node  := flags:u8 (0, or 1 when a value follows) [length:uvarint value] count:uvarint child*
 *   child := nameLength:uvarint name (UTF-8) node
 */
import { SSError } from '../errors.js'
import { Tree, TreeNode, MAX_DEPTH, MAX_TREE_BYTES, tooLarge } from './tree.js'

const varintSize = (n: number): number => {
  let size = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    size++
  }
  return size
}

/**
 * Encodes a tree into the body's binary form. Two passes (measure, then write into one
 * buffer) rather than many small chunks: at 10,000 keys the chunks and their concatenation
 * cost more in garbage collection than the encoding itself (see bench/).
 * @throws {SSValueError} BAD_VALUE for a tree larger than {@link MAX_TREE_BYTES}, before any allocation
 */
export function encodeTree(tree: Tree): Uint8Array {
  // Name lengths are measured, and names written straight into the output: no buffer per name.
  const measure = (node: TreeNode): number => {
    let size = 1 + varintSize(node.children.size)
    if (node.value !== undefined) size += varintSize(node.value.length) + node.value.length
    for (const [name, child] of node.children) {
      const length = Buffer.byteLength(name, 'utf8')
      size += varintSize(length) + length + measure(child)
    }
    return size
  }
  const size = measure(tree.root)
  if (size > MAX_TREE_BYTES) throw tooLarge('the stash', size)
  // Zero-filled, not allocUnsafe: this buffer holds secrets, and the pool may hold others.
  const out = Buffer.alloc(size)
  let at = 0
  const varint = (n: number): void => {
    while (n >= 0x80) {
      out[at++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    out[at++] = n
  }
  const walk = (node: TreeNode): void => {
    if (node.value === undefined) out[at++] = 0
    else {
      out[at++] = 1
      varint(node.value.length)
      out.set(node.value, at)
      at += node.value.length
    }
    varint(node.children.size)
    for (const [name, child] of node.children) {
      varint(Buffer.byteLength(name, 'utf8'))
      at += out.write(name, at, 'utf8')
      walk(child)
    }
  }
  walk(tree.root)
  if (at !== out.length) throw new SSError('internal: the tree changed while it was encoded', 'CORRUPT_CONTENT')
  return new Uint8Array(out.buffer, out.byteOffset, out.length)
}

/** Decodes the body's binary form. @throws {SSError} CORRUPT_CONTENT */
export function decodeTree(bytes: Uint8Array): Tree {
  const corrupt = (why: string): never => {
    throw new SSError(`the stash's decrypted content is not a valid tree: ${why}`, 'CORRUPT_CONTENT')
  }
  const decoder = new TextDecoder('utf-8', { fatal: true })
  // Most names are short ASCII: building them by hand is several times faster than TextDecoder.
  const name = (length: number): string => {
    if (length > bytes.length - at) corrupt('it ends early')
    let text = ''
    if (length <= 64) {
      for (let i = at; i < at + length; i++) {
        const b = bytes[i] as number
        if (b >= 0x80) {
          text = ''
          break
        }
        text += String.fromCharCode(b)
      }
      if (text.length === length) {
        at += length
        return text
      }
    }
    try {
      return decoder.decode(take(length))
    } catch {
      return corrupt('a name is not UTF-8')
    }
  }
  let at = 0
  const varint = (): number => {
    let n = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      if (at >= bytes.length) corrupt('it ends early')
      const b = bytes[at++] as number
      if (i > 0 && b === 0) corrupt('a number is not minimally encoded')
      n += (b & 0x7f) * scale
      if (b < 0x80) {
        if (n > Number.MAX_SAFE_INTEGER) break
        return n
      }
      scale *= 0x80
    }
    return corrupt('a number is too large')
  }
  const take = (length: number): Uint8Array => {
    if (length > bytes.length - at) corrupt('it ends early')
    const out = bytes.subarray(at, at + length)
    at += length
    return out
  }
  const read = (node: TreeNode, depth: number): void => {
    if (depth > MAX_DEPTH) corrupt(`it is nested deeper than ${MAX_DEPTH}`)
    const flags = take(1)[0]
    if (flags !== 0 && flags !== 1) corrupt('unknown node flags')
    if (flags === 1) {
      if (depth === 0) corrupt('the root holds a value')
      // A view into the decrypted body, not a copy: one allocation instead of one per value.
      node.value = take(varint())
    }
    const count = varint()
    for (let i = 0; i < count; i++) {
      const key = name(varint())
      if (node.children.has(key)) corrupt('a name appears twice')
      const child = new TreeNode()
      node.children.set(key, child)
      read(child, depth + 1)
    }
  }
  const root = new TreeNode()
  read(root, 0)
  if (at !== bytes.length) corrupt('it has trailing bytes')
  return new Tree(root)
}
