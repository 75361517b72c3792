/**
 * A team stash in a real git repository, as the history witness's tests need it (src/team/history.ts):
 * made, read once by CI, then an admin (bob) removed by alice, each step committed; and bob's
 * forgery signed with the key he kept.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { serializeTeamFile } from '../../src/team/format.js'
import { openKeyring } from '../../src/team/keyring.js'
import { addMember, createTeam, removeMember } from '../../src/team/membership.js'
import { parseTeamFile } from '../../src/team/parse.js'
import { signMembership } from '../../src/team/signing.js'
import { TeamStash } from '../../src/team/team-stash.js'
import { runBin, runCommand, tempDir, type RunResult } from '../helpers.js'
import { clone, ids, newKey, prodForEve, utf8 } from '../unit/team/fixture.js'

export const dir = tempDir()
let count = 0
/** A new name under {@link dir}. */
export const fresh = (name: string): string => join(dir, `${name}-${count++}`)
export const ONE_ERROR = /^sstash: error: [^\n]+\n(sstash: hint: [^\n]+\n)?$/
export const EVE = { GIT_AUTHOR_NAME: 'eve', GIT_AUTHOR_EMAIL: 'eve@example.com', GIT_COMMITTER_NAME: 'eve', GIT_COMMITTER_EMAIL: 'eve@example.com' }
export const GIT_ENV = { ...EVE, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' }

export async function ok(p: Promise<RunResult>): Promise<RunResult> {
  const r = await p
  expect(r.code, r.stderr).toBe(0)
  return r
}

/** git in `cwd`, as the attacker or the victim runs it (no user or system config). */
export const gitIn = (cwd: string, env: Record<string, string | undefined> = {}) => (...args: string[]) => ok(runCommand('git', args, { cwd, env: { ...GIT_ENV, ...env } }))

/**
 * A team in a git repository (with `team git-setup`'s drivers), at `sub`/secrets.sstash: alice
 * (admin; dev, prod), bob (admin; dev), ci (prod), one value in each scope, committed. CI reads it
 * once; then alice removes bob, committed. Returns bob's copy of the first signing key's seed.
 */
export async function removalInGit(sub = '') {
  const repo = fresh('repo')
  const git = gitIn(repo)
  await ok(runCommand('git', ['init', '-q', '-b', 'main', repo]))
  mkdirSync(join(repo, sub), { recursive: true })
  const path = join(repo, sub, 'secrets.sstash')
  const [alice, bob, ci] = [newKey(), newKey(), newKey()]
  const env = { alice: clone(), ci: clone() }
  await createTeam(path, 'alice', alice.recipient, [{ name: 'dev', prefix: ['dev'] }, { name: 'prod', prefix: ['prod'] }], env.alice)
  const asAlice = await TeamStash.open(path, ids(alice), env.alice)
  await addMember(asAlice, 'bob', bob.recipient, ['dev'], { admin: true })
  await addMember(asAlice, 'ci', ci.recipient, ['prod'])
  await asAlice.update((tree) => {
    tree.write(['dev', 'api', 'token'], utf8('dev-token'))
    tree.write(['prod', 'db', 'password'], utf8('prod-password'))
  })
  await ok(runBin('sstash', ['--stash', path, 'team', 'git-setup'], { cwd: repo, env: { ...env.alice, HOME: dir } }))
  await git('add', '.')
  await git('commit', '-qm', 'team')
  const asCi = { HOME: dir, SSTASH_IDENTITY: ci.secret }
  /** sstash as CI, on the file at `at` (this repository's by default), with a clone memory. */
  const sstash = (args: string[], state: Record<string, string> = env.ci, at = path, extra: Record<string, string | undefined> = {}) =>
    runBin('sstash', ['--stash', at, ...args], { cwd: repo, env: { ...state, ...asCi, ...extra } })
  expect((await ok(sstash(['get', 'prod/db/password']))).stdout).toBe('prod-password')
  const before = readFileSync(path)
  const bobsSeed = openKeyring(parseTeamFile(before, 'before'), ids(bob), 'before').signingSeed()
  await removeMember(await TeamStash.open(path, ids(alice), env.alice), 'bob')
  await git('commit', '-qam', 'remove bob')
  return { repo, sub, path, git, sstash, env, alice, ci, asCi, before, bobsSeed }
}

export type Removal = Awaited<ReturnType<typeof removalInGit>>

/** Bob's membership from the file before his removal, signed with the key he kept (prodForEve: a value eve chose). */
export async function forgery(t: Removal): Promise<Buffer> {
  const file = await prodForEve(t.before)
  signMembership(file, t.bobsSeed)
  return Buffer.from(serializeTeamFile(file))
}
