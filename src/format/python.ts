/**
 * The Python sstash 0.17 format: an ASCII JSON object {hash, salt, iterations, enc_blob},
 * the key PBKDF2-HMAC-SHA512(password, salt, iterations, 32), the plaintext a UTF-8 JSON
 * tree {segment: {children: {...}, value?: hex}}. See docs/FORMAT.md.
 */
import { SSError } from '../errors.js'
import { deriveKey, checkKdf, keyIdOf, type Pbkdf2Params } from './kdf.js'
import { open, seal, randomBytes, KEY_BYTES, NONCE_BYTES, TAG_BYTES } from './box.js'
import { Tree, TreeNode, MAX_DEPTH } from '../tree/tree.js'
import type { LockedStash, NewStash } from './stash-file.js'

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

/** The plaintext JSON tree; `__proto__` and friends stay data thanks to null-prototype objects. */
export function encodeTree(tree: Tree): Uint8Array {
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

/** Parses and checks the plaintext JSON tree. @throws {SSError} CORRUPT_CONTENT */
export function decodeTree(plain: Uint8Array): Tree {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain))
  } catch {
    corrupt('it is not UTF-8 JSON')
  }
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
