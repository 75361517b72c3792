/**
 * OpenSSH private key files (`-----BEGIN OPENSSH PRIVATE KEY-----`, OpenSSH's PROTOCOL.key):
 * unencrypted, or protected by a passphrase with bcrypt-pbkdf and aes256-ctr (ssh-keygen's
 * default) or aes256-gcm@openssh.com. The ciphers are node:crypto's; bcrypt-pbkdf is the
 * `bcrypt-pbkdf` package (the one ssh2 and sshpk use), loaded only when a protected key is
 * decrypted. Only ed25519 keys are decoded: they are the ones an identity can be.
 */
import { createDecipheriv } from 'node:crypto'
import { SSError } from '../errors.js'

/** An OpenSSH private key file, parsed but not decrypted. */
export interface OpenSshKeyFile {
  /** `none`, `aes256-ctr` or `aes256-gcm@openssh.com`. */
  cipher: string
  /** The public key's SSH wire form (stored in clear in the file). */
  publicWire: Uint8Array
  /** True when a passphrase is needed. */
  encrypted: boolean
  /**
   * The ed25519 key inside.
   * @param passphrase - the passphrase's bytes (ignored for an unencrypted key)
   * @returns the key, or undefined when the passphrase is wrong
   * @throws {SSError} BAD_IDENTITY when the file is damaged or holds another kind of key
   */
  decrypt(passphrase?: Uint8Array): Promise<Ed25519Key | undefined>
  /**
   * The ed25519 key of an unencrypted file.
   * @throws {SSError} BAD_IDENTITY for a protected key, a damaged file or another kind of key
   */
  plain(): Ed25519Key
}

/** An ed25519 private key. */
export interface Ed25519Key {
  seed: Uint8Array
  publicKey: Uint8Array
  comment: string
}

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1')
const CIPHERS: Record<string, { keyBytes: number; ivBytes: number; tagBytes: number; name: string }> = {
  'aes256-ctr': { keyBytes: 32, ivBytes: 16, tagBytes: 0, name: 'aes-256-ctr' },
  'aes256-gcm@openssh.com': { keyBytes: 32, ivBytes: 12, tagBytes: 16, name: 'aes-256-gcm' },
}
/** More rounds than this would take minutes: a hostile file must not make us spin. */
const MAX_ROUNDS = 4096

const bad = (what: string, why: string): SSError => new SSError(`${what} is not a usable identity: ${why}`, 'BAD_IDENTITY')

