/**
 * `sstash identity` and `sstash team ...` as a user runs them, and the existing binaries
 * (sstash get/set/ls, sstash-run) on a team stash, with real age and ssh keys.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { generateIdentity, parseIdentities } from '../../src/team/keys.js'
import { ROOT, makeStash, runBin, tempDir } from '../helpers.js'

const dir = tempDir()
let n = 0

/** A member key made with our own generateIdentity (so these tests run where age is missing), kept in an identity file. */
function ageKey(): { file: string; recipient: string; secret: string } {
  const file = join(dir, `key-${n++}`)
  const secret = generateIdentity(new Uint8Array(randomBytes(32)))
  writeFileSync(file, `${secret}\n`, { mode: 0o600 })
  return { file, recipient: (parseIdentities(secret, file)[0] as { recipient: string }).recipient, secret }
}

/** A user with their own state, data and home directories. */
function user(extra: Record<string, string> = {}): Record<string, string> {
  const home = join(dir, `user-${n++}`)
  return { HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_DATA_HOME: join(home, 'data'), ...extra }
}

/** A team stash made by alice (dev, prod), with ci (prod) added and one value in each scope. */
async function team() {
  const path = join(dir, `team-${n++}.sstash`)
  const alice = ageKey()
  const ci = ageKey()
  const env = user({ SSTASH_IDENTITY_FILE: alice.file })
  const run = (args: string[], input?: string, e = env) => runBin('sstash', ['--stash', path, ...args], { env: e, input })
  expect((await run(['team', 'init', '--as', 'alice', '--scope', 'dev=dev/', '--scope', 'prod=prod/'])).code).toBe(0)
  expect((await run(['team', 'add', 'ci', '--key', ci.recipient, '--scope', 'prod'])).code).toBe(0)
  await run(['set', 'dev/api/token'], 'dev-token')
  await run(['set', 'prod/db/password'], 'prod-password')
  return { path, alice, ci, env, run }
}

