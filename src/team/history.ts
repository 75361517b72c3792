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
 * repository or git is missing. A shallow clone's history, or one that a force-push rewrote,
 * may not hold the removal: SECURITY.md.
 */
import { existsSync, lstatSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { SSCryptoError, SSError } from '../errors.js'
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
 * The signing key lines added to the file at each of `paths` (its real path, and the path as
 * given: a link to a new file has a history of its own) in the history of `revision` (HEAD) of
 * the repository it is in: every version of the file on every path to it (--full-history, merges
 * against each parent). Only commits that change how many signing key lines the file has are
 * shown (-S, which counts and does not diff: half the time of -G): every removal of an admin
 * adds one. git runs as the user's, but with nothing that points it at other history: no replace
 * refs, no rename following (log.follow), none of the GIT_* variables a hook or a script sets to
 * name another repository; and patches are plain text (no textconv, no external diff: the
 * team's own driver never runs).
 * @returns undefined when there is no history to ask: git missing, no repository above the
 *   file, or no commit yet (a shallow clone is read as deep as it is: docs/TEAM.md)
 * @throws {SSError} IO_ERROR when git cannot read a repository there is (a partial clone that
 *   cannot fetch, another user's repository, output over {@link MAX_OUTPUT}): a witness that
 *   cannot be asked is not taken as none
 */
function keysInHistory(paths: readonly string[], revision: string, what: string): HistoricKey[] | undefined {
  const keys: HistoricKey[] = []
  let asked = false
  for (const path of new Set(paths)) {
    const { cwd, rel } = anchored(path)
    const top = git(['rev-parse', '--show-toplevel'], cwd)
    if ((top.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined
    // No repository here (a `.git` that is none, a mount point, the git folder itself): nothing to ask. A repository git will not read is refused.
    if (top.status !== 0) {
      if (inWorkTree(cwd) && !NO_REPOSITORY.test(top.stderr)) throw cannotRead(what, top.stderr)
      continue
    }
    // A shallow clone is read as far as it goes: a removal within its depth is still seen.
    if (git(['rev-parse', '-q', '--verify', `${revision}^{commit}`], cwd).status !== 0) continue
    const log = git(['log', '--full-history', '-m', '-p', '--text', '--no-ext-diff', '--no-textconv', '--no-color', '--no-renames', '--no-follow',
      '--unified=0', '--format=', '-Ssignkey ', revision, '--', rel], cwd)
    if ((log.error as NodeJS.ErrnoException | undefined)?.code === 'ENOBUFS') throw cannotRead(what, 'its changes to the file are over 256 MiB')
    if (log.error || log.status !== 0) throw cannotRead(what, log.stderr)
    asked = true
    for (const m of log.stdout.matchAll(ADDED_SIGNKEY)) keys.push({ gen: Number(m[1]), publicKey: m[2] as string, endorsement: m[3] as string })
  }
  return asked ? keys : undefined
}

/** What git says (in the C locale) where there is no repository to read, which nobody's push can make: not a refusal. */
const NO_REPOSITORY = /not a git repository|must be run in a work tree/

/**
 * The variables by which a parent process (a hook, a script, a dotfiles manager) points git
 * at other history: those of `git rev-parse --local-env-vars`, and the ceiling. The user's
 * configuration given in the environment (GIT_CONFIG_PARAMETERS, GIT_CONFIG_COUNT: a
 * safe.directory, say) stays, as it does for their own `git log`.
 */
const ELSEWHERE = ['GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_CONFIG', 'GIT_OBJECT_DIRECTORY', 'GIT_DIR', 'GIT_WORK_TREE',
  'GIT_IMPLICIT_WORK_TREE', 'GIT_GRAFT_FILE', 'GIT_INDEX_FILE', 'GIT_NO_REPLACE_OBJECTS', 'GIT_REPLACE_REF_BASE', 'GIT_PREFIX', 'GIT_INTERNAL_SUPER_PREFIX',
  'GIT_SHALLOW_FILE', 'GIT_COMMON_DIR', 'GIT_CEILING_DIRECTORIES']

function git(args: string[], cwd: string) {
  const { spawnSync } = process.getBuiltinModule('node:child_process')
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', GIT_PAGER: 'cat', GIT_DISCOVERY_ACROSS_FILESYSTEM: '1', LC_ALL: 'C', LANGUAGE: '' }
  for (const name of ELSEWHERE) delete env[name]
  return spawnSync('git', ['--no-pager', '--no-replace-objects', '--literal-pathspecs', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: MAX_OUTPUT, encoding: 'latin1' })
}

/** git's first line of complaint, as the reason the history could not be read. */
const cannotRead = (what: string, why: string): SSError =>
  new SSError(`${what}: cannot read the file's git history, to check it for a removed admin's signing key: ${why.split('\n')[0]?.replace(/^fatal: /, '') || 'git failed'}`, 'IO_ERROR', {
    hint: '`git log` the file to see what git says; or pin the signing key an admin gives you: `sstash team verify --signing-key <it>`',
  })

/** True when a `.git` is at or above `dir`. */
function inWorkTree(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return true
    if (dirname(d) === d) return false
  }
}

/** Where to run git for `path`, and the path to give it: from the nearest directory above it that is not a symbolic link, so that git sees the path as named. */
function anchored(path: string): { cwd: string; rel: string } {
  const isLink = (p: string): boolean => lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink() === true
  let [cwd, rel] = [dirname(path), basename(path)]
  while (dirname(cwd) !== cwd && isLink(cwd)) [cwd, rel] = [dirname(cwd), `${basename(cwd)}/${rel}`]
  return { cwd, rel }
}

/** True when `key` was endorsed by this file's signing key of the generation before it. */
const endorsedBy = (file: TeamFile, key: HistoricKey): boolean => {
  const previous = file.signKeys.get(key.gen - 1)
  return previous !== undefined && verifyBytes(previous.publicKey, endorsementMessage(file.teamId, key.gen, key.publicKey), key.endorsement)
}

/**
 * Refuses a verified file whose signing key chain its git history shows replaced or forked
 * above generation `pinnedGen` (what this clone pinned; forks at or below it are settled by the pin).
 * @param paths - the file's real path, and the path as given
 * @param revision - the commit whose history this file is (HEAD; in the merge driver, their side's)
 * @throws {SSCryptoError} TEAM_ROLLBACK (a replaced key), TEAM_REPLACED (a fork); {@link SSError} IO_ERROR (git could not read the history there is)
 */
export function checkHistory(file: TeamFile, paths: readonly string[], pinnedGen: number, what: string, revision = 'HEAD'): void {
  const newest = file.signKeys.size
  const seen = new Set<string>()
  for (const key of keysInHistory(paths, revision, what) ?? []) {
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
    hint: 'ask an admin which signing key `sstash team ls` shows them, out of band, and pin it: `sstash team verify --signing-key <it>`',
  })
}

/**
 * The commit git's merge machinery is merging in, as it names it to a merge driver
 * (`GITHEAD_<commit>` in the environment, for the conflict labels), else undefined.
 */
export const mergedCommit = (env: NodeJS.ProcessEnv = process.env): string | undefined =>
  Object.keys(env).find((name) => /^GITHEAD_(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(name))?.slice('GITHEAD_'.length)
