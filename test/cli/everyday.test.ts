/**
 * The everyday surface of issue 24, through the built binaries: what a mistake says, the
 * order and drawing of listings, `generate`, `git add`/`git ls` (proved with real
 * `git credential fill`), `agent stop`, `doctor --json` and its `.env` finding, and color.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SecureStash } from '../../src/index.js'
import { randomToken } from '../../src/cli/commands/generate.js'
import { colorAllowed } from '../../src/cli/terminal.js'
import { BIN, ROOT, TEST_KDF, agentRuntimeDir, alive, makeStash, runBin, runCommand, tempDir } from '../helpers.js'

const dir = tempDir()
const runtime = agentRuntimeDir()
const PASSWORD = 'correct horse battery staple'
const passwordFile = join(dir, 'password')
writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })
let counter = 0

/** A fresh stash holding `values`, and the environment that opens it. */
async function stashWith(values: Record<string, string> = {}) {
  const path = join(dir, `s${++counter}.sstash`)
  await makeStash(path, PASSWORD, values)
  return { path, env: { SSTASH_FILE: path, SSTASH_PASSWORD_FILE: passwordFile, XDG_RUNTIME_DIR: runtime } }
}

const read = async (path: string, key: string): Promise<string> =>
  new TextDecoder().decode(await (await SecureStash.open(path, PASSWORD, { kdf: TEST_KDF, create: false })).readValue(key.split('/')))

describe('mistakes say what to do', () => {
  it('tells sstash-run users to put -- before a command whose own option it does not know', async () => {
    const r = await runBin('run', ['node', '-e', '1'])
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[0]).toBe('sstash: error: unknown option -e: put -- before the command, as in sstash-run [options] -- node -e 1')
    // A misspelled option of sstash-run's own, before the command, is still just unknown.
    const own = await runBin('run', ['--nope', 'node'])
    expect(own.stderr.split('\n')[0]).toBe('sstash: error: unknown option --nope')
  })

  it('says that a directory given to init is a directory, not an existing stash', async () => {
    const target = join(dir, 'a-directory')
    mkdirSync(target)
    const r = await runBin('sstash', ['--stash', target, 'init'], { env: { SSTASH_PASSWORD: PASSWORD } })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`sstash: error: ${target} is a directory\nsstash: hint: give the new stash's file name, e.g. \`sstash --stash ${join(target, 'stash.sstash')} init\`\n`)
    expect(r.stderr).not.toContain('passwd')
  })

  it('suggests only the closest command for a typo', async () => {
    const r = await runBin('sstash', ['gett'])
    expect(r).toMatchObject({ code: 2, stderr: 'sstash: error: unknown command "gett"\nsstash: hint: did you mean `sstash get`?\n' })
  })

  it('stops the agent with sstash agent stop, and says so when none runs', async () => {
    const { env } = await stashWith({ a: '1' })
    const own = { ...env, XDG_RUNTIME_DIR: join(dir, `run-${++counter}`) }
    mkdirSync(own.XDG_RUNTIME_DIR, { mode: 0o700 })
    expect((await runBin('sstash', ['unlock'], { env: own })).code).toBe(0)
    const status = JSON.parse((await runBin('sstash', ['agent', 'status', '--json'], { env: own })).stdout) as { pid: number }
    const stop = await runBin('sstash', ['agent', 'stop'], { env: own })
    expect(stop).toMatchObject({ code: 0, stdout: '', stderr: `sstash: stopped the agent (pid ${status.pid})\n` })
    expect(alive(status.pid)).toBe(false)
    expect(await runBin('sstash', ['agent', 'stop'], { env: own })).toMatchObject({ code: 0, stderr: 'sstash: no agent runs\n' })
  })
})

describe('listings', () => {
  it('lists names in sorted order whatever order they were stored in', async () => {
    const { env } = await stashWith({ 'p/zeta': '1', 'p/alpha/x': '2', 'p/Mid': '3', 'p/beta': '4' })
    const r = await runBin('sstash', ['ls', 'p'], { env })
    expect(r).toMatchObject({ code: 0, stdout: 'p/Mid\np/alpha/\np/beta\np/zeta\n', stderr: '' })
    const json = JSON.parse((await runBin('sstash', ['ls', 'p', '--json'], { env })).stdout) as { path: string }[]
    expect(json.map((n) => n.path)).toEqual(['p/Mid', 'p/alpha', 'p/beta', 'p/zeta'])
  })

  it('draws the tree as tree(1) does, with no blank bar lines between siblings', async () => {
    const { env } = await stashWith({ 'app/db/user': 'u', 'app/db/password': 'p', 'app/api/token': 't', 'app/name': 'n' })
    const r = await runBin('sstash', ['tree', 'app'], { env })
    expect(r.stdout).toBe('app\n├── api\n│   └── token\n├── db\n│   ├── password\n│   └── user\n└── name\n')
    expect(r.stdout.split('\n')).not.toContain('│')
  })
})

