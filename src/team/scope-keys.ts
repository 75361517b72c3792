/**
 * What a scope key does (docs/TEAM.md, Cryptography): its fingerprint, the AEAD of each value
 * and the tag of each tombstone, bound to the team, its key path, scope, generations and version. Which scopes exist and who
 * holds them is the signed membership's job (signing.ts).
 */
import { SSCryptoError } from '../errors.js'
import { encodePath, type TombstoneRecord, type ValueRecord } from './format.js'
import { aeadOpen, aeadSeal, b64, fromB64, hkdf, hmac, randomBytes, sameBytes } from '../crypto/primitives.js'

const LABEL = 'sstash-team/2'
/** Each scope key's subkeys, derived once per key and purpose: a file's values share their scope's. */
const subkeys = new WeakMap<Uint8Array, Map<string, Uint8Array>>()

function sub(key: Uint8Array, purpose: string): Uint8Array {
  let mine = subkeys.get(key)
  if (!mine) subkeys.set(key, (mine = new Map()))
  let subkey = mine.get(purpose)
  if (!subkey) mine.set(purpose, (subkey = hkdf(key, new Uint8Array(0), `${LABEL} ${purpose}`)))
  return subkey
}
const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text))

/** A new random scope key. */
export const newScopeKey = (): Uint8Array => randomBytes(32)

/** The public fingerprint of a scope key. */
export const fingerprintOf = (key: Uint8Array): string => b64(hmac(key, `${LABEL} fingerprint`).subarray(0, 16))

function seal(key: Uint8Array, plaintext: Uint8Array, ad: string): string {
  const nonce = randomBytes(12)
  return b64(Buffer.concat([nonce, aeadSeal(key, nonce, plaintext, utf8(ad))]))
}

function unseal(key: Uint8Array, sealed: string, ad: string): Uint8Array | undefined {
  const bytes = fromB64(sealed)
  if (!bytes || bytes.length < 28) return undefined
  return aeadOpen(key, bytes.subarray(0, 12), bytes.subarray(12), utf8(ad))
}

const valueAd = (teamId: string, v: Omit<ValueRecord, 'sealed'>): string => `${LABEL} value\n${teamId}\n${v.scope}\n${v.gen}\n${v.since}\n${v.version}\n${encodePath(v.path)}`
const tombstoneMessage = (teamId: string, t: Omit<TombstoneRecord, 'tag'>): string => `${LABEL} tombstone\n${teamId}\n${t.scope}\n${t.gen}\n${t.version}\n${encodePath(t.path)}`

/** Encrypts a value under the scope key of its generation `v.gen`. */
export function sealValue(key: Uint8Array, teamId: string, v: Omit<ValueRecord, 'sealed'>, value: Uint8Array): ValueRecord {
  return { ...v, path: [...v.path], sealed: seal(sub(key, 'value'), value, valueAd(teamId, v)) }
}

/** Decrypts a value. @throws {SSCryptoError} TEAM_TAMPERED naming the key path, never a value */
export function openValue(key: Uint8Array, teamId: string, v: ValueRecord): Uint8Array {
  const value = unseal(sub(key, 'value'), v.sealed, valueAd(teamId, v))
  if (!value) throw new SSCryptoError(`the value at ${encodePath(v.path)} does not verify: it was changed, moved or planted`, 'TEAM_TAMPERED')
  return value
}

/** A tombstone for `t.path`, tagged under the scope key of its generation `t.gen`. */
export function tagTombstone(key: Uint8Array, teamId: string, t: Omit<TombstoneRecord, 'tag'>): TombstoneRecord {
  return { path: [...t.path], scope: t.scope, gen: t.gen, version: t.version, tag: b64(hmac(sub(key, 'tombstone'), tombstoneMessage(teamId, t))) }
}

/** Checks a tombstone's tag. @throws {SSCryptoError} TEAM_TAMPERED naming the key path */
export function checkTombstone(key: Uint8Array, teamId: string, t: TombstoneRecord): void {
  const tag = fromB64(t.tag)
  if (!tag || !sameBytes(tag, hmac(sub(key, 'tombstone'), tombstoneMessage(teamId, t))))
    throw new SSCryptoError(`the removal of ${encodePath(t.path)} does not verify: it was changed, moved or planted`, 'TEAM_TAMPERED')
}
