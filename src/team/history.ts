/**
 * The team file's git history as a witness of admin removals (docs/TEAM.md, "A clone that has
 * not seen a removal"). A removed admin keeps the signing key they held, and a clone that never
 * saw the removal (CI that last ran before it, a laptop back from holidays, a fresh clone) cannot
 * tell what they sign with it from an admin's change. But the removal is a commit: its file holds
 * the next generation of the signing key, endorsed by the one the removed admin still has. So
 * before a clone takes a membership it has not seen, it reads the signing key lines its
 * repository's history ever added to the file; a key there that is endorsed by one of this
 * file's keys and is not this file's key of that generation means this file is signed by a
 * replaced key (the admin's forgery, or a removal undone), or it forks the chain (one side is the
 * removed admin's). Either is refused. Only an endorsement that verifies counts, so lines
 * planted in history without the key change nothing.
 *
 * One `git log` per membership this clone has not seen; nothing when the file is in no
 * repository (or git is missing). History that a force-push rewrote is no witness: SECURITY.md.
 */
import { basename, dirname } from 'node:path'
import { SSCryptoError } from '../errors.js'
import type { SignKeyRecord, TeamFile } from './format.js'
import { endorsementMessage, signingKeyFingerprint, verifyBytes } from './signing.js'

/** A signing key line as git's patches show it being added: `+signkey <gen> <public key> <endorsement>`. */
const ADDED_SIGNKEY = /^\+signkey ([1-9]\d{0,8}) (\S{1,200}) (\S{1,200})$/gm
/** More of history than this is refused rather than half read: a witness that stops early is none. */
const MAX_OUTPUT = 256 * 1024 * 1024

/** One signing key that some version of the file in history held. */
interface HistoricKey {
  gen: number
  publicKey: string
  endorsement: string
}

/**
 * The signing key lines added to the file at `path` in the history of `revision` (HEAD) of the
 * repository it is in: every version of the file on every path to HEAD (--full-history, merges against
 * each parent). Only commits that change how many signing key lines the file has are shown
 * (-S, which counts and does not diff: half the time of -G): every removal of an admin adds one.
 * Patches are plain text: no textconv or external diff (the team's own driver) runs. Undefined when the file is in no repository, HEAD has no commit, or git is missing.
 * @throws {SSCryptoError} TEAM_TAMPERED when git fails or its output is over {@link MAX_OUTPUT}
 */
function keysInHistory(path: string, revision: string, what: string): HistoricKey[] | undefined {
  const { spawnSync } = process.getBuiltinModule('node:child_process')
  const git = spawnSync('git', [
    '--no-pager', '--literal-pathspecs', 'log', '--full-history', '-m', '-p', '--text', '--no-ext-diff', '--no-textconv', '--no-color', '--no-renames',
    '--unified=0', '--format=', '-Ssignkey ', revision, '--', basename(path),
  ], {
    cwd: dirname(path),
    // The user's git, as their own `git log` would run, with no prompt and no pager.
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', GIT_PAGER: 'cat' },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: MAX_OUTPUT,
    encoding: 'latin1',
  })
  if (git.error && (git.error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
  if (git.error) throw new SSCryptoError(`${what}: cannot read the file's git history, to check it for removed admins' keys: ${git.error.message.includes('maxBuffer') ? 'its changes are over 256 MiB' : 'git failed'}`, 'TEAM_TAMPERED')
  // 128: not a repository (or one owned by another user), no HEAD yet, the file outside it.
  if (git.status !== 0) return undefined
  return [...git.stdout.matchAll(ADDED_SIGNKEY)].map((m) => ({ gen: Number(m[1]), publicKey: m[2] as string, endorsement: m[3] as string }))
}

/** True when `key` was endorsed by this file's signing key of the generation before it. */
const endorsedBy = (file: TeamFile, key: HistoricKey): boolean => {
  const previous = file.signKeys.get(key.gen - 1)
  return previous !== undefined && verifyBytes(previous.publicKey, endorsementMessage(file.teamId, key.gen, key.publicKey), key.endorsement)
}

/**
 * Refuses a verified file whose signing key chain its git history shows replaced or forked
 * above generation `pinnedGen` (what this clone pinned; forks at or below it are settled by the pin).
 * @param path - the file's real path
 * @param revision - the commit whose history this file is (HEAD; in the merge driver, their side's)
 * @throws {SSCryptoError} TEAM_ROLLBACK (a replaced key), TEAM_REPLACED (a fork)
 */
export function checkHistory(file: TeamFile, path: string, pinnedGen: number, what: string, revision = 'HEAD'): void {
  const newest = file.signKeys.size
  const seen = new Set<string>()
  for (const key of keysInHistory(path, revision, what) ?? []) {
    const id = `${key.gen} ${key.publicKey} ${key.endorsement}`
    if (key.gen <= pinnedGen || key.gen > newest + 1 || seen.has(id) || file.signKeys.get(key.gen)?.publicKey === key.publicKey) continue
    seen.add(id)
    if (!endorsedBy(file, key)) continue
    if (key.gen === newest + 1) throw replacedKey(file, what)
    throw forked(file, key, what)
  }
}

function replacedKey(file: TeamFile, what: string): SSCryptoError {
  return new SSCryptoError(`${what}: this file is signed by the team's signing key of generation ${file.signKeys.size}, which the file's git history shows replaced when an admin was removed: it is that admin's forgery, or a removal undone`, 'TEAM_ROLLBACK', {
    hint: 'nothing signed by a replaced key is read: `git log -p` the file to see who committed it; on an old branch, `git merge` the branch that removed the admin',
  })
}

function forked(file: TeamFile, key: HistoricKey, what: string): SSCryptoError {
  const mine = signingKeyFingerprint(file, key.gen) as string
  const theirs = signingKeyFingerprint({ teamId: file.teamId, signKeys: new Map<number, SignKeyRecord>([[key.gen, { ...key }]]) }, key.gen) as string
  return new SSCryptoError(`${what}: the team's signing key of generation ${key.gen} here (${mine}) is not the one the file's git history holds (${theirs}), though both are endorsed by the same key: one of them is a removed admin's`, 'TEAM_REPLACED', {
    hint: 'ask an admin which signing key `sstash team ls` shows them, out of band; if it is this one, `sstash team trust --fingerprint <the team fingerprint>`',
  })
}

/**
 * The commit git's merge machinery is merging in, as it names it to a merge driver
 * (`GITHEAD_<commit>` in the environment, for the conflict labels), else undefined.
 */
export const mergedCommit = (env: NodeJS.ProcessEnv = process.env): string | undefined =>
  Object.keys(env).find((name) => /^GITHEAD_(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(name))?.slice('GITHEAD_'.length)
