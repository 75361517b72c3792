/**
 * age v1 files (https://age-encryption.org/v1) holding one small payload, with the two stanza
 * types a team member's key can have: `X25519` (age keys) and `ssh-ed25519` (OpenSSH keys).
 * A team stash keeps each wrapped scope key as such a file, so the real `age` decrypts it and
 * sstash reads what `age -r` writes. Only the ed25519 to X25519 conversion of a recipient's
 * public key needs a library (@noble/curves), loaded when a key is wrapped to an ssh key.
 */
import { SSCryptoError, SSError } from '../errors.js'
import { aeadOpen, aeadSeal, b64nopad, fromB64nopad, hash, hkdf, hmac, randomBytes, sameBytes, x25519, x25519Base, x25519Key, type X25519Key } from '../crypto/primitives.js'

/** One recipient stanza of an age header. */
export interface Stanza {
  args: string[]
  body: Uint8Array
}

/** A public key a file key can be wrapped to. */
export interface Recipient {
  /** The canonical spelling: `age1...` or `ssh-ed25519 <base64>`. */
  readonly text: string
  wrap(fileKey: Uint8Array): Promise<Stanza>
}

/** A private key that may unwrap a file key from a header's stanzas. */
export interface Identity {
  /** The canonical spelling of its public key (as {@link Recipient.text}). */
  readonly recipient: string
  /** @returns the file key, or undefined when no stanza is for this identity */
  unwrap(stanzas: readonly Stanza[]): Uint8Array | undefined
}

const VERSION_LINE = 'age-encryption.org/v1'
const X25519_LABEL = 'age-encryption.org/v1/X25519'
const SSH_LABEL = 'age-encryption.org/v1/ssh-ed25519'
const ZERO_NONCE = new Uint8Array(12)
const FILE_KEY_BYTES = 16
const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts))

// The X25519 recipient of age: an ephemeral share, and the file key sealed under the shared secret.
function wrapX25519(fileKey: Uint8Array, theirs: Uint8Array, label: string, tweak?: Uint8Array): { share: Uint8Array; body: Uint8Array } {
  // A low-order public key makes every shared secret zero: refused rather than retried forever.
  for (let attempt = 0; ; attempt++) {
    if (attempt === 4) throw new SSError('the public key is a low-order point, which no one can decrypt with', 'BAD_RECIPIENT')
    const ephemeral = randomBytes(32)
    const share = x25519Base(ephemeral)
    let shared = x25519(ephemeral, theirs)
    if (shared && tweak) shared = x25519(tweak, shared)
    if (!shared) continue
    const key = hkdf(shared, concat(share, theirs), label)
    return { share, body: aeadSeal(key, ZERO_NONCE, fileKey) }
  }
}

function unwrapX25519(scalar: X25519Key, ours: Uint8Array, share: Uint8Array, body: Uint8Array, label: string, tweak?: Uint8Array): Uint8Array | undefined {
  let shared = x25519(scalar, share)
  if (shared && tweak) shared = x25519(tweak, shared)
  if (!shared) return undefined
  return aeadOpen(hkdf(shared, concat(share, ours), label), ZERO_NONCE, body)
}

/** An `age1...` recipient's X25519 public key. */
export function x25519Recipient(text: string, publicKey: Uint8Array): Recipient {
  return {
    text,
    wrap: async (fileKey) => {
      const { share, body } = wrapX25519(fileKey, publicKey, X25519_LABEL)
      return { args: ['X25519', b64nopad(share)], body }
    },
  }
}

/** An `AGE-SECRET-KEY-1...` identity's scalar; `spell` writes its public key as `age1...`. */
export function x25519Identity(secret: Uint8Array, spell: (publicKey: Uint8Array) => string): Identity {
  const scalar = x25519Key(secret)
  const ours = x25519Base(scalar)
  return {
    recipient: spell(ours),
    unwrap: (stanzas) => {
      for (const stanza of stanzas) {
        if (stanza.args[0] !== 'X25519') continue
        const share = stanza.args.length === 2 ? fromB64nopad(stanza.args[1] as string) : undefined
        if (share?.length !== 32 || stanza.body.length !== 32) throw badFile('an X25519 stanza is malformed')
        const fileKey = unwrapX25519(scalar, ours, share, stanza.body, X25519_LABEL)
        if (fileKey) return fileKey
      }
      return undefined
    },
  }
}

/** The 4-byte tag age puts in an ssh-ed25519 stanza: the start of the SHA-256 of the key's wire form. */
const sshTag = (wire: Uint8Array): string => b64nopad(hash('sha256', wire).subarray(0, 4))
const sshTweak = (wire: Uint8Array): Uint8Array => hkdf(new Uint8Array(0), wire, SSH_LABEL)

/**
 * An `ssh-ed25519` recipient: `wire` is the key's SSH wire form, `publicKey` its 32 bytes.
 * @throws {SSError} BAD_RECIPIENT when the key is not a valid ed25519 point (when wrapping)
 */
export function sshRecipient(text: string, wire: Uint8Array, publicKey: Uint8Array): Recipient {
  return {
    text,
    wrap: async (fileKey) => {
      const { ed25519 } = await import('@noble/curves/ed25519.js')
      let theirs: Uint8Array
      try {
        theirs = ed25519.utils.toMontgomery(publicKey)
      } catch (error) {
        throw new SSError('the ssh-ed25519 key is not a valid ed25519 public key', 'BAD_RECIPIENT', { cause: error })
      }
      const { share, body } = wrapX25519(fileKey, theirs, SSH_LABEL, sshTweak(wire))
      return { args: ['ssh-ed25519', sshTag(wire), b64nopad(share)], body }
    },
  }
}

