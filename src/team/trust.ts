/**
 * Trust on first use, as ssh's known_hosts (docs/TEAM.md, Pinning): a verified team file is
 * checked against what this clone has seen: the team at this path, the team's fingerprint, its
 * signing key chain, its membership epoch, its scopes and its removals. A file of another team
 * at a known path, or whose keys do not descend from those seen, is refused (TEAM_REPLACED);
 * an older membership is refused unless asked for knowingly (TEAM_ROLLBACK, `--allow-old`).
 */
import { SSCryptoError, type SSError } from '../errors.js'
import type { TeamFile } from './format.js'
import { checkHistory } from './history.js'
import { currentSignKey, membershipDigest, teamFingerprint } from './signing.js'
import type { SeenStore } from './seen.js'

/** What the check found. */
export interface Trust {
  fingerprint: string
  /** Why the file is older than what this clone has seen, when it is (and was allowed). */
  old?: string
}

const describeScopes = (scopes: string): string =>
  scopes === '-' ? '' : ` from ${scopes.split(',').map((pair) => pair.replace(/:(\d+)$/, ' (generation $1)')).join(', ')}`

/** The message of an older file: the removal it predates, when this clone saw one. */
function olderMessage(file: TeamFile, seen: SeenStore, epoch: number, what: string): string {
  const removal = seen.removalsOf(file.teamId).filter(([e, member]) => e > file.epoch && !file.removals.has(`${e} ${member}`)).sort(([a], [b]) => a - b)[0]
  const change = removal ? `the removal of ${removal[1]}${describeScopes(removal[2])}` : `a membership change (epoch ${epoch}) this clone has seen`
  return `${what}: this file predates ${change}; merge the branch that made it`
}

/** The error for a file that is not the team this clone knows at this path. */
function replaced(what: string, why: string): SSCryptoError {
  return new SSCryptoError(`${what}: ${why}`, 'TEAM_REPLACED', {
    hint: 'if the file was replaced on purpose, compare its fingerprint with your team out of band, then `sstash team trust --fingerprint <it>`',
  })
}

/** Checks everything but the epoch; returns why the file is older, if it is. */
function compare(file: TeamFile, paths: readonly string[], seen: SeenStore, what: string, fingerprint: string): string | undefined {
  const known = paths.map((path) => seen.teamAt(path)).find((team) => team !== undefined && team !== file.teamId)
  if (known !== undefined && known !== file.teamId) throw replaced(what, `this file now holds another team (fingerprint ${fingerprint}) than the one this clone opened here: the whole file was replaced`)
  const pin = seen.team(file.teamId)
  if (!pin) return undefined
  if (pin.fingerprint !== fingerprint) throw replaced(what, `the team's signing key is not the one this clone pinned (fingerprint ${pin.fingerprint}, now ${fingerprint}): the file was forged`)
  // A key replaced since was held by an admin who has been removed: what it signs now cannot be
  // told apart from that admin's forgery, so no --allow-old reads it and no merge takes it.
  if (file.signKeys.size < pin.signGen)
    throw new SSCryptoError(`${what}: this file is signed by the team's signing key of generation ${file.signKeys.size}, replaced since when an admin was removed: it may be that admin's forgery, or a branch cut before the removal; merge the branch that made the removal`, 'TEAM_ROLLBACK', {
      hint: 'nothing signed by a replaced key is read, even with --allow-old: on an old branch, `git merge` the branch that removed the admin first',
    })
  if (file.signKeys.get(pin.signGen)?.publicKey !== pin.signKey) throw replaced(what, `the team's signing key of generation ${pin.signGen} is not the one this clone has seen: its history was replaced`)
  for (const [name, last] of seen.scopesOf(file.teamId)) {
    const scope = file.scopes.get(name)
    if (!scope) throw replaced(what, `scope ${name}, which this clone has seen, is gone`)
    if (scope.gen < last.gen) return olderMessage(file, seen, pin.epoch, what)
    if (scope.gen === last.gen && scope.fingerprint !== last.fingerprint) throw replaced(what, `scope ${name} has another key at generation ${scope.gen} than the one this clone has seen`)
  }
  if (file.epoch < pin.epoch) return olderMessage(file, seen, pin.epoch, what)
  if (file.epoch === pin.epoch && membershipDigest(file) !== pin.digest)
    return `${what}: this file's membership (epoch ${file.epoch}) is not the one this clone has seen at that epoch: another branch changed it; merge the two branches`
  for (const [epoch, member] of seen.removalsOf(file.teamId))
    if (epoch <= file.epoch && !file.removals.has(`${epoch} ${member}`)) throw replaced(what, `the removal of ${member}, which this clone has seen, is gone`)
  return undefined
}

/**
 * Checks a verified file against this clone's memory and, unless it is older, remembers it
 * (in `seen`, which the caller saves). A membership this clone has not seen, or an older one
 * read knowingly, is also checked against the file's git history (./history.ts).
 * @param paths - the file's real path first (./team-stash.ts, realPathOf)
 * @param options.allowOld - read an older membership knowingly (nothing is remembered then)
 * @param options.history - the commit whose history is asked (HEAD; the merge driver names their side's)
 * @param options.signingKeyGen - the generation of a signing key the user pinned out of band
 *   (`team verify --signing-key`) and this file holds: a fork in history at or below it is
 *   settled by the pin (a key replaced since is still seen: the pin may be older than a removal)
 * @throws {SSCryptoError} TEAM_REPLACED, TEAM_ROLLBACK; {@link SSError} IO_ERROR (git could not read the history)
 */
export function checkTrust(file: TeamFile, paths: readonly string[], seen: SeenStore, what: string, options: { allowOld?: boolean; history?: string; signingKeyGen?: number } = {}): Trust {
  const fingerprint = teamFingerprint(file)
  const old = compare(file, paths, seen, what, fingerprint)
  if (old !== undefined && !options.allowOld)
    throw new SSCryptoError(old, 'TEAM_ROLLBACK', { hint: 'to read it knowingly, add --allow-old (SSTASH_ALLOW_OLD=1); writing to it is refused' })
  const pin = seen.team(file.teamId)
  const unseen = old !== undefined || !pin || file.epoch > pin.epoch
  if (unseen) checkHistory(file, paths, Math.max(pin?.signGen ?? 0, options.signingKeyGen ?? 0), what, options.history)
  if (old !== undefined) return { fingerprint, old }
  remember(file, paths, seen, fingerprint)
  return { fingerprint }
}

/** Remembers a file as the newest this clone has seen of its team. */
export function remember(file: TeamFile, paths: readonly string[], seen: SeenStore, fingerprint = teamFingerprint(file)): void {
  const key = currentSignKey(file)
  seen.setTeam(file.teamId, { fingerprint, epoch: file.epoch, digest: membershipDigest(file), signGen: key.gen, signKey: key.publicKey })
  for (const scope of file.scopes.values()) seen.set(file.teamId, scope.name, { gen: scope.gen, fingerprint: scope.fingerprint })
  for (const r of file.removals.values()) seen.addRemoval(file.teamId, r.epoch, r.member, r.scopes.length === 0 ? '-' : r.scopes.map(([s, g]) => `${s}:${g}`).join(','))
  for (const path of paths) seen.setPath(path, file.teamId)
}