describe('sstash generate', () => {
  it('stores a random token of the asked length and charset, and prints nothing', async () => {
    const { path, env } = await stashWith()
    const r = await runBin('sstash', ['generate', 'db/password', '--length', '40', '--charset', 'hex'], { env })
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: 'sstash: stored a new 40-character token at db/password\n' })
    expect(await read(path, 'db/password')).toMatch(/^[0-9a-f]{40}$/)
    const other = await runBin('sstash', ['generate', 'db/other'], { env })
    expect(await read(path, 'db/other')).toMatch(/^[A-Za-z0-9]{32}$/)
    expect(other.stdout).toBe('')
  })

  it('prints the token it stored with --print, and refuses to replace a value without --force', async () => {
    const { path, env } = await stashWith({ 'api/key': 'old' })
    const refused = await runBin('sstash', ['generate', 'api/key', '--print'], { env })
    expect(refused).toMatchObject({ code: 1, stdout: '' })
    expect(refused.stderr).toContain('sstash: error: key api/key already holds a value')
    expect(await read(path, 'api/key')).toBe('old')
    const r = await runBin('sstash', ['generate', 'api/key', '--print', '--force', '--charset', 'ab'], { env })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^[ab]{32}$/)
    expect(await read(path, 'api/key')).toBe(r.stdout)
  })

  it('refuses a bad length or charset before asking for anything', async () => {
    const { env } = await stashWith()
    for (const args of [['--length', '0'], ['--length', '1e3'], ['--charset', 'a']]) {
      const r = await runBin('sstash', ['generate', 'x', ...args], { env: { SSTASH_FILE: env.SSTASH_FILE } })
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^sstash: error: --(length|charset) /)
    }
  })

  it('draws every character equally often: rejection sampling, no modulo bias', () => {
    // Bytes 0..255 once each, over 3 characters: 255 bytes are used (85 each), byte 255 is drawn again.
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    let calls = 0
    const token = randomToken(['a', 'b', 'c'], 255, () => (calls++ === 0 ? all : new Uint8Array(16)))
    expect([...'abc'].map((c) => token.split(c).length - 1)).toEqual([85, 85, 85])
    expect(calls).toBe(1)
  })
})

