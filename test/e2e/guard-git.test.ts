/**
 * The leak guard against real git: values committed in files, as base64, inside a PEM block,
 * staged, renamed; the hooks refusing a commit and a push; a user's own hook kept running;
 * core.hooksPath and worktrees. The stash stays locked throughout: no agent, no password.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { ROOT, makeStash, runBin, runCommand, tempDir } from '../helpers.js'

const dir = tempDir()
const TOKEN = 'tok_9fQ2xLm7Vb3Zr8Kd'
const DBPASS = 'Zq7!mW2#rT9$kP4x'
const PEM_LINE = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7'
const PEM = `-----BEGIN PRIVATE KEY-----\n${PEM_LINE}\nVJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDu\n-----END PRIVATE KEY-----\n`

// `sstash` on PATH, as the hooks find it: a shell script that runs the built binary.
const binDir = join(dir, 'bin')
mkdirSync(binDir)
writeFileSync(join(binDir, 'sstash'), `#!/bin/sh\nexec "${process.execPath}" -- "${join(ROOT, 'bin/sstash.cjs')}" "$@"\n`, { mode: 0o755 })

const env: Record<string, string | undefined> = {
  PATH: `${binDir}:${process.env.PATH}`,
  HOME: join(dir, 'home'),
  XDG_STATE_HOME: join(dir, 'state'),
  XDG_RUNTIME_DIR: join(dir, 'run'),
  SSTASH_FILE: join(dir, 'stash.sstash'),
  GIT_CONFIG_GLOBAL: join(dir, 'gitconfig'),
  GIT_CONFIG_NOSYSTEM: '1',
}
writeFileSync(join(dir, 'gitconfig'), '[user]\n\tname = T\n\temail = t@example.com\n[init]\n\tdefaultBranch = main\n')
mkdirSync(join(dir, 'run'), { mode: 0o700 })

const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, env: env as NodeJS.ProcessEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const sstash = (cwd: string, args: string[], input?: string) => runBin('sstash', args, { cwd, env, input })

let n = 0
function repo(): string {
  const path = join(dir, `repo-${n++}`)
  mkdirSync(path)
  git(path, 'init', '-q')
  return path
}

const findings = (stdout: string): string[] => stdout.split('\n').filter(Boolean).map((line) => line.replace(/^[0-9a-f]{12}:/, ''))

beforeAll(async () => {
  await makeStash(env.SSTASH_FILE as string, 'pw', { 'api/token': TOKEN, 'db/password': DBPASS, 'tls/key': PEM, 'tiny/flag': 'yes' })
  // Fingerprinted once with the password (as `sstash guard refresh` asks it); locked from then on.
  const refreshed = await runBin('sstash', ['guard', 'refresh'], { env: { ...env, SSTASH_PASSWORD: 'pw' } })
  expect(refreshed.stderr).toContain('fingerprinted 3 values')
})

describe('sstash guard with git', () => {
  it('finds each value of a history with its key path: in a file, as base64, in a PEM block, in a renamed file', async () => {
    const r = repo()
    writeFileSync(join(r, 'config.env'), `API_TOKEN=${TOKEN}\n`)
    git(r, 'add', '.')
    git(r, 'commit', '-qm', 'one')
    writeFileSync(join(r, 'secret.yaml'), `kind: Secret\ndata:\n  password: ${Buffer.from(DBPASS).toString('base64')}\n`)
    git(r, 'add', '.')
    git(r, 'commit', '-qm', 'two')
    writeFileSync(join(r, 'notes.md'), `# notes\n\nclean line\n${PEM}`)
    git(r, 'add', '.')
    git(r, 'commit', '-qm', 'three')
    git(r, 'mv', 'config.env', 'moved.env')
    git(r, 'commit', '-qm', 'four')
    writeFileSync(join(r, 'clean.txt'), 'nothing secret here, yes\n')
    git(r, 'add', '.')
    git(r, 'commit', '-qm', 'five')

    const history = await sstash(r, ['guard', 'scan', '--history'])
    expect(history.code).toBe(1)
    expect(findings(history.stdout)).toEqual(['moved.env:1: api/token', 'notes.md:4: tls/key', 'notes.md:5: tls/key', 'notes.md:6: tls/key', 'secret.yaml:3: db/password (base64)', 'config.env:1: api/token'])
    expect(history.stderr).toContain('5 commits')
    for (const value of [TOKEN, DBPASS, PEM_LINE]) expect(history.stdout + history.stderr).not.toContain(value)

    const files = await sstash(r, ['guard', 'scan'])
    expect(findings(files.stdout)).toEqual(['moved.env:1: api/token', 'notes.md:4: tls/key', 'notes.md:5: tls/key', 'notes.md:6: tls/key', 'secret.yaml:3: db/password (base64)'])
    const clean = await sstash(r, ['guard', 'scan', 'clean.txt'])
    expect([clean.code, clean.stdout]).toEqual([0, ''])
    expect(clean.stderr).toContain('0 values found')
    expect(clean.stderr).toContain('(1 shorter than 12 characters not looked for)')

    const range = await sstash(r, ['guard', 'scan', '--history', 'HEAD~2..HEAD'])
    expect(findings(range.stdout)).toEqual(['moved.env:1: api/token'])
  })

  it('scans the staged change, names the file and line, and passes once it is unstaged', async () => {
    const r = repo()
    writeFileSync(join(r, 'app.json'), `{\n  "name": "x",\n  "token": "${TOKEN}"\n}\n`)
    git(r, 'add', 'app.json')
    const staged = await sstash(r, ['guard', 'scan', '--staged'])
    expect([staged.code, findings(staged.stdout)]).toEqual([1, ['app.json:3: api/token']])
    git(r, 'rm', '-q', '--cached', 'app.json')
    expect((await sstash(r, ['guard', 'scan', '--staged'])).code).toBe(0)
  })

  it('runs with the stash locked, no agent and no password source: asks nothing and finishes', async () => {
    const r = repo()
    writeFileSync(join(r, 'a.txt'), `x ${DBPASS} y\n`)
    git(r, 'add', '.')
    const result = await runCommand('setsid', ['-w', process.execPath, '--', join(ROOT, 'bin/sstash.cjs'), 'guard', 'scan', '--staged'], { cwd: r, env: { ...env, SSTASH_ASKPASS: undefined, SSTASH_PASSWORD: undefined }, timeoutMs: 15_000 })
    expect([result.code, result.signal, findings(result.stdout)]).toEqual([1, null, ['a.txt:1: db/password']])
    expect(result.stderr).not.toMatch(/password/i)
  })

  it('honours sstash:allow on a line and .sstashguardignore, and lists both in the summary', async () => {
    const r = repo()
    mkdirSync(join(r, 'fixtures'))
    writeFileSync(join(r, 'fixtures', 'sample.env'), `TOKEN=${TOKEN}\n`)
    writeFileSync(join(r, 'doc.md'), `example: ${TOKEN} <!-- sstash:allow -->\n`)
    writeFileSync(join(r, '.sstashguardignore'), '# test fixtures\nfixtures/\n')
    git(r, 'add', '.')
    const result = await sstash(r, ['guard', 'scan', '--staged'])
    expect([result.code, result.stdout]).toEqual([0, ''])
    expect(result.stderr).toContain('allowed: doc.md:1: api/token allowed by sstash:allow')
    expect(result.stderr).toContain('allowed: fixtures/sample.env:1: api/token allowed by fixtures/')
  })

  it('refuses a commit with the report; --no-verify is git\'s way past it; a user\'s hook runs before and after uninstall', async () => {
    const r = repo()
    const hooks = join(r, '.git', 'hooks')
    writeFileSync(join(hooks, 'pre-commit'), `#!/bin/sh\necho ran >> "${join(r, '.git', 'user-hook.log')}"\n`, { mode: 0o755 })
    const installed = await sstash(r, ['guard', 'install'])
    expect(installed.code).toBe(0)
    expect(installed.stderr).toContain('chained')
    writeFileSync(join(r, 'leak.txt'), `${TOKEN}\n`)
    git(r, 'add', '.')
    const refused = await runCommand('git', ['commit', '-m', 'leak'], { cwd: r, env })
    expect(refused.code).not.toBe(0)
    expect(refused.stdout + refused.stderr).toContain('leak.txt:1: api/token')
    expect(refused.stdout + refused.stderr).not.toContain(TOKEN)
    const forced = await runCommand('git', ['commit', '-q', '--no-verify', '-m', 'leak'], { cwd: r, env })
    expect(forced.code).toBe(0)
    writeFileSync(join(r, 'ok.txt'), 'fine\n')
    git(r, 'add', 'ok.txt')
    expect((await runCommand('git', ['commit', '-qm', 'ok'], { cwd: r, env })).code).toBe(0)
    expect(readFileSync(join(r, '.git', 'user-hook.log'), 'utf8')).toBe('ran\nran\n')

    const removed = await sstash(r, ['guard', 'install', '--uninstall'])
    expect(removed.stderr).toContain('pre-commit: restored')
    expect(existsSync(join(hooks, 'pre-push'))).toBe(false)
    writeFileSync(join(r, 'ok2.txt'), 'fine\n')
    git(r, 'add', 'ok2.txt')
    expect((await runCommand('git', ['commit', '-qm', 'ok2'], { cwd: r, env })).code).toBe(0)
    expect(readFileSync(join(r, '.git', 'user-hook.log'), 'utf8')).toBe('ran\nran\nran\n')
  })

  it('refuses a push of a commit holding a value, to a new branch and to an existing one', async () => {
    const remote = join(dir, `remote-${n++}.git`)
    execFileSync('git', ['init', '-q', '--bare', remote], { env: env as NodeJS.ProcessEnv })
    const r = repo()
    git(r, 'remote', 'add', 'origin', remote)
    writeFileSync(join(r, 'a.txt'), 'clean\n')
    git(r, 'add', '.')
    git(r, 'commit', '-qm', 'clean')
    git(r, 'push', '-q', 'origin', 'main')
    expect((await sstash(r, ['guard', 'install'])).code).toBe(0)
    writeFileSync(join(r, 'b.txt'), `${DBPASS}\n`)
    git(r, 'add', '.')
    git(r, 'commit', '-q', '--no-verify', '-m', 'leak')
    const push = await runCommand('git', ['push', 'origin', 'main'], { cwd: r, env })
    expect(push.code).not.toBe(0)
    expect(push.stderr + push.stdout).toContain('b.txt:1: db/password')
    const branch = await runCommand('git', ['push', 'origin', 'main:feature'], { cwd: r, env })
    expect(branch.code).not.toBe(0)
    expect(branch.stderr + branch.stdout).toContain('b.txt:1: db/password')
    git(r, 'reset', '-q', '--hard', 'HEAD~1')
    expect((await runCommand('git', ['push', '-q', 'origin', 'main:clean-branch'], { cwd: r, env })).code).toBe(0)
  })

  it('installs into core.hooksPath and into a worktree\'s hooks, wherever git looks for them', async () => {
    const r = repo()
    git(r, 'config', 'core.hooksPath', '.githooks')
    expect((await sstash(r, ['guard', 'install'])).code).toBe(0)
    expect(readFileSync(join(r, '.githooks', 'pre-commit'), 'utf8')).toContain('sstash guard scan --staged')
    writeFileSync(join(r, 'a.txt'), 'clean\n')
    git(r, 'add', 'a.txt')
    git(r, 'commit', '-qm', 'one')

    const main = repo()
    writeFileSync(join(main, 'a.txt'), 'clean\n')
    git(main, 'add', '.')
    git(main, 'commit', '-qm', 'one')
    const tree = join(dir, `worktree-${n++}`)
    git(main, 'worktree', 'add', '-q', tree)
    expect((await sstash(tree, ['guard', 'install'])).code).toBe(0)
    writeFileSync(join(tree, 'leak.txt'), `${TOKEN}\n`)
    git(tree, 'add', 'leak.txt')
    const refused = await runCommand('git', ['commit', '-m', 'leak'], { cwd: tree, env })
    expect(refused.code).not.toBe(0)
    expect(refused.stdout + refused.stderr).toContain('leak.txt:1: api/token')
  })

  it('refuses to write its hook over a hook it did not write when a chained copy is already there', async () => {
    const r = repo()
    const hooks = join(r, '.git', 'hooks')
    writeFileSync(join(hooks, 'pre-commit'), '#!/bin/sh\nexit 0\n', { mode: 0o755 })
    writeFileSync(join(hooks, 'pre-commit.sstash-chained'), '#!/bin/sh\nexit 0\n', { mode: 0o755 })
    const result = await sstash(r, ['guard', 'install'])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/^sstash: error: .*pre-commit is not sstash's/)
    expect(readFileSync(join(hooks, 'pre-commit'), 'utf8')).toBe('#!/bin/sh\nexit 0\n')
    chmodSync(join(hooks, 'pre-commit'), 0o755)
  })
})