describe('sstash team', () => {
  it('creates an identity in the personal stash on first use, and prints the same key afterwards', async () => {
    const env = user({ SSTASH_PASSWORD: 'personal' })
    mkdirSync(join(env.XDG_DATA_HOME as string, 'sstash'), { recursive: true })
    await makeStash(join(env.XDG_DATA_HOME as string, 'sstash', 'stash.sstash'), 'personal')
    const first = await runBin('sstash', ['identity'], { env })
    expect(first.stderr).toMatch(/^sstash: created a new identity in .*stash\.sstash\n$/)
    expect(first.stdout).toMatch(/^age1[a-z0-9]{58}\n$/)
    const again = await runBin('sstash', ['identity'], { env })
    expect([again.stdout, again.stderr]).toEqual([first.stdout, ''])
    // And the identity opens a team stash it made, through the personal stash's password.
    const path = join(dir, 'personal-team.sstash')
    expect((await runBin('sstash', ['--stash', path, 'team', 'init', '--as', 'me'], { env })).code).toBe(0)
    await runBin('sstash', ['--stash', path, 'set', 'anything'], { env, input: 'v' })
    expect((await runBin('sstash', ['--stash', path, 'get', 'anything'], { env })).stdout).toBe('v')
  })

  it('opens a team stash with the identity the agent holds, with no password given', async () => {
    const env = user({ SSTASH_PASSWORD: 'personal' })
    env.XDG_RUNTIME_DIR = join(env.HOME as string, 'run')
    mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 })
    const personal = join(env.XDG_DATA_HOME as string, 'sstash', 'stash.sstash')
    mkdirSync(join(env.XDG_DATA_HOME as string, 'sstash'), { recursive: true })
    await makeStash(personal, 'personal')
    const path = join(dir, 'agent-team.sstash')
    expect((await runBin('sstash', ['--stash', path, 'team', 'init', '--as', 'me'], { env })).code).toBe(0)
    await runBin('sstash', ['--stash', path, 'set', 'k'], { env, input: 'through the agent' })
    expect((await runBin('sstash', ['--stash', personal, 'unlock', '--timeout', '1m'], { env })).code).toBe(0)
    try {
      const got = await runBin('sstash', ['--stash', path, 'get', 'k'], { env: { ...env, SSTASH_PASSWORD: undefined } })
      expect([got.stdout, got.stderr]).toEqual(['through the agent', ''])
    } finally {
      await runBin('sstash', ['lock', '--all'], { env })
    }
  })

  it('prints the public key of SSTASH_IDENTITY without touching any stash', async () => {
    const key = ageKey()
    const result = await runBin('sstash', ['identity'], { env: user({ SSTASH_IDENTITY: key.secret }) })
    expect([result.stdout, result.stderr, result.code]).toEqual([`${key.recipient}\n`, '', 0])
  })

  it('lists members, fingerprints and scopes, and never a value', async () => {
    const t = await team()
    const ls = await t.run(['team', 'ls'])
    const fingerprint = (await t.run(['team', 'verify'])).stdout.trim()
    expect(fingerprint).toMatch(/^[0-9a-f]{4}(-[0-9a-f]{4}){4}$/)
    const signingKey = /signing-key (1:[0-9a-f]{4}(-[0-9a-f]{4}){4})\n/.exec(ls.stdout)?.[1] as string
    expect(ls.stdout).toBe(
      `team ${fingerprint} epoch 2 signing-key ${signingKey}\nmember alice ${t.alice.recipient} scopes dev,prod admin\nmember ci ${t.ci.recipient} scopes prod\nscope dev dev generation 1\nscope prod prod generation 1\n`,
    )
    expect((await t.run(['team', 'verify', '--fingerprint', fingerprint])).code).toBe(0)
    expect((await t.run(['team', 'verify', '--fingerprint', fingerprint, '--signing-key', signingKey])).code).toBe(0)
    expect((await t.run(['team', 'verify', '--signing-key', '1:0000-0000-0000-0000-0000'])).code).toBe(4)
    const wrong = await t.run(['team', 'verify', '--fingerprint', '0000-0000-0000-0000-0000'])
    expect([wrong.code, wrong.stdout]).toEqual([4, ''])
    expect(wrong.stderr).toMatch(/^sstash: error: .* holds team [0-9a-f-]+, not 0000-0000-0000-0000-0000\n/)
    expect((await t.run(['ls'])).stdout).toBe('dev/\nprod/\n')
  })

  it('lets sstash-run in CI read its scope with SSTASH_IDENTITY, hides the variable from the child, and refuses the other scope', async () => {
    const t = await team()
    const ci = user({ SSTASH_IDENTITY: t.ci.secret })
    const printEnv = join(ROOT, 'test/fixtures/run/print-env.mjs')
    const run = await runBin('run', ['--stash', t.path, '-k', 'prod', '--', process.execPath, printEnv], { env: ci })
    expect(run.code, run.stderr).toBe(0)
    const childEnv = JSON.parse(run.stdout) as Record<string, string>
    expect(childEnv.db_password).toBe('prod-password')
    expect(childEnv.SSTASH_IDENTITY).toBeUndefined()
    const denied = await runBin('run', ['--stash', t.path, '-k', 'dev', '--', process.execPath, printEnv], { env: ci })
    expect([denied.code, denied.stdout]).toEqual([1, ''])
    expect(denied.stderr).toBe('sstash: error: key dev/api/token is in scope dev, which ci does not hold\n')
  })

  it('says on removal that old values stay in git history, and lists them as exposed until set again', async () => {
    const t = await team()
    const rm = await t.run(['team', 'rm', 'ci'])
    expect(rm.stderr).toBe(
      'sstash: removed ci; new keys for scope prod, and their values encrypted again under them\n' +
        'sstash: warning: ci could read 1 value, and old values stay in git history: rotate each secret where it was issued, then set it again (`sstash team exposed` lists them)\n',
    )
    expect((await t.run(['team', 'exposed'])).stdout).toMatch(/^prod\/db\/password\tscope prod\texposed to ci \(removed \d{4}-\d\d-\d\dT[\d:]+Z\)\n$/)
    const doctor = await t.run(['doctor'])
    expect(doctor.stdout).toMatch(/^warning: 1 values a removed member could read have not been set since: prod\/db\/password\n  fix: rotate each secret where it was issued/m)
    expect((await t.run(['set', 'prod/db/password'], 'rotated')).code).toBe(0)
    const after = await t.run(['team', 'exposed'])
    expect([after.stdout, after.stderr]).toEqual(['', 'sstash: nothing is exposed: every value was set after the last removal\n'])
    const ci = await runBin('sstash', ['--stash', t.path, 'get', 'prod/db/password'], { env: user({ SSTASH_IDENTITY: t.ci.secret }) })
    expect(ci.stderr).toMatch(/^sstash: error: .*: your identity \(age1.*\) is not a member of this team stash\nsstash: hint: /)
  })

  it('remembers every team that commands running at once open: each update of the memory lands, under its lock', async () => {
    const teams = await Promise.all(Array.from({ length: 5 }, () => team()))
    const shared = user()
    const results = await Promise.all(teams.map((t) => runBin('sstash', ['--stash', t.path, 'team', 'verify'], { env: shared })))
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 0])
    const seen = readFileSync(join(shared.XDG_STATE_HOME as string, 'sstash', 'team-seen'), 'utf8')
    expect(seen.split('\n').filter((line) => line.startsWith('team ')).length).toBe(5)
    expect(seen.split('\n').filter((line) => line.startsWith('path ')).length).toBe(5)
  })

  it('reads an old branch after a removal only with --allow-old, and never writes to it', async () => {
    const t = await team()
    const before = readFileSync(t.path)
    expect((await t.run(['team', 'rm', 'ci'])).code).toBe(0)
    writeFileSync(t.path, before)
    const refused = await t.run(['get', 'dev/api/token'])
    expect([refused.code, refused.stdout]).toEqual([4, ''])
    expect(refused.stderr).toMatch(/^sstash: error: .*: this file predates the removal of ci from prod \(generation 2\); merge the branch that made it\nsstash: hint: .*--allow-old/)
    expect((await t.run(['--allow-old', 'get', 'dev/api/token'])).stdout).toBe('dev-token')
    const write = await t.run(['--allow-old', 'set', 'dev/x'], 'x')
    expect(write.code).toBe(4)
    expect(readFileSync(t.path)).toEqual(before)
  })

  it('doctor finds nothing wrong with the 0644 mode git checks a team stash out with, but warns when others can write it', async () => {
    const t = await team()
    chmodSync(t.path, 0o644)
    const doctor = await t.run(['doctor'])
    expect(doctor.stdout).toMatch(/^ok: file mode 0644 \(a team stash: readable by whoever clones the repository/m)
    expect(doctor.stdout).not.toMatch(/other users can read/)
    chmodSync(t.path, 0o664)
    expect((await t.run(['doctor'])).stdout).toMatch(/^warning: .* has mode 0664: other users can replace the team stash\n  fix: chmod go-w /m)
  })

  it('serves git-credential-sstash from a team stash, storing and getting through the member identity', async () => {
    const path = join(dir, 'git-team.sstash')
    const key = ageKey()
    const env = user({ SSTASH_IDENTITY: key.secret })
    expect((await runBin('sstash', ['--stash', path, 'team', 'init', '--as', 'me', '--scope', 'git=git/'], { env })).code).toBe(0)
    const store = await runBin('git', ['--stash', path, 'store'], { env, input: 'protocol=https\nhost=example.com\nusername=alice\npassword=s3cret\n\n' })
    expect([store.code, store.stderr]).toEqual([0, ''])
    const got = await runBin('git', ['--stash', path, 'get'], { env, input: 'protocol=https\nhost=example.com\n\n' })
    expect(got.stdout).toBe('username=alice\npassword=s3cret\n')
    // A store or erase that changes nothing leaves the file as it was: no rewrite, no new inode or mtime.
    const before = statSync(path)
    await new Promise((resolve) => setTimeout(resolve, 20))
    await runBin('git', ['--stash', path, 'store'], { env, input: 'protocol=https\nhost=example.com\nusername=alice\npassword=s3cret\n\n' })
    await runBin('git', ['--stash', path, 'erase'], { env, input: 'protocol=https\nhost=other.example\n\n' })
    const after = statSync(path)
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs])
  })

  it('loads no team dependency for a get on a personal stash, and only a team add of an ssh key loads @noble/curves', async () => {
    const hook = join(dir, 'log-loads.cjs')
    writeFileSync(hook, "const M = require('node:module'); const load = M._load; M._load = function (r, ...a) { if (r.startsWith('@noble/')) process.stderr.write('loaded ' + r + '\\n'); return load.call(this, r, ...a) }\n")
    const env = user({ SSTASH_PASSWORD: 'pw', NODE_OPTIONS: `--require ${hook}` })
    const personal = join(dir, 'personal-for-loads.sstash')
    await makeStash(personal, 'pw', { a: 'b' })
    const get = await runBin('sstash', ['--stash', personal, 'get', 'a'], { env })
    expect([get.stdout, get.stderr]).toEqual(['b', ''])
    const t = await team()
    const ssh = join(dir, `ssh-${n++}`)
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', ssh])
    const add = await t.run(['team', 'add', 'sshuser', '--key', `${ssh}.pub`, '--scope', 'dev'], undefined, { ...t.env, NODE_OPTIONS: `--require ${hook}` })
    expect(add.stderr).toBe('loaded @noble/curves/ed25519.js\nsstash: sshuser holds scope dev\n')
  })

  it('gives one error line and changes nothing for bad input', async () => {
    const t = await team()
    const before = readFileSync(t.path)
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['get', 'dev/api/token'], user(), /^sstash: error: no identity to open a team stash with .*\nsstash: hint: set SSTASH_IDENTITY/],
      [['get', 'dev/api/token'], user({ SSTASH_IDENTITY: 'AGE-SECRET-KEY-1NOPE' }), /^sstash: error: SSTASH_IDENTITY is not a usable identity: /],
      [['team', 'add', 'bob', '--key', 'ssh-rsa AAAAB3NzaC1yc2E'], t.env, /^sstash: error: not a usable public key: ssh-rsa keys are not supported/],
      [['team', 'add', 'alice', '--key', ageKey().recipient], t.env, /^sstash: error: member alice already exists with another key\n/],
      [['team', 'rm', 'nobody'], t.env, /^sstash: error: there is no member nobody\n/],
      [['team', 'init', '--as', 'x'], t.env, /^sstash: error: .* already exists\n/],
      [['set', 'elsewhere/x'], t.env, /^sstash: error: no scope holds key elsewhere\/x\nsstash: hint: the scopes are \/dev, \/prod\n$/],
      [['team', 'frobnicate'], t.env, /^sstash: error: unknown team command "frobnicate"\n/],
      // The password commands refuse before they look for an identity or ask anything.
      ...[['passwd'], ['unlock'], ['migrate']].map((args): [string[], Record<string, string>, RegExp] => [args, user(), /^sstash: error: .* is a team stash: it has no password; members open it with their own keys\n/]),
    ]
    for (const [args, env, stderr] of cases) {
      const result = await t.run(args, 'value', env)
      expect(result.stderr, args.join(' ')).toMatch(stderr)
      expect(result.code, args.join(' ')).not.toBe(0)
      expect(result.stderr).not.toMatch(/\n {4}at /)
    }
    expect(readFileSync(t.path)).toEqual(before)
  })
})
