/**
 * The Python sstash 0.17 format: an ASCII JSON object {hash, salt, iterations, enc_blob},
 * the key PBKDF2-HMAC-SHA512(password, salt, iterations, 32), the plaintext a UTF-8 JSON
 * tree {segment: {children: {...}, value?: hex}}. See docs/FORMAT.md.
 */
import { SSError } from '../errors.js'
import { deriveKey, checkKdf, keyIdOf, type Pbkdf2Params } from './kdf.js'
import { open, seal, KEY_BYTES, NONCE_BYTES, TAG_BYTES } from '../crypto/secretbox.js'
import { randomBytes } from '../crypto/primitives.js'
import { Tree, TreeNode, MAX_DEPTH, MAX_TREE_BYTES, tooLarge } from '../tree/tree.js'
import type { LockedStash, NewStash } from './stash-types.js'

const SALT_BYTES = 32
const FIELDS = ['hash', 'salt', 'iterations', 'enc_blob']
const LOWER_HEX = /^(?:[0-9a-f]{2})*$/
const ANY_HEX = /^(?:[0-9a-fA-F]{2})*$/

function notAStash(what: string, why: string): never {
  throw new SSError(`${what} is not a stash file: ${why}`, 'NOT_A_STASH')
}

function corrupt(why: string): never {
  throw new SSError(`the stash's decrypted content is not a valid tree: ${why}`, 'CORRUPT_CONTENT')
}

/** Parses and checks the outer JSON; rejects anything the Python package would not have written. */
export function parsePython(bytes: Uint8Array, what: string): LockedStash {
  if (bytes.length === 0) notAStash(what, 'the file is empty')
  for (const b of bytes) if (b > 0x7e || (b < 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09)) notAStash(what, 'it is not ASCII JSON')
  let outer: unknown
  try {
    outer = JSON.parse(Buffer.from(bytes).toString('latin1'))
  } catch {
    notAStash(what, 'it is not valid JSON')
  }
  if (typeof outer !== 'object' || outer === null || Array.isArray(outer)) notAStash(what, 'it is not a JSON object')
  const fields = outer as Record<string, unknown>
  const names = Object.keys(fields)
  for (const name of FIELDS) if (!names.includes(name)) notAStash(what, `field "${name}" is missing`)
  for (const name of names) if (!FIELDS.includes(name)) notAStash(what, `unexpected field ${JSON.stringify(name)}`)
  const { hash, salt, iterations, enc_blob: blob } = fields
  if (hash !== 'sha512') throw new SSError(`${what} uses an unsupported hash ${JSON.stringify(hash)}; only sha512 is supported`, 'UNSUPPORTED_FORMAT')
  if (typeof salt !== 'string' || !LOWER_HEX.test(salt) || salt.length !== SALT_BYTES * 2) notAStash(what, `"salt" must be ${SALT_BYTES} bytes of lowercase hex`)
  if (typeof iterations !== 'number' || !Number.isSafeInteger(iterations)) notAStash(what, '"iterations" must be an integer')
  if (typeof blob !== 'string' || !LOWER_HEX.test(blob)) notAStash(what, '"enc_blob" must be lowercase hex')
  if (blob.length < (NONCE_BYTES + TAG_BYTES) * 2) notAStash(what, '"enc_blob" is too short')
  const kdf: Pbkdf2Params = { name: 'pbkdf2-sha512', iterations }
  checkKdf(kdf)
  const saltBytes = new Uint8Array(Buffer.from(salt, 'hex'))
  const sealed = new Uint8Array(Buffer.from(blob, 'hex'))
  return {
    format: 'python',
    kdf,
    salt: saltBytes,
    keyId: keyIdOf('python', kdf, saltBytes),
    unlock(key) {
      const tree = decodeTree(open(key, sealed, what))
      return { tree, seal: (next) => writeOuter(kdf, saltBytes, key, next) }
    },
  }
}

/** Derives the key for a new Python-format stash. */
export async function createPython(kdf: Pbkdf2Params, password: string): Promise<NewStash> {
  checkKdf(kdf)
  const salt = randomBytes(SALT_BYTES)
  const key = await deriveKey(kdf, password, salt)
  return { key, keyId: keyIdOf('python', kdf, salt), seal: (tree) => writeOuter(kdf, salt, key, tree) }
}