/** Reads SSH wire fields (uint32 big-endian; strings with a uint32 length). */
export class WireReader {
  #offset = 0
  constructor(readonly bytes: Uint8Array) {}
  /** The next string, or undefined past the end. */
  string(): Uint8Array | undefined {
    const length = this.uint32()
    if (length === undefined || this.#offset + length > this.bytes.length) return undefined
    const start = this.#offset
    this.#offset += length
    return this.bytes.subarray(start, start + length)
  }
  /** The next uint32, or undefined past the end. */
  uint32(): number | undefined {
    if (this.#offset + 4 > this.bytes.length) return undefined
    const value = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.#offset, 4).getUint32(0)
    this.#offset += 4
    return value
  }
  /** The next `n` bytes, or undefined past the end. */
  take(n: number): Uint8Array | undefined {
    if (this.#offset + n > this.bytes.length) return undefined
    this.#offset += n
    return this.bytes.subarray(this.#offset - n, this.#offset)
  }
  /** True when every byte was read. */
  get done(): boolean {
    return this.#offset === this.bytes.length
  }
}

const latin1 = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : Buffer.from(bytes).toString('latin1'))

/** True when `content` looks like an OpenSSH private key file. */
export function isOpenSshKey(content: string): boolean {
  return content.trimStart().startsWith('-----BEGIN OPENSSH PRIVATE KEY-----')
}

/**
 * Parses an OpenSSH private key file (PEM-like armour around the binary format), checking
 * its cipher, KDF and bounds before anything is derived.
 * @param what - the file's name, for messages
 * @throws {SSError} BAD_IDENTITY
 */
export function parseOpenSshKey(content: string, what: string): OpenSshKeyFile {
  const match = /^-----BEGIN OPENSSH PRIVATE KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END OPENSSH PRIVATE KEY-----\s*$/.exec(content.trim())
  if (!match) throw bad(what, 'the OpenSSH private key is malformed')
  const bytes = new Uint8Array(Buffer.from((match[1] as string).replace(/\s+/g, ''), 'base64'))
  if (!MAGIC.equals(Buffer.from(bytes.subarray(0, MAGIC.length)))) throw bad(what, 'the OpenSSH private key is malformed')
  const reader = new WireReader(bytes.subarray(MAGIC.length))
  const cipher = latin1(reader.string())
  const kdf = latin1(reader.string())
  const kdfOptions = reader.string()
  if (cipher === undefined || kdf === undefined || kdfOptions === undefined) throw bad(what, 'the OpenSSH private key is malformed')
  if (reader.uint32() !== 1) throw bad(what, 'the OpenSSH file must hold exactly one key')
  const publicWire = reader.string()
  const sealed = reader.string()
  if (!publicWire || !sealed) throw bad(what, 'the OpenSSH private key is malformed')
  const spec = CIPHERS[cipher]
  if (cipher !== 'none' && !spec) throw bad(what, `its cipher ${JSON.stringify(cipher)} is not supported (aes256-ctr and aes256-gcm@openssh.com are)`)
  if ((cipher === 'none') !== (kdf === 'none') || (kdf !== 'none' && kdf !== 'bcrypt')) throw bad(what, `its key derivation ${JSON.stringify(kdf)} is not supported`)
  const tag = spec ? reader.take(spec.tagBytes) : new Uint8Array(0)
  if (!tag || !reader.done) throw bad(what, 'the OpenSSH private key is malformed')
  let salt: Uint8Array | undefined
  let rounds = 0
  if (spec) {
    const options = new WireReader(kdfOptions)
    salt = options.string()
    rounds = options.uint32() ?? 0
    if (!salt || salt.length === 0 || salt.length > 1024 || !options.done) throw bad(what, 'its bcrypt options are malformed')
    if (rounds < 1 || rounds > MAX_ROUNDS) throw bad(what, `its bcrypt rounds (${rounds}) are out of bounds (1 to ${MAX_ROUNDS})`)
  }
  return {
    cipher,
    publicWire,
    encrypted: spec !== undefined,
    async decrypt(passphrase) {
      let plain = sealed
      if (spec && salt) {
        if (passphrase === undefined || passphrase.length === 0) return undefined
        const derived = await bcryptPbkdf(passphrase, salt, rounds, spec.keyBytes + spec.ivBytes)
        const decipher = createDecipheriv(spec.name, derived.subarray(0, spec.keyBytes), derived.subarray(spec.keyBytes)) as ReturnType<typeof createDecipheriv> & { setAuthTag?: (tag: Uint8Array) => void }
        if (spec.tagBytes > 0) decipher.setAuthTag?.(tag)
        try {
          plain = new Uint8Array(Buffer.concat([decipher.update(sealed), decipher.final()]))
        } catch {
          return undefined
        } finally {
          derived.fill(0)
        }
      }
      return privateSection(plain, publicWire, what, spec !== undefined)
    },
    plain() {
      if (spec) throw new SSError(`${what} is an OpenSSH key protected by a passphrase`, 'BAD_IDENTITY', { hint: 'give it as SSTASH_IDENTITY_FILE: sstash asks for its passphrase' })
      return privateSection(sealed, publicWire, what, false) as Ed25519Key
    },
  }
}

async function bcryptPbkdf(passphrase: Uint8Array, salt: Uint8Array, rounds: number, length: number): Promise<Uint8Array> {
  // Loaded here only: most runs never decrypt an ssh key.
  const module = (await import('bcrypt-pbkdf')) as unknown as { default?: BcryptPbkdf } & BcryptPbkdf
  const { pbkdf } = module.default ?? module
  const out = new Uint8Array(length)
  if (pbkdf(passphrase, passphrase.length, salt, salt.length, out, length, rounds) !== 0) throw new SSError('bcrypt-pbkdf failed', 'BAD_IDENTITY')
  return out
}

interface BcryptPbkdf {
  pbkdf(pass: Uint8Array, passlen: number, salt: Uint8Array, saltlen: number, key: Uint8Array, keylen: number, rounds: number): number
}

/** The decrypted private section: two equal check words, one key, its comment, padding 1, 2, 3... */
function privateSection(plain: Uint8Array, publicWire: Uint8Array, what: string, encrypted: boolean): Ed25519Key | undefined {
  const inner = new WireReader(plain)
  const check1 = inner.uint32()
  const check2 = inner.uint32()
  // With a cipher, unequal check words are how OpenSSH itself tells a wrong passphrase.
  if (check1 === undefined || check1 !== check2) {
    if (encrypted) return undefined
    throw bad(what, 'the OpenSSH private key is malformed')
  }
  const type = latin1(inner.string())
  if (type !== 'ssh-ed25519') throw bad(what, `${type ?? 'this'} keys are not supported, only ssh-ed25519`)
  const publicKey = inner.string()
  const privateKey = inner.string()
  const comment = inner.string()
  if (publicKey?.length !== 32 || privateKey?.length !== 64 || comment === undefined) throw bad(what, 'the OpenSSH private key is malformed')
  const outer = new WireReader(publicWire)
  if (latin1(outer.string()) !== 'ssh-ed25519' || !Buffer.from(outer.string() ?? []).equals(publicKey) || !Buffer.from(privateKey.subarray(32)).equals(publicKey))
    throw bad(what, 'its public and private halves do not match')
  return { seed: new Uint8Array(privateKey.subarray(0, 32)), publicKey: new Uint8Array(publicKey), comment: Buffer.from(comment).toString('utf8') }
}

const wire = (bytes: Uint8Array): Buffer => {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(bytes.length)
  return Buffer.concat([length, bytes])
}

/**
 * An unencrypted OpenSSH private key file for an ed25519 key, as `ssh-keygen -N ''` writes it
 * (check words random, padding 1, 2, 3...): the form `sstash identity --import` keeps a
 * passphrase-protected key in the personal stash, which is itself encrypted.
 */
export function encodeOpenSshEd25519(key: Ed25519Key, check: Uint8Array): string {
  const type = Buffer.from('ssh-ed25519')
  const publicWire = Buffer.concat([wire(type), wire(key.publicKey)])
  const parts = [check.subarray(0, 4), check.subarray(0, 4), wire(type), wire(key.publicKey), wire(Buffer.concat([key.seed, key.publicKey])), wire(Buffer.from(key.comment, 'utf8'))]
  let section = Buffer.concat(parts)
  const padding = (8 - (section.length % 8)) % 8
  section = Buffer.concat([section, Buffer.from(Array.from({ length: padding }, (_, i) => i + 1))])
  const none = Buffer.from('none')
  const count = Buffer.alloc(4)
  count.writeUInt32BE(1)
  const body = Buffer.concat([MAGIC, wire(none), wire(none), wire(new Uint8Array(0)), count, wire(publicWire), wire(section)]).toString('base64')
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.replace(/.{1,70}/g, '$&\n')}-----END OPENSSH PRIVATE KEY-----\n`
}
