/**
 * Opening a verified team stash with an identity: which member it is, the scope keys wrapped to
 * it (each checked against its scope's fingerprint), and, for an admin, the team's signing key
 * (checked against the newest public key). Only the current generation of a scope opens
 * anything: a value of an older generation must be set again (docs/TEAM.md, Removal).
 */
import { SSCryptoError, SSError } from '../errors.js'
import { ageDecrypt, type Identity } from './age-file.js'
import type { ScopeRecord, TeamFile } from './format.js'
import { fromB64, sameBytes } from '../crypto/primitives.js'
import { fingerprintOf } from './scope-keys.js'
import { currentSignKey, publicKeyOf } from './signing.js'

const tampered = (message: string): SSCryptoError => new SSCryptoError(message, 'TEAM_TAMPERED')
const sameText = (a: string, b: string): boolean => sameBytes(Buffer.from(a), Buffer.from(b))

/** The [name, recipient] of every member holding a wrap of `scope`. */
export function membersOf(file: TeamFile, scope: string): [string, string][] {
  const out: [string, string][] = []
  for (const wrap of file.wraps.values()) if (wrap.scope === scope) out.push([wrap.member, file.members.get(wrap.member) as string])
  return out
}

/** The scopes each member holds, for every member at once (one pass over the wraps). */
export function scopesByMember(file: TeamFile): Map<string, string[]> {
  const out = new Map<string, string[]>([...file.members.keys()].map((name) => [name, []]))
  for (const wrap of file.wraps.values()) out.get(wrap.member)?.push(wrap.scope)
  return out
}

/** The scope keys one member holds at their current generation, and the signing key when they are an admin. */
export class Keyring {
  readonly #keys = new Map<string, Uint8Array>()
  #seed: Uint8Array | undefined

  constructor(
    readonly file: TeamFile,
    /** The member the identity is. */
    readonly member: string,
    readonly identity: Identity,
  ) {}

  /** True when this member holds `scope`. */
  holds(scope: string): boolean {
    return this.#keys.has(scope)
  }

  /** The scopes this member holds. */
  get scopes(): string[] {
    return [...this.#keys.keys()]
  }

  /** Sets the current key of a scope (after checking it, or after making it). */
  setCurrent(scope: string, key: Uint8Array): void {
    this.#keys.set(scope, key)
  }

  /**
   * The current key of `scope`.
   * @throws {SSError} NO_ACCESS when the member does not hold the scope
   */
  key(scope: string): Uint8Array {
    const key = this.#keys.get(scope)
    if (!key) throw new SSError(`you do not hold scope ${scope}`, 'NO_ACCESS')
    return key
  }

  /**
   * The team's signing key (its seed), unwrapped and checked against the newest public key.
   * @throws {SSError} NOT_ADMIN; {@link SSCryptoError} TEAM_TAMPERED
   */
  signingSeed(): Uint8Array {
    if (this.#seed) return this.#seed
    const wrap = this.file.signWraps.get(this.member)
    if (!this.file.admins.has(this.member) || !wrap)
      throw new SSError(`you (${this.member}) are not an admin of this team stash: only admins change its members and scopes`, 'NOT_ADMIN', {
        hint: `an admin runs it (\`sstash team ls\` lists them), or makes you one with \`sstash team add ${this.member} --admin\``,
      })
    const seed = ageDecrypt(fromB64(wrap.file) as Uint8Array, this.identity)
    if (seed?.length !== 32 || publicKeyOf(seed) !== currentSignKey(this.file).publicKey) throw tampered(`the team's signing key wrapped to ${this.member} is not the team's signing key`)
    this.#seed = seed
    return seed
  }

  /** Sets the signing key after a rotation. */
  setSigningSeed(seed: Uint8Array): void {
    this.#seed = seed
  }
}

/**
 * The key of `scope` wrapped to `member`, checked against the scope's fingerprint.
 * @returns undefined when the member holds no wrap of the scope
 * @throws {SSCryptoError} TEAM_TAMPERED
 */
export function unwrapScope(file: TeamFile, scope: ScopeRecord, member: string, identity: Identity, what: string): Uint8Array | undefined {
  const wrap = file.wraps.get(`${scope.name} ${member}`)
  if (!wrap) return undefined
  const key = ageDecrypt(fromB64(wrap.file) as Uint8Array, identity)
  if (key?.length !== 32 || !sameText(fingerprintOf(key), scope.fingerprint))
    throw tampered(`${what}: the key of scope ${scope.name} wrapped to ${member} is not the scope's key (a swapped or planted wrap)`)
  return key
}

/**
 * Opens a verified team stash with the first identity that is a member.
 * @param scopes - unwrap only these scopes' keys (a read's), each checked as every key is; default all
 * @throws {SSError} NOT_A_MEMBER; {@link SSCryptoError} TEAM_TAMPERED
 */
export function openKeyring(file: TeamFile, identities: readonly Identity[], what: string, scopes?: ReadonlySet<string>): Keyring {
  const byRecipient = new Map(identities.map((identity) => [identity.recipient, identity]))
  let ring: Keyring | undefined
  for (const [member, recipient] of file.members) {
    const identity = byRecipient.get(recipient)
    if (identity) {
      ring = new Keyring(file, member, identity)
      break
    }
  }
  if (!ring) {
    const mine = identities[0]?.recipient ?? ''
    throw new SSError(`${what}: your identity (${mine.startsWith('ssh-') ? mine.slice(0, 40) + '...' : mine}) is not a member of this team stash`, 'NOT_A_MEMBER', {
      // Never "make a new identity": the member list may already hold a key of this person's.
      hint: 'open it with the key you were added with (`sstash team ls` lists the members\' keys): `SSTASH_IDENTITY_FILE=~/.ssh/id_ed25519 sstash ...`, or `sstash identity --import FILE` to keep that key in your personal stash; someone who is not yet a member is added by an admin with `sstash team add <name> --key <public key>`',
    })
  }
  for (const scope of file.scopes.values()) {
    if (scopes && !scopes.has(scope.name)) continue
    const key = unwrapScope(file, scope, ring.member, ring.identity, what)
    if (key) ring.setCurrent(scope.name, key)
  }
  return ring
}