// The same bytes Python's json.dump writes: its default separators, its key order.
function writeOuter(kdf: Pbkdf2Params, salt: Uint8Array, key: Uint8Array, tree: Tree): Uint8Array {
  if (key.length !== KEY_BYTES) throw new SSError('internal: bad key length', 'BAD_PARAMETERS')
  const blob = seal(key, encodeTree(tree))
  const text = `{"hash": "sha512", "salt": "${Buffer.from(salt).toString('hex')}", "iterations": ${kdf.iterations}, "enc_blob": "${Buffer.from(blob).toString('hex')}"}`
  return new Uint8Array(Buffer.from(text, 'latin1'))
}

// The exact length of what encodeTree writes, so that a tree too large is refused before
// JSON.stringify builds a string V8 may not be able to hold.
function jsonSize(node: TreeNode): number {
  let size = 2 + Math.max(0, node.children.size - 1)
  for (const [name, child] of node.children) {
    // "name":{"children":...} and, with a value, ,"value":"<hex>"
    size += Buffer.byteLength(JSON.stringify(name), 'utf8') + 1 + 12 + jsonSize(child) + 1
    if (child.value !== undefined) size += 10 + 2 * child.value.length + 1
  }
  return size
}

/**
 * The plaintext JSON tree; `__proto__` and friends stay data thanks to null-prototype objects.
 * @throws {SSValueError} BAD_VALUE for a tree whose JSON is larger than {@link MAX_TREE_BYTES}
 */
export function encodeTree(tree: Tree): Uint8Array {
  const size = jsonSize(tree.root)
  if (size > MAX_TREE_BYTES) throw tooLarge('the stash', size)
  const toJson = (node: TreeNode): Record<string, unknown> => {
    const children: Record<string, unknown> = Object.create(null)
    for (const [name, child] of node.children) {
      const entry: Record<string, unknown> = { children: toJson(child) }
      if (child.value !== undefined) entry.value = Buffer.from(child.value).toString('hex')
      children[name] = entry
    }
    return children
  }
  return new Uint8Array(Buffer.from(JSON.stringify(toJson(tree.root)), 'utf8'))
}

// True when the quote at `at` follows an odd number of backslashes.
function escaped(text: string, at: number): boolean {
  let count = 0
  while (text[at - 1 - count] === '\\') count++
  return count % 2 === 1
}

/**
 * True when some JSON object in `text` (valid JSON) has the same name twice. JSON.parse keeps
 * the last one silently (so does Python's json.loads); a stash never holds two, so such a
 * plaintext was not written by sstash or the Python package, and is refused.
 */
function hasDuplicateName(text: string): boolean {
  // One entry per open object (its names so far) or array (null).
  const open: (Set<string> | null)[] = []
  let nameNext = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"') {
      let end = text.indexOf('"', i + 1)
      while (escaped(text, end)) end = text.indexOf('"', end + 1)
      if (nameNext) {
        const names = open[open.length - 1] as Set<string>
        const name = JSON.parse(text.slice(i, end + 1)) as string
        if (names.has(name)) return true
        names.add(name)
        nameNext = false
      }
      i = end
    } else if (c === '{') {
      open.push(new Set())
      nameNext = true
    } else if (c === '[') {
      open.push(null)
    } else if (c === '}' || c === ']') {
      open.pop()
      nameNext = false
    } else if (c === ',') {
      nameNext = open[open.length - 1] instanceof Set
    }
  }
  return false
}

/** Parses and checks the plaintext JSON tree. @throws {SSError} CORRUPT_CONTENT */
export function decodeTree(plain: Uint8Array): Tree {
  let json: unknown
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(plain)
    json = JSON.parse(text)
  } catch {
    corrupt('it is not UTF-8 JSON')
  }
  if (hasDuplicateName(text)) corrupt('a name appears twice')
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
  const fill = (node: TreeNode, children: unknown, depth: number): void => {
    if (!isObject(children)) corrupt('"children" must be an object')
    if (depth > MAX_DEPTH) corrupt(`it is nested deeper than ${MAX_DEPTH}`)
    for (const name of Object.keys(children)) {
      const entry = children[name]
      if (!isObject(entry)) corrupt('an entry must be an object')
      for (const field of Object.keys(entry)) if (field !== 'children' && field !== 'value') corrupt(`unexpected field ${JSON.stringify(field)}`)
      const child = new TreeNode()
      if ('value' in entry) {
        const value = entry.value
        if (typeof value !== 'string' || !ANY_HEX.test(value)) corrupt('a value must be a hex string')
        child.value = new Uint8Array(Buffer.from(value, 'hex'))
      }
      if (!('children' in entry)) corrupt('an entry must have "children"')
      fill(child, entry.children, depth + 1)
      node.children.set(name, child)
    }
  }
  const root = new TreeNode()
  fill(root, json, 0)
  return new Tree(root)
}