/** An OpenSSH ed25519 private key (its 32-byte seed) and the wire form of its public key. */
export function sshIdentity(seed: Uint8Array, wire: Uint8Array, recipient: string): Identity {
  // The X25519 scalar of an ed25519 key, as age and libsodium derive it.
  const scalar = x25519Key(hash('sha512', seed).subarray(0, 32))
  const ours = x25519Base(scalar)
  const tag = sshTag(wire)
  const tweak = sshTweak(wire)
  return {
    recipient,
    unwrap: (stanzas) => {
      for (const stanza of stanzas) {
        if (stanza.args[0] !== 'ssh-ed25519' || stanza.args[1] !== tag) continue
        const share = stanza.args.length === 3 ? fromB64nopad(stanza.args[2] as string) : undefined
        if (share?.length !== 32 || stanza.body.length !== 32) throw badFile('an ssh-ed25519 stanza is malformed')
        const fileKey = unwrapX25519(scalar, ours, share, stanza.body, SSH_LABEL, tweak)
        if (fileKey) return fileKey
      }
      return undefined
    },
  }
}

const badFile = (why: string): SSCryptoError => new SSCryptoError(`a wrapped key is not a valid age file: ${why}`, 'TEAM_TAMPERED')

function encodeStanza(stanza: Stanza): string {
  const body = b64nopad(stanza.body)
  const lines: string[] = []
  for (let i = 0; i <= body.length; i += 64) lines.push(body.slice(i, i + 64))
  return `-> ${stanza.args.join(' ')}\n${lines.join('\n')}\n`
}

/**
 * Encrypts a small payload (a scope key) to `recipients` as an age v1 file.
 * @returns the file's bytes
 */
export async function ageEncrypt(payload: Uint8Array, recipients: readonly Recipient[]): Promise<Uint8Array> {
  const fileKey = randomBytes(FILE_KEY_BYTES)
  const stanzas = await Promise.all(recipients.map((recipient) => recipient.wrap(fileKey)))
  const header = `${VERSION_LINE}\n${stanzas.map(encodeStanza).join('')}---`
  const mac = hmac(hkdf(fileKey, new Uint8Array(0), 'header'), header)
  const nonce = randomBytes(16)
  const chunkNonce = new Uint8Array(12)
  chunkNonce[11] = 1
  const body = aeadSeal(hkdf(fileKey, nonce, 'payload'), chunkNonce, payload)
  return concat(Buffer.from(`${header} ${b64nopad(mac)}\n`), nonce, body)
}

interface ParsedHeader {
  stanzas: Stanza[]
  /** The header's bytes up to and including `---`, which the MAC covers. */
  macInput: Uint8Array
  mac: Uint8Array
  payload: Uint8Array
}

function parseHeader(file: Uint8Array): ParsedHeader {
  let offset = 0
  const nextLine = (): string => {
    const end = file.indexOf(0x0a, offset)
    if (end < 0) throw badFile('the header ends early')
    const line = Buffer.from(file.subarray(offset, end)).toString('latin1')
    offset = end + 1
    return line
  }
  if (nextLine() !== VERSION_LINE) throw badFile('the version line is wrong')
  const stanzas: Stanza[] = []
  for (;;) {
    const start = offset
    const line = nextLine()
    if (line.startsWith('--- ')) {
      const mac = fromB64nopad(line.slice(4))
      if (mac?.length !== 32) throw badFile('the header MAC is malformed')
      return { stanzas, macInput: file.subarray(0, start + 3), mac, payload: file.subarray(offset) }
    }
    if (!line.startsWith('-> ')) throw badFile('a stanza does not start with ->')
    const args = line.slice(3).split(' ')
    if (args.some((arg) => arg === '' || !/^[\x21-\x7e]+$/.test(arg))) throw badFile('a stanza argument is malformed')
    const chunks: Uint8Array[] = []
    for (;;) {
      const bodyLine = nextLine()
      const bytes = bodyLine.length <= 64 ? fromB64nopad(bodyLine) : undefined
      if (!bytes) throw badFile('a stanza body is malformed')
      chunks.push(bytes)
      if (bodyLine.length < 64) break
    }
    stanzas.push({ args, body: concat(...chunks) })
  }
}

/**
 * Decrypts an age v1 file holding one small payload (at most one 64 KiB chunk) with `identity`.
 * @returns the payload, or undefined when no stanza is for this identity
 * @throws {SSCryptoError} TEAM_TAMPERED when the file is malformed or its MAC or payload do not verify
 */
export function ageDecrypt(file: Uint8Array, identity: Identity): Uint8Array | undefined {
  const header = parseHeader(file)
  const fileKey = identity.unwrap(header.stanzas)
  if (!fileKey) return undefined
  if (fileKey.length !== FILE_KEY_BYTES || !sameBytes(hmac(hkdf(fileKey, new Uint8Array(0), 'header'), header.macInput), header.mac))
    throw badFile('the header MAC does not verify')
  const { payload } = header
  if (payload.length < 32 || payload.length > 16 + 64 * 1024 + 16) throw badFile('the payload is not one chunk')
  const chunkNonce = new Uint8Array(12)
  chunkNonce[11] = 1
  const plain = aeadOpen(hkdf(fileKey, payload.subarray(0, 16), 'payload'), chunkNonce, payload.subarray(16))
  if (!plain) throw badFile('the payload does not decrypt')
  return plain
}