describe('sstash git add and git ls', () => {
  const home = join(dir, 'git-home')
  mkdirSync(home, { recursive: true })
  const gitEnv = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: undefined, SSH_ASKPASS: undefined }
  const helper = (path: string) => `!"${process.execPath}" "${BIN.git}" --stash "${path}"`
  const fill = (path: string, env: Record<string, string | undefined>, request: string) =>
    runCommand('git', ['-c', `credential.helper=${helper(path)}`, 'credential', 'fill'], { input: request, cwd: home, env: { ...env, ...gitEnv } })

  it('stores a token from stdin where real git credential fill finds it', async () => {
    const { path, env } = await stashWith()
    const add = await runBin('sstash', ['git', 'add', 'https://alice@example.net'], { env, input: 'ghp_token123\n' })
    expect(add).toMatchObject({ code: 0, stdout: '' })
    expect(add.stderr).toBe('sstash: stored the token for https://alice@example.net at git/https/example.net/-/alice/password\n')
    expect(add.stderr).not.toContain('ghp_token123')
    const r = await fill(path, env, 'protocol=https\nhost=example.net\n\n')
    expect(r.stdout).toBe('protocol=https\nhost=example.net\nusername=alice\npassword=ghp_token123\n')
  })

  it('stores a token for a path, which git asks with useHttpPath', async () => {
    const { path, env } = await stashWith()
    const add = await runBin('sstash', ['git', 'add', 'https://bob@example.net/group/repo.git'], { env, input: 'tok-path' })
    expect(add.stderr).toContain('credential.https://example.net.useHttpPath true')
    const r = await runCommand('git', ['-c', `credential.helper=${helper(path)}`, '-c', 'credential.useHttpPath=true', 'credential', 'fill'], {
      input: 'url=https://example.net/group/repo.git\n\n',
      cwd: home,
      env: { ...env, ...gitEnv },
    })
    expect(r.stdout).toContain('username=bob\npassword=tok-path\n')
  })

  it('lists hosts and user names, never a token', async () => {
    const { env } = await stashWith({ 'git/https/example.net/-/alice/password': 'secret-a', 'git/https/gitlab.com/-/bob/password': 'secret-b', 'git/https/gitlab.com/-/bob/oauth_refresh_token': 'secret-r' })
    const r = await runBin('sstash', ['git', 'ls'], { env })
    expect(r).toMatchObject({ code: 0, stdout: 'https://alice@example.net\tpassword\nhttps://bob@gitlab.com\toauth_refresh_token,password\n', stderr: '' })
    const json = await runBin('sstash', ['git', 'ls', '--json'], { env })
    expect(JSON.parse(json.stdout)).toEqual([
      { url: 'https://alice@example.net', protocol: 'https', host: 'example.net', path: null, username: 'alice', fields: ['password'] },
      { url: 'https://bob@gitlab.com', protocol: 'https', host: 'gitlab.com', path: null, username: 'bob', fields: ['oauth_refresh_token', 'password'] },
    ])
    expect(r.stdout + json.stdout).not.toMatch(/secret-/)
  })

  it('refuses a URL holding a password, or with no user name, and stores nothing', async () => {
    const { path, env } = await stashWith()
    const before = readFileSync(path)
    const withPassword = await runBin('sstash', ['git', 'add', 'https://alice:hunter2@example.net'], { env, input: 'x' })
    expect(withPassword.code).toBe(2)
    expect(withPassword.stderr).toMatch(/^sstash: error: the URL holds a password: never put a token on the command line\n/)
    expect(withPassword.stderr).not.toContain('hunter2')
    const noUser = await runBin('sstash', ['git', 'add', 'https://example.net'], { env, input: 'x' })
    expect(noUser.stderr).toMatch(/^sstash: error: "https:\/\/example.net" has no user name\n/)
    const empty = await runBin('sstash', ['git', 'add', 'https://alice@example.net'], { env, input: '' })
    expect(empty.stderr).toMatch(/^sstash: error: the token is empty; nothing was stored\n/)
    expect(readFileSync(path).equals(before)).toBe(true)
  })
})

describe('sstash doctor', () => {
  it('reports in JSON with stable field names', async () => {
    const { env } = await stashWith()
    const r = await runBin('sstash', ['doctor', '--json'], { env, cwd: dir })
    const report = JSON.parse(r.stdout) as { stash: string; ok: boolean; findings: { severity: string; what: string; fix: string | null }[] }
    expect(report.stash).toBe(env.SSTASH_FILE)
    expect(report.findings.find((f) => f.what === 'file mode 0600')).toEqual({ severity: 'ok', what: 'file mode 0600', fix: null })
    expect(r.code).toBe(report.ok ? 0 : 1)
  })

  it('names a plain .env beside an .env.sstash that git does not ignore, and is quiet once it is ignored', async () => {
    const { env } = await stashWith()
    const project = join(dir, `project-${++counter}`)
    mkdirSync(project)
    expect(spawnSync('git', ['init', '-q', project]).status).toBe(0)
    writeFileSync(join(project, '.env.sstash'), 'TOKEN=sstash://app/TOKEN\n')
    writeFileSync(join(project, '.env'), 'TOKEN=plain-secret\n')
    const r = await runBin('sstash', ['doctor'], { env, cwd: project })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`warning: ${join(project, '.env')} (beside .env.sstash) is plain text and not ignored by git: \`git add .\` would commit it\n  fix: echo .env >> .gitignore`)
    expect(r.stdout).not.toContain('plain-secret')
    writeFileSync(join(project, '.gitignore'), '.env\n')
    expect((await runBin('sstash', ['doctor'], { env, cwd: project })).stdout).not.toContain('.env (beside')
  })
})

