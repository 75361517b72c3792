/**
 * Opening a parsed team stash with an identity: which member it is, the scope keys wrapped
 * to it (each checked against its scope's fingerprint and membership MAC), the older
 * generations reached through the chain, and the rollback check against what this clone has
 * seen (docs/TEAM.md: Integrity, Membership authentication, Rollback detection).
 */
import { SSCryptoError, SSError } from '../errors.js'
import { ageDecrypt, type Identity } from './age-file.js'
import type { ScopeRecord, TeamFile } from './format.js'
import { fromB64, sameBytes } from './primitives.js'
import { fingerprintOf, openChain, scopeMac } from './scope-keys.js'
import type { SeenStore } from './seen.js'

const tampered = (message: string): SSCryptoError => new SSCryptoError(message, 'TEAM_TAMPERED')
const sameText = (a: string, b: string): boolean => sameBytes(Buffer.from(a), Buffer.from(b))

/** The [name, recipient] of every member holding a wrap of `scope`. */
export function membersOf(file: TeamFile, scope: string): [string, string][] {
  return [...file.wraps.values()].filter((wrap) => wrap.scope === scope).map((wrap) => [wrap.member, file.members.get(wrap.member) as string])
}

/** The scope keys one member holds, by scope and generation. */
export class Keyring {
  /** scope -> generation -> key; the current generation always, older ones once reached. */
  readonly #keys = new Map<string, Map<number, Uint8Array>>()

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
  setCurrent(scope: string, gen: number, key: Uint8Array): void {
    const gens = this.#keys.get(scope) ?? new Map<number, Uint8Array>()
    gens.set(gen, key)
    this.#keys.set(scope, gens)
  }

  /**
   * The key of `scope` at generation `gen`, following the chain down from the newest known.
   * @throws {SSError} NO_ACCESS when the member does not hold the scope; {@link SSCryptoError} TEAM_TAMPERED
   */
  keyAt(scope: string, gen: number): Uint8Array {
    const gens = this.#keys.get(scope)
    if (!gens) throw new SSError(`you do not hold scope ${scope}`, 'NO_ACCESS')
    let top = Math.max(...gens.keys())
    if (gen > top) throw tampered(`scope ${scope} has no generation ${gen}`)
    while (top > gen) {
      const sealed = this.file.chains.get(`${scope} ${top}`)
      if (sealed === undefined) throw tampered(`scope ${scope} lacks its chain record for generation ${top}`)
      const previous = gens.get(top - 1) ?? openChain(gens.get(top) as Uint8Array, sealed, this.file.teamId, scope, top)
      gens.set(top - 1, previous)
      top--
    }
    return gens.get(gen) as Uint8Array
  }
}

/**
 * The key of `scope` wrapped to `member`, checked against the scope's fingerprint and membership MAC.
 * @returns undefined when the member holds no wrap of the scope
 * @throws {SSCryptoError} TEAM_TAMPERED
 */
export function unwrapScope(file: TeamFile, scope: ScopeRecord, member: string, identity: Identity, what: string): Uint8Array | undefined {
  const wrap = file.wraps.get(`${scope.name} ${member}`)
  if (!wrap) return undefined
  const key = ageDecrypt(fromB64(wrap.file) as Uint8Array, identity)
  if (key?.length !== 32 || !sameText(fingerprintOf(key), scope.fingerprint))
    throw tampered(`${what}: the key of scope ${scope.name} wrapped to ${member} is not the scope's key (a swapped or planted wrap)`)
  if (!sameText(scopeMac(key, file.teamId, scope, membersOf(file, scope.name)), scope.mac))
    throw tampered(`${what}: the membership of scope ${scope.name} does not verify: it was changed by someone without the scope's key (a planted recipient?)`)
  return key
}

/**
 * Checks each held scope against what this clone has seen, then remembers the newest.
 * @throws {SSError} TEAM_ROLLBACK
 */
function checkSeen(ring: Keyring, seen: SeenStore, what: string): void {
  const { file } = ring
  for (const name of ring.scopes) {
    const scope = file.scopes.get(name) as ScopeRecord
    const last = seen.get(file.teamId, name)
    const hint = 'fetch the newest version of the file (git pull); if it is the newest, someone rolled it back: restore it from the commit that had the newer generation'
    if (last && last.gen > scope.gen)
      throw new SSError(`${what}: scope ${name} is at key generation ${scope.gen}, older than generation ${last.gen} this clone has seen: the file was rolled back`, 'TEAM_ROLLBACK', { hint })
    if (last && !sameText(fingerprintOf(ring.keyAt(name, last.gen)), last.fingerprint))
      throw new SSError(`${what}: scope ${name} does not descend from the generation ${last.gen} this clone has seen: its history was replaced`, 'TEAM_ROLLBACK', { hint })
    seen.set(file.teamId, name, { gen: scope.gen, fingerprint: scope.fingerprint })
  }
}

/**
 * Opens a parsed team stash with the first identity that is a member.
 * @param seen - this clone's memory; checked, and updated in memory (the caller saves it)
 * @throws {SSError} NOT_A_MEMBER, TEAM_ROLLBACK; {@link SSCryptoError} TEAM_TAMPERED
 */
export function openKeyring(file: TeamFile, identities: readonly Identity[], seen: SeenStore, what: string): Keyring {
  let ring: Keyring | undefined
  for (const [member, recipient] of file.members) {
    const identity = identities.find((candidate) => candidate.recipient === recipient)
    if (identity) {
      ring = new Keyring(file, member, identity)
      break
    }
  }
  if (!ring) {
    const mine = identities[0]?.recipient ?? ''
    throw new SSError(`${what}: your identity (${mine.startsWith('ssh-') ? mine.slice(0, 40) + '...' : mine}) is not a member of this team stash`, 'NOT_A_MEMBER', {
      // Never "make a new identity": the member list may already hold a key of this person's.
      hint: 'open it with the key you were added with (`sstash team ls` lists the members\' keys): `SSTASH_IDENTITY_FILE=~/.ssh/id_ed25519 sstash ...`, or `sstash identity --import FILE` to keep that key in your personal stash; a member who is not yet one is added with `sstash team add <name> --key <public key>`',
    })
  }
  for (const scope of file.scopes.values()) {
    const key = unwrapScope(file, scope, ring.member, ring.identity, what)
    if (key) ring.setCurrent(scope.name, scope.gen, key)
  }
  checkSeen(ring, seen, what)
  return ring
}
