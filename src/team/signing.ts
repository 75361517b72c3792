/**
 * The team's signing key (docs/TEAM.md, Membership): an Ed25519 key whose private half is
 * wrapped to each admin and whose public half is in the file. It signs the membership section
 * as one byte string; each new generation (after an admin's removal) is endorsed by the
 * previous one, so a clone that pinned an older key follows the chain. Node's own Ed25519.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import { SSCryptoError, SSError } from '../errors.js'
import { TEAM_MAGIC, membershipLines, type SignKeyRecord, type TeamFile } from './format.js'
import { b64, fromB64, hash, randomBytes } from '../crypto/primitives.js'

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')

const tampered = (message: string): SSCryptoError => new SSCryptoError(message, 'TEAM_TAMPERED')

/** A new signing key: its 32-byte seed and public key (base64). */
export function newSigningKey(): { seed: Uint8Array; publicKey: string } {
  const seed = randomBytes(32)
  return { seed, publicKey: publicKeyOf(seed) }
}

/** The public key (base64 of 32 bytes) of a seed. */
export function publicKeyOf(seed: Uint8Array): string {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' })
  return b64(new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length)))
}

/** Signs `message` with a seed. @returns the signature, base64 */
export function signBytes(seed: Uint8Array, message: string): string {
  return b64(new Uint8Array(sign(null, Buffer.from(message), createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' }))))
}

/** Checks an Ed25519 signature; false for any malformed input. */
export function verifyBytes(publicKey: string, message: string, signature: string): boolean {
  const pub = fromB64(publicKey)
  const sig = fromB64(signature)
  if (pub?.length !== 32 || sig?.length !== 64) return false
  try {
    return verify(null, Buffer.from(message), createPublicKey({ key: Buffer.concat([SPKI_ED25519, pub]), format: 'der', type: 'spki' }), sig)
  } catch {
    return false
  }
}

/** What the signature covers: a label, the header, then each membership line but the signature, each ending with a newline. */
export const membershipMessage = (teamId: string, lines: readonly string[]): string => `${TEAM_MAGIC} membership\n${TEAM_MAGIC} ${teamId}\n${lines.map((l) => `${l}\n`).join('')}`

/** What an endorsement of generation `gen`'s public key by generation `gen - 1` covers. */
export const endorsementMessage = (teamId: string, gen: number, publicKey: string): string => `${TEAM_MAGIC} signkey\n${teamId}\n${gen}\n${publicKey}\n`

/** The newest signing key of a file. */
export const currentSignKey = (file: Pick<TeamFile, 'signKeys'>): SignKeyRecord => file.signKeys.get(file.signKeys.size) as SignKeyRecord

/** Signs a file's membership section with the newest signing key's seed (the caller checked it is that key). */
export function signMembership(file: TeamFile, seed: Uint8Array): void {
  file.signature = signBytes(seed, membershipMessage(file.teamId, membershipLines(file)))
}

/**
 * Checks the signing key chain (each generation endorsed by the one before) and the signature
 * over the membership lines as they are in the file.
 * @param lines - the membership lines of the file, as read, without the signature line
 * @throws {SSCryptoError} TEAM_TAMPERED
 */
export function verifyMembership(file: TeamFile, lines: readonly string[], what: string): void {
  for (let gen = 1; gen <= file.signKeys.size; gen++) if (!file.signKeys.has(gen)) throw tampered(`${what}: the team's signing key of generation ${gen} is missing`)
  if (file.signKeys.size === 0) throw new SSError(`${what} is not a valid team stash: it has no signing key`, 'NOT_A_STASH')
  for (let gen = 2; gen <= file.signKeys.size; gen++) {
    const key = file.signKeys.get(gen) as SignKeyRecord
    if (!verifyBytes((file.signKeys.get(gen - 1) as SignKeyRecord).publicKey, endorsementMessage(file.teamId, gen, key.publicKey), key.endorsement))
      throw tampered(`${what}: the team's signing key of generation ${gen} is not endorsed by the one before it: the file was forged`)
  }
  if (!verifyBytes(currentSignKey(file).publicKey, membershipMessage(file.teamId, lines), file.signature))
    throw tampered(`${what}: the membership of this team stash does not verify against the team's signing key: a member, scope, prefix or key was changed or planted by someone who is not an admin`)
}

/** 80 bits of SHA-256 of `text`, as `xxxx-xxxx-xxxx-xxxx-xxxx`: short enough to read aloud. */
function shortHash(text: string): string {
  const hex = Buffer.from(hash('sha256', text)).toString('hex').slice(0, 20)
  return hex.match(/.{4}/g)?.join('-') ?? hex
}

/**
 * The team fingerprint: a short hash of the team id and the first signing key, which a new
 * member compares out of band (as ssh's host key fingerprint). `xxxx-xxxx-xxxx-xxxx-xxxx`, 80 bits.
 * It never changes, so it cannot tell a file from a removed admin's forgery that keeps only the
 * signing keys that admin held: {@link signingKeyFingerprint} can.
 */
export function teamFingerprint(file: Pick<TeamFile, 'teamId' | 'signKeys'>): string {
  return shortHash(`${TEAM_MAGIC} fingerprint\n${file.teamId}\n${file.signKeys.get(1)?.publicKey ?? ''}\n`)
}

/**
 * The fingerprint of the team's signing key of generation `gen` (default the current one),
 * `gen:xxxx-xxxx-xxxx-xxxx-xxxx`. CI pins it besides the team fingerprint (`team verify
 * --signing-key`): a file holds that key only if its chain of endorsed signing keys reaches it,
 * which a removed admin's forgery, signed with a key replaced at the removal, cannot.
 * @returns undefined when the file has no signing key of that generation
 */
export function signingKeyFingerprint(file: Pick<TeamFile, 'teamId' | 'signKeys'>, gen = file.signKeys.size): string | undefined {
  const key = file.signKeys.get(gen)
  return key && `${gen}:${shortHash(`${TEAM_MAGIC} signing key\n${file.teamId}\n${gen}\n${key.publicKey}\n`)}`
}

/** A digest of a file's membership lines, as this clone remembers the membership it saw at an epoch. */
export const membershipDigest = (file: TeamFile): string => Buffer.from(hash('sha256', membershipMessage(file.teamId, membershipLines(file)))).toString('base64url').slice(0, 22)