describe('color', () => {
  it('is never used when stdout is not a terminal, or when NO_COLOR is set', async () => {
    const { env } = await stashWith()
    const r = await runBin('sstash', ['doctor'], { env, cwd: dir })
    expect(r.stdout).not.toContain('\x1b[')
    expect(colorAllowed(1, { NO_COLOR: '1' })).toBe(false)
    expect(colorAllowed(1, { TERM: 'dumb' })).toBe(false)
  })

  it('colors doctor on a terminal, and not with NO_COLOR', async () => {
    const { env } = await stashWith()
    const driver = join(ROOT, 'test/fixtures/cli/pty-drive.py')
    const onTerminal = (extra: Record<string, string>) =>
      runCommand('python3', [driver, '[]', process.execPath, BIN.sstash, 'doctor'], { cwd: dir, env: { ...env, TERM: 'xterm', ...extra } })
    expect((await onTerminal({})).stdout).toContain('\x1b[32mok:\x1b[0m')
    expect((await onTerminal({ NO_COLOR: '1' })).stdout).not.toContain('\x1b[')
  })
})

describe('variable names', () => {
  it('gives a value the same case whether -k selects its parent or its grandparent', async () => {
    const { env } = await stashWith({ 'prod/db/password': 'p1', 'prod/DB/USER': 'u1' })
    const print = ['--', process.execPath, '-e', 'process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(db_|DB_)?(password|USER)$/.test(k)))))']
    const top = JSON.parse((await runBin('run', ['-k', 'prod', ...print], { env })).stdout)
    expect(top).toEqual({ db_password: 'p1', DB_USER: 'u1' })
    expect(JSON.parse((await runBin('run', ['-k', 'prod/db', ...print], { env })).stdout)).toEqual({ password: 'p1' })
    expect(JSON.parse((await runBin('run', ['-k', 'prod/DB', ...print], { env })).stdout)).toEqual({ USER: 'u1' })
  })
})

describe('reference files grow', () => {
  it('names every variable a reference file cannot hold at once, says what to do, and imports nothing', async () => {
    const { path, env } = await stashWith()
    const project = join(dir, `refs-${++counter}`)
    mkdirSync(project)
    writeFileSync(join(project, '.env'), 'KEY-WITH-DASH=1\nGOOD=2\na.b=3\n')
    const before = readFileSync(path)
    const r = await runBin('sstash', ['import', '.env', '--into', 'app', '--write-refs', '.env.sstash'], { env, cwd: project })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      'sstash: error: .env.sstash: KEY-WITH-DASH: is not a valid environment variable name (letters, digits and _, not starting with a digit)\n' +
        'sstash: error: .env.sstash: a.b: is not a valid environment variable name (letters, digits and _, not starting with a digit)\n' +
        'sstash: hint: rename them in .env (KEY-WITH-DASH -> KEY_WITH_DASH, a.b -> a_b); or import without --write-refs and run with `sstash-run -k app`, which keeps names such as KEY-WITH-DASH; nothing was imported\n',
    )
    expect(readFileSync(path).equals(before)).toBe(true)
  })

  it('adds new variables to an existing reference file with --update, leaving its lines, comments and order', async () => {
    const { path, env } = await stashWith()
    const project = join(dir, `refs-${++counter}`)
    mkdirSync(project)
    const existing = '# committed: no secret here\nPORT=3000\n\nTOKEN=sstash://elsewhere/TOKEN   # kept as it is\n'
    writeFileSync(join(project, '.env.sstash'), existing)
    writeFileSync(join(project, '.env'), 'TOKEN=t\nDATABASE_URL=postgres://x\nAPI_KEY=k\n')
    const refused = await runBin('sstash', ['import', '.env', '--into', 'app', '--write-refs', '.env.sstash'], { env, cwd: project })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('sstash: hint: add --update to add the new variables to it')
    const r = await runBin('sstash', ['import', '.env', '--into', 'app', '--write-refs', '.env.sstash', '--update'], { env, cwd: project })
    expect(r).toMatchObject({ code: 0, stdout: '' })
    expect(r.stderr).toContain('sstash: added DATABASE_URL, API_KEY to .env.sstash; its other lines are unchanged\n')
    expect(readFileSync(join(project, '.env.sstash'), 'utf8')).toBe(`${existing}DATABASE_URL=sstash://app/DATABASE_URL\nAPI_KEY=sstash://app/API_KEY\n`)
    expect(await read(path, 'app/API_KEY')).toBe('k')
    const again = await runBin('sstash', ['import', '.env', '--into', 'app', '--write-refs', '.env.sstash', '--update'], { env, cwd: project })
    expect(again.stderr).toContain('sstash: .env.sstash already holds these references\n')
  })
})
