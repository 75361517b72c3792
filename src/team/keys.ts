/**
 * The spellings of members' keys: recipients (`age1...`, `ssh-ed25519 AAAA... [comment]`) and
 * identities (`AGE-SECRET-KEY-1...`, an age identity file, an OpenSSH ed25519 private key,
 * decoded by src/format/openssh-key.ts), parsed into the {@link Recipient} and {@link Identity} of age-file.ts.
 */
import { SSError } from '../errors.js'
import { bech32Decode, bech32Encode } from '../crypto/bech32.js'
import { sshIdentity, sshRecipient, x25519Identity, x25519Recipient, type Identity, type Recipient } from './age-file.js'
import { b64nopad, hash } from '../crypto/primitives.js'
import { isOpenSshKey, parseOpenSshKey, type Ed25519Key } from '../format/openssh-key.js'

const badRecipient = (why: string): SSError => new SSError(`not a usable public key: ${why}`, 'BAD_RECIPIENT', { hint: 'give age1... (from age-keygen -y) or ssh-ed25519 AAAA... (an id_ed25519.pub)' })
const badIdentity = (what: string, why: string): SSError => new SSError(`${what} is not a usable identity: ${why}`, 'BAD_IDENTITY')

/** Reads SSH wire strings (uint32 length, then bytes) from `bytes`. */
class WireReader {
  #offset = 0
  constructor(readonly bytes: Uint8Array) {}
  string(): Uint8Array | undefined {
    if (this.#offset + 4 > this.bytes.length) return undefined
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.#offset, 4)
    const length = view.getUint32(0)
    const start = this.#offset + 4
    if (start + length > this.bytes.length) return undefined
    this.#offset = start + length
    return this.bytes.subarray(start, start + length)
  }
  uint32(): number | undefined {
    const s = this.#offset + 4 <= this.bytes.length ? new DataView(this.bytes.buffer, this.bytes.byteOffset + this.#offset, 4).getUint32(0) : undefined
    this.#offset += 4
    return s
  }
  get done(): boolean {
    return this.#offset === this.bytes.length
  }
  get rest(): Uint8Array {
    return this.bytes.subarray(this.#offset)
  }
}

const text = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : Buffer.from(bytes).toString('latin1'))

/** The SSH wire form of an ed25519 public key. */
function sshWire(publicKey: Uint8Array): Uint8Array {
  const type = Buffer.from('ssh-ed25519')
  const out = Buffer.alloc(4 + type.length + 4 + 32)
  out.writeUInt32BE(type.length, 0)
  type.copy(out, 4)
  out.writeUInt32BE(32, 4 + type.length)
  Buffer.from(publicKey).copy(out, 8 + type.length)
  return new Uint8Array(out)
}

/**
 * Parses a recipient: `age1...`, or `ssh-ed25519 <base64> [comment]`.
 * @throws {SSError} BAD_RECIPIENT
 */
export function parseRecipient(input: string): Recipient {
  const trimmed = input.trim()
  if (trimmed.startsWith('age1')) {
    const decoded = bech32Decode(trimmed)
    if (decoded?.hrp !== 'age' || decoded.bytes.length !== 32) throw badRecipient('the age1... key is not valid bech32 of 32 bytes')
    return x25519Recipient(bech32Encode('age', decoded.bytes), decoded.bytes)
  }
  const [type, data] = trimmed.split(/\s+/)
  if (type !== 'ssh-ed25519') throw badRecipient(type?.startsWith('ssh-') ? `${type} keys are not supported, only ssh-ed25519` : 'it is neither age1... nor ssh-ed25519 ...')
  const wire = data !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(data) ? new Uint8Array(Buffer.from(data, 'base64')) : undefined
  const reader = wire && new WireReader(wire)
  if (!reader || text(reader.string()) !== 'ssh-ed25519') throw badRecipient('the ssh-ed25519 key data is malformed')
  const publicKey = reader.string()
  if (publicKey?.length !== 32 || !reader.done) throw badRecipient('the ssh-ed25519 key data is malformed')
  return sshRecipient(`ssh-ed25519 ${Buffer.from(wire as Uint8Array).toString('base64')}`, wire as Uint8Array, publicKey)
}

/** What `team ls` shows for a recipient: an age key itself, an ssh key's SHA256 fingerprint (as `ssh-keygen -l`). */
export function recipientFingerprint(recipient: string): string {
  if (!recipient.startsWith('ssh-ed25519 ')) return recipient
  return `ssh-ed25519 SHA256:${b64nopad(hash('sha256', new Uint8Array(Buffer.from(recipient.slice(12), 'base64'))))}`
}

/** An `AGE-SECRET-KEY-1...` string. @throws {SSError} BAD_IDENTITY */
function ageIdentity(line: string, what: string): Identity {
  const decoded = bech32Decode(line)
  if (!line.startsWith('AGE-SECRET-KEY-1') || decoded?.hrp !== 'age-secret-key-' || decoded.bytes.length !== 32)
    throw badIdentity(what, 'an AGE-SECRET-KEY-1... line is not valid')
  return x25519Identity(decoded.bytes, (publicKey) => bech32Encode('age', publicKey))
}

/** The identity of an ed25519 key decoded by src/format/openssh-key.ts (a file, or one decrypted with its passphrase). */
export function ed25519Identity(key: Ed25519Key): Identity {
  const wire = sshWire(key.publicKey)
  return sshIdentity(key.seed, wire, `ssh-ed25519 ${Buffer.from(wire).toString('base64')}`)
}

/**
 * Parses identities: an `AGE-SECRET-KEY-1...` string, an age identity file (one key per line,
 * `#` comments), or an unencrypted OpenSSH ed25519 private key.
 * @param what - where it came from, for messages (`SSTASH_IDENTITY`, a file name)
 * @throws {SSError} BAD_IDENTITY
 */
export function parseIdentities(content: string, what: string): Identity[] {
  if (isOpenSshKey(content)) return [ed25519Identity(parseOpenSshKey(content, what).plain())]
  const lines = content.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'))
  if (lines.length === 0) throw badIdentity(what, 'it holds no AGE-SECRET-KEY-1... line')
  return lines.map((line) => ageIdentity(line, what))
}

/** A new age X25519 identity: its `AGE-SECRET-KEY-1...` string. */
export function generateIdentity(scalar: Uint8Array): string {
  return bech32Encode('age-secret-key-', scalar).toUpperCase()
}
