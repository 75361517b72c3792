/**
 * The `sstash` binary as a user runs it: built, in temporary directories, checking stdout,
 * stderr and the exit code of every command, including the ways each one fails.
 */
import { execFile, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT, TEST_KDF_SPEC, agentRuntimeDir, makeStash, runBin, runCommand, tempDir } from '../helpers.js'

const dir = tempDir()
const passwordFile = join(dir, 'password')
const PASSWORD = 'correct horse battery staple'
let counter = 0

writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })

/** A fresh stash path in the test directory, and the env that unlocks it. */
function fresh(): { path: string; env: Record<string, string> } {
  const path = join(dir, `s${++counter}.sstash`)
  return { path, env: { SSTASH_FILE: path, SSTASH_PASSWORD_FILE: passwordFile } }
}

async function stashWith(values: Record<string, string | Uint8Array>) {
  const f = fresh()
  await makeStash(f.path, PASSWORD, values)
  return f
}

/** Runs sstash and returns stdout as raw bytes (runBin decodes it as UTF-8). */
function runRaw(args: string[], env: Record<string, string>): Promise<{ stdout: Buffer; code: number | null }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN.sstash, ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'buffer', timeout: 20_000 }, (error, stdout) =>
      resolve({ stdout, code: error ? ((error as { code?: number }).code ?? null) : 0 }),
    )
    child.stdin?.end()
  })
}

const firstLine = (text: string) => text.split('\n')[0]

/** What init, passwd and migrate say when asked for a key derivation as cheap as the tests'. */
const weakKdf = (spec: string) => `sstash: warning: the key derivation ${spec} is weak: a stolen copy of the file is cheap to attack (the default, --kdf scrypt, is not)\n`

describe('help and usage', () => {
  it('lists every command with an example in sstash --help', async () => {
    const r = await runBin('sstash', ['--help'])
    expect(r.code).toBe(0)
    for (const command of ['init', 'set <keypath>', 'get <keypath>', 'ls [keypath]', 'tree [keypath]', 'rm <keypath>', 'mv <from> <to>', 'passwd', 'migrate', 'doctor'])
      expect(r.stdout).toContain(`  ${command}`)
    expect(r.stdout).toContain('Examples:')
    expect(r.stderr).toBe('')
  })

  it('never shows an example that puts a value into another program\'s argv, where ps shows it', async () => {
    const r = await runBin('sstash', ['get', '--help'])
    const examples = r.stdout.slice(r.stdout.indexOf('Examples:')).split('\n').filter((line) => line.includes('$(sstash get'))
    expect(examples.length).toBeGreaterThan(0)
    // Only a shell builtin (printf, echo in bash) may take the value as an argument; curl reads it from stdin.
    for (const line of examples) expect(line, line).toMatch(/^\s+\$ printf [^|]*"\$\(sstash get [^)]*\)" \| /)
  })

  it('says in sstash set --help how a value typed at the terminal ends, and how to store an empty one', async () => {
    const r = await runBin('sstash', ['set', '--help'])
    expect(r.stdout).toContain('Ctrl-D')
    expect(r.stdout).toContain('--allow-empty')
    expect((await runBin('sstash', ['rm', '--help'])).stdout).toContain('--yes')
  })

  it.each(['init', 'set', 'get', 'ls', 'tree', 'rm', 'mv', 'passwd', 'migrate', 'doctor'])('shows an example in sstash %s --help', async (command) => {
    const r = await runBin('sstash', [command, '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`$ sstash ${command}`)
    expect(r.stdout).toMatch(/Examples:\n {2}\$ /)
  })

  it('takes sstash help for sstash --help', async () => {
    const r = await runBin('sstash', ['help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('For more info, run any command with the `--help` flag')
  })

  it('prints the usage and exits 2 without a command', async () => {
    const r = await runBin('sstash', [])
    expect(r.code).toBe(2)
    expect(r.stdout).toContain('Usage:')
  })

  it('refuses an unknown command with exit 2 and a hint', async () => {
    const r = await runBin('sstash', ['frobnicate'])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe('sstash: error: unknown command "frobnicate"\nsstash: hint: run `sstash --help` for the list of commands\n')
  })

  it('suggests the command a typo was close to', async () => {
    const r = await runBin('sstash', ['gte', 'x'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('sstash: hint: did you mean `sstash get`?')
  })

  it('refuses an unknown option and a missing argument with exit 2', async () => {
    const unknown = await runBin('sstash', ['ls', '--colour'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toBe('sstash: error: unknown option --colour\nsstash: hint: `sstash ls --help` shows its usage\n')
    const missing = await runBin('sstash', ['get'])
    expect(missing.code).toBe(2)
    expect(firstLine(missing.stderr)).toBe('sstash: error: missing required args for command get <keypath>')
  })

  it('prints its version', async () => {
    const r = await runBin('sstash', ['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^sstash\/\d+\.\d+\.\d+ /)
  })
})

describe('sstash init', () => {
  it('creates a private stash file from a password file', async () => {
    const { path, env } = fresh()
    const r = await runBin('sstash', ['init', '--kdf', TEST_KDF_SPEC], { env })
    expect(r).toMatchObject({ code: 0, stdout: '' })
    expect(r.stderr).toBe(`${weakKdf(TEST_KDF_SPEC)}sstash: created ${path}\n`)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect((await runBin('sstash', ['ls'], { env })).code).toBe(0)
  })

  it('refuses to overwrite an existing file', async () => {
    const { path, env } = await stashWith({ a: '1' })
    const before = readFileSync(path)
    const r = await runBin('sstash', ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC], { env })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`sstash: error: ${path} already exists\nsstash: hint: use \`sstash passwd\` to change its password, or pass --stash <path> for another stash\n`)
    expect(readFileSync(path)).toEqual(before)
  })

  it('refuses an empty password and creates nothing', async () => {
    const { path } = fresh()
    const empty = join(dir, 'empty-password')
    writeFileSync(empty, '', { mode: 0o600 })
    const r = await runBin('sstash', ['init', '--kdf', TEST_KDF_SPEC], { env: { SSTASH_FILE: path, SSTASH_PASSWORD_FILE: empty } })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('sstash: error: the password is empty; nothing was changed\n')
    expect(existsSync(path)).toBe(false)
  })

  it('fails at once with no password source and no terminal', async () => {
    const { path } = fresh()
    const started = Date.now()
    const r = await runCommand('setsid', ['-w', process.execPath, BIN.sstash, '--stash', path, 'init'])
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(r.code).toBe(5)
    expect(r.stderr).toBe(
      `sstash: error: no terminal to ask for the new password of ${path}\nsstash: hint: run \`sstash init\` in a terminal, or set SSTASH_PASSWORD_FILE to a file holding the password\n`,
    )
    expect(existsSync(path)).toBe(false)
  })

  it('refuses a malformed --kdf with exit 2', async () => {
    const { path, env } = fresh()
    const r = await runBin('sstash', ['init', '--kdf', 'scrypt:N=1000'], { env })
    expect(r.code).toBe(2)
    expect(firstLine(r.stderr)).toMatch(/^sstash: error: invalid --kdf "scrypt:N=1000": /)
    expect(existsSync(path)).toBe(false)
  })

  it('makes the default directory private, and only the default one', async () => {
    const xdg = join(dir, 'xdg-data')
    const env = { XDG_DATA_HOME: xdg, SSTASH_PASSWORD_FILE: passwordFile }
    const r = await runBin('sstash', ['init', '--kdf', TEST_KDF_SPEC], { env })
    expect(r.code).toBe(0)
    expect(statSync(join(xdg, 'sstash')).mode & 0o777).toBe(0o700)
    expect(existsSync(join(xdg, 'sstash', 'stash.sstash'))).toBe(true)
    const elsewhere = await runBin('sstash', ['--stash', join(dir, 'no-such-dir', 'x.sstash'), 'init', '--kdf', TEST_KDF_SPEC], { env })
    expect(elsewhere.code).toBe(1)
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false)
  })
})

describe('sstash set and get', () => {
  it('stores piped stdin as raw bytes and prints them back unchanged', async () => {
    const { env } = await stashWith({})
    const value = 'line one\r\nline two\n  trailing spaces  \n'
    const set = await runBin('sstash', ['set', 'project/api/token'], { env, input: value })
    expect(set).toMatchObject({ code: 0, stdout: '', stderr: '' })
    const get = await runBin('sstash', ['get', 'project/api/token'], { env })
    expect(get).toMatchObject({ code: 0, stdout: value, stderr: '' })
  })

  it('adds no newline to a value when stdout is a pipe', async () => {
    const { env } = await stashWith({ token: 'abc' })
    const r = await runRaw(['get', 'token'], env)
    expect(r.stdout).toEqual(Buffer.from('abc'))
  })

  it('round-trips binary bytes through --file and get', async () => {
    const { env } = await stashWith({})
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    const file = join(dir, 'binary.bin')
    writeFileSync(file, bytes)
    expect((await runBin('sstash', ['set', 'blob', '--file', file], { env })).code).toBe(0)
    expect((await runRaw(['get', 'blob'], env)).stdout).toEqual(bytes)
  })

  it('refuses an empty stdin, storing nothing, and stores an empty value only with --allow-empty', async () => {
    const { path, env } = await stashWith({ kept: 'old' })
    const before = readFileSync(path)
    const r = await runBin('sstash', ['set', 'empty'], { env, input: '' })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('sstash: error: stdin is empty: nothing was stored at empty\nsstash: hint: check the command that gives the value; pass --allow-empty to store an empty value\n')
    expect(readFileSync(path)).toEqual(before)
    // `< /dev/null`, as a user would type it: the same refusal.
    const devNull = await runCommand('sh', ['-c', 'exec "$0" -- "$1" set kept < /dev/null', process.execPath, BIN.sstash], { env })
    expect(devNull.code).toBe(1)
    expect((await runBin('sstash', ['get', 'kept'], { env })).stdout).toBe('old')
    const emptyFile = join(dir, 'empty-value')
    writeFileSync(emptyFile, '')
    expect((await runBin('sstash', ['set', 'empty', '--file', emptyFile], { env })).stderr).toMatch(/^sstash: error: \S*empty-value is empty: nothing was stored at empty\n/)
    expect(await runBin('sstash', ['set', 'empty', '--allow-empty'], { env, input: '' })).toMatchObject({ code: 0, stderr: '' })
    expect(await runBin('sstash', ['get', 'empty'], { env })).toMatchObject({ code: 0, stdout: '' })
  })

  it('points to sstash init when the stash does not exist, before asking for a password', async () => {
    const path = join(dir, 'missing.sstash')
    const r = await runBin('sstash', ['--stash', path, 'get', 'a'])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(`sstash: error: no stash at ${path}\nsstash: hint: did you mean \`sstash init\`? (or pass --stash <path>, or set SSTASH_FILE)\n`)
  })

  it('exits 4 on a wrong password, in one line, leaving the stash unchanged', async () => {
    const { path } = await stashWith({ a: 'secret-value' })
    const before = readFileSync(path)
    const r = await runBin('sstash', ['set', 'a'], { env: { SSTASH_FILE: path, SSTASH_PASSWORD: 'wrong' }, input: 'new' })
    expect(r.code).toBe(4)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^sstash: error: /)
    expect(r.stderr).not.toContain('secret-value')
    expect(readFileSync(path)).toEqual(before)
  })

  it('exits 3 for a missing key and for a key that holds no value', async () => {
    const { env } = await stashWith({ 'a/b': '1' })
    const missing = await runBin('sstash', ['get', 'a/x'], { env })
    expect(missing.code).toBe(3)
    expect(missing.stderr).toBe('sstash: error: key a/x was not found in the stash\nsstash: hint: `sstash ls a` lists what a holds\n')
    const interior = await runBin('sstash', ['get', 'a'], { env })
    expect(interior.code).toBe(3)
    expect(firstLine(interior.stderr)).toBe('sstash: error: key a holds no value')
  })

  it('exits 2 for bad key-path syntax, with a hint on escapes', async () => {
    const { env } = await stashWith({})
    for (const bad of ['a//b', 'a\\q', 'tail\\', 'x\\e']) {
      const r = await runBin('sstash', ['set', bad], { env, input: 'v' })
      expect(r.code, bad).toBe(2)
      expect(firstLine(r.stderr)).toMatch(/^sstash: error: invalid key path /)
      expect(r.stderr).toContain('sstash: hint: segments are joined by /; write \\/ for a / inside a name, \\\\ for \\, \\e for an empty name')
    }
    expect((await runBin('sstash', ['set', '/'], { env, input: 'v' })).code).toBe(2)
  })

  it('prefers --stash over SSTASH_FILE', async () => {
    const one = await stashWith({ which: 'one' })
    const two = await stashWith({ which: 'two' })
    const r = await runBin('sstash', ['--stash', two.path, 'get', 'which'], { env: one.env })
    expect(r.stdout).toBe('two')
  })
})

describe('sstash ls and tree', () => {
  it('draws the tutorial tree as tree(1) does, names only', async () => {
    const { env } = await stashWith({ 'a/b/c': 'hello', 'a/b/d': 'bye', 'a/e': 'chocolate' })
    const r = await runBin('sstash', ['tree'], { env })
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(r.stdout).toBe('a\n├── b\n│   ├── c\n│   └── d\n└── e\n')
    expect(r.stdout).not.toContain('hello')
    const sub = await runBin('sstash', ['tree', 'a/b', '--values'], { env })
    expect(sub.stdout).toBe('a/b\n├── c : "hello"\n└── d : "bye"\n')
  })

  it('lists children as full key paths, with / after those that have children', async () => {
    const { env } = await stashWith({ 'a/b/c': 'hello', 'a/e': 'chocolate' })
    expect((await runBin('sstash', ['ls'], { env })).stdout).toBe('a/\n')
    expect((await runBin('sstash', ['ls', 'a'], { env })).stdout).toBe('a/b/\na/e\n')
    expect((await runBin('sstash', ['ls', 'a', '--values'], { env })).stdout).toBe('a/b/\na/e : "chocolate"\n')
    expect((await runBin('sstash', ['ls', 'a/e'], { env })).stdout).toBe('a/e\n')
    const missing = await runBin('sstash', ['ls', 'nope'], { env })
    expect(missing.code).toBe(3)
  })

  it('prints JSON for programs, values only with --values', async () => {
    const { env } = await stashWith({ 'a/b': 'x', 'a/bin': new Uint8Array([0xff, 0]) })
    const ls = JSON.parse((await runBin('sstash', ['ls', 'a', '--json'], { env })).stdout)
    expect(ls).toEqual([
      { name: 'b', key: ['a', 'b'], path: 'a/b', hasValue: true, childCount: 0 },
      { name: 'bin', key: ['a', 'bin'], path: 'a/bin', hasValue: true, childCount: 0 },
    ])
    const tree = JSON.parse((await runBin('sstash', ['tree', '--json', '--values'], { env })).stdout)
    expect(tree.path).toBe('/')
    expect(tree.children[0].children[0]).toMatchObject({ name: 'b', value: 'x', valueBase64: 'eA==' })
    expect(tree.children[0].children[1]).toEqual({ name: 'bin', key: ['a', 'bin'], path: 'a/bin', hasValue: true, valueBase64: '/wA=', children: [] })
  })

  it('prints names with /, \\, empty, control and unicode segments so they paste back', async () => {
    const values: Record<string, string> = {
      'with/slash': 'v1',
      'back\\slash': 'v2',
      'tab\there': 'v4',
      'unicodé 密码 🔑': 'v5',
      'dash-r': 'v6',
      '007': 'v7',
    }
    const { path, env } = fresh()
    const stash = await makeStash(path, PASSWORD)
    await stash.update((tree) => {
      for (const [name, value] of Object.entries(values)) tree.write(['top', name], new TextEncoder().encode(value))
      tree.write(['top', '', 'deep'], new TextEncoder().encode('v3'))
    })
    const found: Record<string, string> = {}
    const walk = async (keypath: string): Promise<void> => {
      const r = await runBin('sstash', ['ls', keypath], { env })
      expect(r.code, keypath).toBe(0)
      for (const line of r.stdout.split('\n').filter(Boolean)) {
        if (line.endsWith('/')) await walk(line)
        else found[line] = (await runBin('sstash', ['get', line], { env })).stdout
      }
    }
    await walk('top')
    expect(found).toEqual({
      'top/with\\/slash': 'v1',
      'top/back\\\\slash': 'v2',
      'top/\\e/deep': 'v3',
      'top/tab\\x09here': 'v4',
      'top/unicodé 密码 🔑': 'v5',
      'top/dash-r': 'v6',
      'top/007': 'v7',
    })
    expect((await runBin('sstash', ['tree', 'top'], { env })).stdout).toBe(
      'top\n├── \\e\n│   └── deep\n├── 007\n├── back\\\\slash\n├── dash-r\n├── tab\\x09here\n├── unicodé 密码 🔑\n└── with\\/slash\n',
    )
  })

  it('prints a top-level name that starts with - so that it pastes back as a key, not an option', async () => {
    const { env } = await stashWith({ '-r': 'dash' })
    const ls = await runBin('sstash', ['ls'], { env })
    expect(ls.stdout).toBe('\\x2dr\n')
    expect((await runBin('sstash', ['get', ls.stdout.trim()], { env })).stdout).toBe('dash')
  })

  it('prints nothing for an empty stash', async () => {
    const { env } = await stashWith({})
    expect(await runBin('sstash', ['tree'], { env })).toMatchObject({ code: 0, stdout: '', stderr: '' })
    expect(await runBin('sstash', ['ls'], { env })).toMatchObject({ code: 0, stdout: '', stderr: '' })
  })
})

describe('sstash rm and mv', () => {
  it('needs -r to remove a key that has children', async () => {
    const { path, env } = await stashWith({ 'a/b': '1', 'a/c': '2', d: '3' })
    const before = readFileSync(path)
    const r = await runBin('sstash', ['rm', 'a'], { env })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('sstash: error: key a has children\nsstash: hint: `sstash rm -r a` removes it with everything below it\n')
    expect(readFileSync(path)).toEqual(before)
    expect(await runBin('sstash', ['rm', '-r', 'a'], { env })).toMatchObject({ code: 0, stdout: '', stderr: '' })
    expect(await runBin('sstash', ['rm', 'd'], { env })).toMatchObject({ code: 0, stdout: '', stderr: '' })
    expect((await runBin('sstash', ['ls'], { env })).stdout).toBe('')
    expect((await runBin('sstash', ['rm', 'd'], { env })).code).toBe(3)
  })

  it('empties the whole stash (rm -r /) only with --yes when there is no terminal to ask on, and never suggests it', async () => {
    const { path, env } = await stashWith({ 'a/b': '1', c: '2' })
    const before = readFileSync(path)
    const plain = await runBin('sstash', ['rm', '/'], { env })
    expect(plain.code).toBe(1)
    expect(plain.stderr).not.toContain('rm -r /')
    expect(plain.stderr).toBe('sstash: error: the root holds every key of the stash\nsstash: hint: `sstash ls` lists them; remove each with `sstash rm -r <keypath>`\n')
    for (const root of ['/', '']) {
      const r = await runBin('sstash', ['rm', '-r', root], { env })
      expect(r.code).toBe(2)
      expect(r.stderr).toBe(`sstash: error: refusing to remove every key of ${path} (2 top-level keys: a, c) without a question\nsstash: hint: there is no terminal to ask on: pass --yes if that is what you want\n`)
      expect(readFileSync(path)).toEqual(before)
    }
    expect(await runBin('sstash', ['rm', '-r', '--yes', '/'], { env })).toMatchObject({ code: 0, stderr: `sstash: removed every key of ${path}\n` })
    expect((await runBin('sstash', ['ls'], { env })).stdout).toBe('')
  })

  it('reads a number-like key after -r as the key it is', async () => {
    const { env } = await stashWith({ '007/x': '1', '7/x': '2' })
    expect((await runBin('sstash', ['rm', '-r', '007'], { env })).code).toBe(0)
    expect((await runBin('sstash', ['ls'], { env })).stdout).toBe('7/\n')
  })

  it('moves a subtree, and refuses to overwrite', async () => {
    const { env } = await stashWith({ 'a/b': '1', 'c/d': '2' })
    expect(await runBin('sstash', ['mv', 'a', 'x\\/y'], { env })).toMatchObject({ code: 0, stdout: '', stderr: '' })
    expect((await runBin('sstash', ['get', 'x\\/y/b'], { env })).stdout).toBe('1')
    const exists = await runBin('sstash', ['mv', 'x\\/y', 'c'], { env })
    expect(exists.code).toBe(1)
    expect(exists.stderr).toBe('sstash: error: key c already exists\n')
    expect((await runBin('sstash', ['mv', 'nope', 'z'], { env })).code).toBe(3)
  })
})

describe('sstash passwd and migrate', () => {
  it('changes the password and the key derivation, keeping the values', async () => {
    const { path, env } = await stashWith({ 'a/b': 'kept' })
    const newFile = join(dir, 'new-password')
    writeFileSync(newFile, 'a new password', { mode: 0o600 })
    const r = await runBin('sstash', ['passwd', '--kdf', 'scrypt:N=2048,r=8,p=1'], { env: { ...env, SSTASH_NEW_PASSWORD_FILE: newFile } })
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: `${weakKdf('scrypt:N=2048,r=8,p=1')}sstash: changed the password of ${path}\n` })
    expect((await runBin('sstash', ['get', 'a/b'], { env })).code).toBe(4)
    expect((await runBin('sstash', ['get', 'a/b'], { env: { SSTASH_FILE: path, SSTASH_PASSWORD: 'a new password' } })).stdout).toBe('kept')
    expect((await runBin('sstash', ['doctor'], { env })).stdout).toContain('key derivation scrypt:N=2048,r=8,p=1')
  })

  it('refuses an empty new password and changes nothing', async () => {
    const { path, env } = await stashWith({ a: '1' })
    const before = readFileSync(path)
    const r = await runBin('sstash', ['passwd'], { env: { ...env, SSTASH_NEW_PASSWORD_FILE: join(dir, 'empty-new') } })
    expect(r.code).toBe(5)
    writeFileSync(join(dir, 'empty-new'), '', { mode: 0o600 })
    const empty = await runBin('sstash', ['passwd'], { env: { ...env, SSTASH_NEW_PASSWORD_FILE: join(dir, 'empty-new') } })
    expect(empty.code).toBe(1)
    expect(empty.stderr).toBe('sstash: error: the password is empty; nothing was changed\n')
    expect(readFileSync(path)).toEqual(before)
  })

  it('migrates a Python-format stash to the native format, keeping every value and the password', async () => {
    const path = join(dir, 'python.sstash')
    copyFileSync(join(ROOT, 'test/fixtures/python-sstash/tutorial-tree.sstash'), path)
    chmodSync(path, 0o600)
    const env = { SSTASH_FILE: path, SSTASH_PASSWORD: PASSWORD }
    const before = await runBin('sstash', ['tree', '--json', '--values'], { env })
    expect(before.code).toBe(0)
    const doctorBefore = await runBin('sstash', ['doctor'], { env })
    expect(doctorBefore.stdout).toContain('Python sstash 0.17 format')
    expect(doctorBefore.stdout).toContain('  fix: sstash migrate')
    const r = await runBin('sstash', ['migrate', '--kdf', TEST_KDF_SPEC], { env })
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: `${weakKdf(TEST_KDF_SPEC)}sstash: migrated ${path} to the native format; the password is unchanged\n` })
    expect((await runBin('sstash', ['tree', '--json', '--values'], { env })).stdout).toBe(before.stdout)
    expect((await runBin('sstash', ['doctor'], { env })).stdout).toContain(`ok: native format, key derivation ${TEST_KDF_SPEC}`)
    const again = await runBin('sstash', ['migrate'], { env })
    expect(again).toMatchObject({ code: 0, stderr: `sstash: ${path} is already in the native format; nothing to do\n` })
  })

  it('refuses to migrate to a key derivation that is not scrypt', async () => {
    const { env } = await stashWith({})
    const r = await runBin('sstash', ['migrate', '--kdf', 'pbkdf2-sha512'], { env })
    expect(r.code).toBe(2)
  })
})

describe('sstash doctor', () => {
  it('reports loose permissions, a weak key derivation and a stale lock, and says how to fix them', async () => {
    const { path } = await stashWith({ a: 'secret-value' })
    chmodSync(path, 0o644)
    // A process id that cannot be running, on this host: the lock's writer is gone.
    writeFileSync(`${path}.lock`, `2147483646\n${hostname()}\nabc\n`)
    const r = await runBin('sstash', ['--stash', path, 'doctor'], { env: { PATH: process.env.PATH ?? '' } })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('')
    expect(r.stdout).toContain(`stash: ${path}\n`)
    expect(r.stdout).toContain(`problem: ${path} has mode 0644: other users can read the encrypted stash and try passwords offline\n  fix: chmod 600 ${path}\n`)
    expect(r.stdout).toContain(`warning: the key derivation ${TEST_KDF_SPEC} is weak`)
    expect(r.stdout).toContain('  fix: sstash passwd --kdf scrypt\n')
    expect(r.stdout).toContain(`warning: stale lock ${path}.lock left by process 2147483646`)
    expect(r.stdout).toContain(`  fix: rm ${path}.lock\n`)
    expect(r.stdout).not.toContain('secret-value')
  })

  it('finds the three binaries on PATH, or says how to get them', async () => {
    const { path } = await stashWith({})
    const bin = join(dir, 'fake-bin')
    mkdirSync(bin)
    for (const name of ['sstash', 'git-credential-sstash']) writeFileSync(join(bin, name), '#!/bin/sh\n', { mode: 0o755 })
    const r = await runBin('sstash', ['--stash', path, 'doctor'], { env: { PATH: bin } })
    expect(r.stdout).toContain(`ok: sstash is on PATH (${join(bin, 'sstash')})`)
    expect(r.stdout).toContain(`ok: git-credential-sstash is on PATH (${join(bin, 'git-credential-sstash')})`)
    expect(r.stdout).toContain("warning: sstash-run is not on PATH\n  fix: npm install -g sstash (or add the package's bin directory to PATH)")
  })

  it('says to run sstash init when there is no stash', async () => {
    const path = join(dir, 'nothing-here.sstash')
    const r = await runBin('sstash', ['--stash', path, 'doctor'])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`problem: no stash at ${path}\n  fix: sstash init (or pass --stash <path>, or set SSTASH_FILE)\n`)
  })

  it('passes a healthy stash', async () => {
    const { path } = await stashWith({})
    const bin = join(dir, 'all-bin')
    mkdirSync(bin)
    for (const name of ['sstash', 'git-credential-sstash', 'sstash-run']) writeFileSync(join(bin, name), '#!/bin/sh\n', { mode: 0o755 })
    // Only a strong key derivation passes, so this stash is re-keyed at the default cost once.
    const strong = join(dir, 'strong-password')
    writeFileSync(strong, PASSWORD)
    expect((await runBin('sstash', ['--stash', path, 'passwd', '--kdf', 'scrypt'], { env: { SSTASH_PASSWORD_FILE: passwordFile, SSTASH_NEW_PASSWORD_FILE: strong } })).code).toBe(0)
    // A HOME of its own: a ~/.git-credentials of the machine's would be a finding.
    const r = await runBin('sstash', ['--stash', path, 'doctor'], { env: { PATH: bin, HOME: bin, XDG_CONFIG_HOME: undefined } })
    expect(r.stdout).not.toMatch(/^(warning|problem):/m)
    expect(r.code).toBe(0)
  })
})

describe('option values and arguments reach the commands exactly as typed', () => {
  /** A fresh working directory holding a stash `s` with `values`, and the env that unlocks it. */
  async function workdir(values: Record<string, string> = {}) {
    const cwd = join(dir, `exact-${++counter}`)
    mkdirSync(cwd)
    await makeStash(join(cwd, 's'), PASSWORD, values)
    return { cwd, env: { SSTASH_FILE: join(cwd, 's'), SSTASH_PASSWORD_FILE: passwordFile } }
  }
  const sstash = (args: string[], where: { cwd: string; env: Record<string, string> }, input?: string) => runBin('sstash', args, { ...where, input })
  // A stash fingerprinted by the leak guard, with the guard's state in the work folder.
  const guardUser = async (values: Record<string, string>) => {
    const where = await workdir(values)
    const guarded = { cwd: where.cwd, env: { ...where.env, XDG_STATE_HOME: join(where.cwd, 'state') } }
    expect((await sstash(['guard', 'refresh'], guarded)).code).toBe(0)
    return guarded
  }
  const refusedAs = async (args: string[], shown: string) => {
    const r = await sstash(args, await workdir())
    expect(r.stderr, args.join(' ')).toContain(shown)
  }

  // A team stash at SSTASH_FILE's place, opened with a fresh age identity (none without age-keygen:
  // the team checks then pass vacuously, as test/cli/team.test.ts skips).
  const teamUser = (where: { cwd: string; env: Record<string, string> }) => {
    const key = join(where.cwd, 'identity')
    if (spawnSync('age-keygen', ['-o', key]).status !== 0) return undefined
    return { cwd: where.cwd, env: { SSTASH_FILE: join(where.cwd, 'team.sstash'), SSTASH_IDENTITY_FILE: key, XDG_STATE_HOME: join(where.cwd, 'state') } }
  }
  const teamAs = async (init: string[], ...listed: string[]) => {
    const where = teamUser(await workdir())
    if (!where) return
    expect((await sstash(init, where)).code).toBe(0)
    const ls = (await sstash(['team', 'ls'], where)).stdout
    for (const line of listed) expect(ls).toContain(line)
  }

  // One check per option that takes a value and per argument of every command, each with a value
  // that cac's own parser would have turned into a number (007 -> 7, 0x10 -> 16, 1e3 -> 1000).
  const checks: Record<string, () => Promise<void>> = {
    '--stash': async () => {
      const where = await workdir()
      for (const [args, name] of [[['--stash', '007'], '007'], [['--stash=1e3'], '1e3'], [['--stash', '0x10'], '0x10']] as const) {
        expect((await sstash([...args, 'init', '--kdf', TEST_KDF_SPEC], where)).code).toBe(0)
        expect(existsSync(join(where.cwd, name)), name).toBe(true)
      }
      for (const wrong of ['7', '1000', '16']) expect(existsSync(join(where.cwd, wrong)), wrong).toBe(false)
    },
    'init --kdf': () => refusedAs(['init', '--kdf', '0x10'], 'invalid --kdf "0x10"'),
    'passwd --kdf': () => refusedAs(['passwd', '--kdf=1e3'], 'invalid --kdf "1e3"'),
    'migrate --kdf': () => refusedAs(['migrate', '--kdf', '007'], 'invalid --kdf "007"'),
    'set --file': async () => {
      const where = await workdir()
      writeFileSync(join(where.cwd, '007'), 'from 007')
      writeFileSync(join(where.cwd, '7'), 'from 7')
      expect((await sstash(['set', 'k', '--file', '007'], where)).code).toBe(0)
      expect((await sstash(['get', 'k'], where)).stdout).toBe('from 007')
    },
    'set <keypath>': async () => {
      const where = await workdir()
      expect((await sstash(['set', '1e3'], where, 'v')).code).toBe(0)
      expect((await sstash(['ls'], where)).stdout).toBe('1e3\n')
    },
    'get <keypath>': async () => {
      const where = await workdir({ '0x10': 'sixteen?', '16': 'no' })
      expect((await sstash(['get', '0x10'], where)).stdout).toBe('sixteen?')
    },
    'ls [keypath]': async () => {
      const where = await workdir({ '007/x': '1', '7/y': '2' })
      expect((await sstash(['ls', '007'], where)).stdout).toBe('007/x\n')
    },
    'tree [keypath]': async () => {
      const where = await workdir({ '1e3/x': '1', '1000/y': '2' })
      expect((await sstash(['tree', '1e3'], where)).stdout).toBe('1e3\n└── x\n')
    },
    'rm <keypath>': async () => {
      const where = await workdir({ '0x10': '1', '16': '2' })
      expect((await sstash(['rm', '0x10'], where)).code).toBe(0)
      expect((await sstash(['ls'], where)).stdout).toBe('16\n')
    },
    'mv <from>': async () => {
      const where = await workdir({ '007': '1', '7': '2' })
      expect((await sstash(['mv', '007', '010'], where)).code).toBe(0)
      expect((await sstash(['ls'], where)).stdout).toBe('010\n7\n')
    },
    'mv <to>': async () => {
      const where = await workdir({ a: '1' })
      expect((await sstash(['mv', 'a', '1e3'], where)).code).toBe(0)
      expect((await sstash(['ls'], where)).stdout).toBe('1e3\n')
    },
    'import [file]': async () => {
      const where = await workdir()
      writeFileSync(join(where.cwd, '007'), 'A=from-007\n')
      writeFileSync(join(where.cwd, '7'), 'A=from-7\n')
      expect((await sstash(['import', '007', '--into', 'p'], where)).code).toBe(0)
      expect((await sstash(['get', 'p/A'], where)).stdout).toBe('from-007')
    },
    'import --into': async () => {
      const where = await workdir()
      writeFileSync(join(where.cwd, 'e'), 'A=1\n')
      expect((await sstash(['import', 'e', '--into', '0123'], where)).code).toBe(0)
      expect((await sstash(['ls'], where)).stdout).toBe('0123/\n')
    },
    'import --format': () => refusedAs(['import', 'e', '--format', '007'], 'unknown import format "007"'),
    'import --writeRefs': async () => {
      const where = await workdir()
      writeFileSync(join(where.cwd, 'e'), 'A=1\n')
      expect((await sstash(['import', 'e', '--into', 'p', '--write-refs', '0x10'], where)).code).toBe(0)
      expect(readFileSync(join(where.cwd, '0x10'), 'utf8')).toBe('A=sstash://p/A\n')
      expect(existsSync(join(where.cwd, '16'))).toBe(false)
    },
    'import --allow': async () => {
      const where = await workdir()
      writeFileSync(join(where.cwd, 'e'), 'NODE_OPTIONS=--max-old-space-size=100\n')
      const refused = await sstash(['import', 'e', '--into', 'p', '--write-refs', 'refs'], where)
      expect(refused.stderr).toContain('NODE_OPTIONS: can make programs run other code')
      expect((await sstash(['ls'], where)).stdout).toBe('')
      expect((await sstash(['import', 'e', '--into', 'p', '--write-refs', 'refs', '--allow=NODE_OPTIONS'], where)).code).toBe(0)
      expect(readFileSync(join(where.cwd, 'refs'), 'utf8')).toBe('NODE_OPTIONS=sstash://p/NODE_OPTIONS\n')
    },
    'export [keypath]': async () => {
      const where = await workdir({ '007/TOKEN': 'seven', '7/TOKEN': 'no' })
      expect((await sstash(['export', '007'], where)).stdout).toBe('TOKEN=seven\n')
    },
    'export --format': () => refusedAs(['export', 'p', '--format', '1e3'], 'unknown export format "1e3"'),
    'export --envFile': async () => {
      const where = await workdir({ '007/TOKEN': 'seven' })
      writeFileSync(join(where.cwd, '1e3'), 'TOKEN=sstash://007/TOKEN\nN=1e3\n')
      writeFileSync(join(where.cwd, '1000'), 'TOKEN=no\n')
      expect((await sstash(['export', '--env-file', '1e3'], where)).stdout).toBe('TOKEN=seven\nN=1e3\n')
      expect((await sstash(['export', '--env-file=1e3'], where)).stdout).toBe('TOKEN=seven\nN=1e3\n')
    },
    'export --prefix': async () => {
      const r = await sstash(['export', 'p', '--prefix', '007'], await workdir({ 'p/TOKEN': 'v' }))
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain('007TOKEN')
    },
    'export --allow': async () => {
      const where = await workdir({ 'p/NODE_OPTIONS': '--max-old-space-size=100' })
      expect((await sstash(['export', 'p', '--allow', 'NODE_OPTIONS'], where)).stdout).toBe('NODE_OPTIONS=--max-old-space-size=100\n')
      expect((await sstash(['export', 'p', '--allow=NODE_OPTIONS'], where)).stdout).toBe('NODE_OPTIONS=--max-old-space-size=100\n')
    },
    'unlock --timeout': () => refusedAs(['unlock', '--timeout', '0x10'], "bad duration '0x10'"),
    'team [action]': () => refusedAs(['team', '007'], 'unknown team command "007"'),
    'generate <keypath>': async () => {
      const where = await workdir({ '7': 'x' })
      expect((await sstash(['generate', '007'], where)).code).toBe(0)
      expect((await sstash(['ls'], where)).stdout).toBe('007\n7\n')
    },
    'generate --length': () => refusedAs(['generate', 'k', '--length', '1e3'], '--length "1e3" is not a whole number'),
    'generate --charset': async () => {
      const where = await workdir()
      expect((await sstash(['generate', 'k', '--charset', '007', '--print'], where)).stdout).toMatch(/^[07]{32}$/)
    },
    'completion <shell>': () => refusedAs(['completion', '007'], 'completion needs bash, zsh or fish, not "007"'),
    'git <action>': () => refusedAs(['git', '007'], 'unknown git command "007"'),
    'git [url]': () => refusedAs(['git', 'add', '007'], '"007" is not a URL such as https://alice@example.net'),
    'git --prefix': async () => {
      const where = await workdir({ '007/https/example.net/-/alice/password': 'tok' })
      expect((await sstash(['git', 'ls', '--prefix', '007'], where)).stdout).toBe('https://alice@example.net\tpassword\n')
    },
    'team [args]': async () => {
      const where = teamUser(await workdir())
      if (!where) return
      expect((await sstash(['team', 'init', '--as', 'me'], where)).code).toBe(0)
      expect((await sstash(['team', 'rm', '1e3'], where)).stderr).toContain('there is no member 1e3')
    },
    'team --as': () => teamAs(['team', 'init', '--as', '007', '--scope', '0x10=1e3/'], 'member 007 age1', 'scope 0x10 1e3 generation 1'),
    'team --scope': () => teamAs(['team', 'init', '--as', 'me', '--scope=0x10=007/'], 'scope 0x10 007 generation 1'),
    'team --key': async () => {
      const where = teamUser(await workdir())
      if (!where) return
      expect((await sstash(['team', 'init', '--as', 'me'], where)).code).toBe(0)
      expect((await sstash(['team', 'add', 'bob', '--key', '0x10'], where)).stderr).toContain('--key "0x10" is neither a key nor a readable file')
    },
    'team --fingerprint': async () => {
      const where = teamUser(await workdir())
      if (!where) return
      expect((await sstash(['team', 'init', '--as', 'me'], where)).code).toBe(0)
      expect((await sstash(['team', 'verify', '--fingerprint', '007'], where)).stderr).toMatch(/holds team [0-9a-f-]+, not 007\n/)
    },
    'team --signingKey': async () => {
      const where = teamUser(await workdir())
      if (!where) return
      expect((await sstash(['team', 'init', '--as', 'me'], where)).code).toBe(0)
      expect((await sstash(['team', 'verify', '--signing-key', '007'], where)).stderr).toMatch(/^sstash: error: --signing-key takes .* not "007"\n/)
      expect((await sstash(['team', 'verify', '--signing-key=1:0000-0000-0000-0000-0000'], where)).stderr).toContain("does not hold the team's signing key 1:0000-0000-0000-0000-0000")
    },
    'inject --inFile': async () => {
      const where = await workdir({ 'p/k': 'v' })
      writeFileSync(join(where.cwd, '007'), 'from 007: {{ sstash://p/k }}')
      writeFileSync(join(where.cwd, '7'), 'from 7')
      expect((await sstash(['inject', '--in-file', '007'], where)).stdout).toBe('from 007: v')
      expect((await sstash(['inject', '-i', '007'], where)).stdout).toBe('from 007: v')
    },
    'inject --outFile': async () => {
      const where = await workdir({ 'p/k': 'v' })
      writeFileSync(join(where.cwd, 'tpl'), '{{ sstash://p/k }}')
      expect((await sstash(['inject', '-i', 'tpl', '--out-file', '0x10'], where)).code).toBe(0)
      expect(readFileSync(join(where.cwd, '0x10'), 'utf8')).toBe('v')
      expect(existsSync(join(where.cwd, '16'))).toBe(false)
    },
    'agent [action]': () => refusedAs(['agent', '007'], "unknown agent command '007'"),
    'enroll [source]': () => refusedAs(['enroll', '007'], 'the source to enroll: "007"; give ssh-agent or keyring'),
    'enroll --remove': () => refusedAs(['enroll', '--remove', '007'], '--remove: "007"; give ssh-agent or keyring'),
    'enroll --key': () => refusedAs(['enroll', '--remove', 'ssh-agent', '--key', '007'], 'has no 007 enrolled'),
    'identity --import': () => refusedAs(['identity', '--import', '007'], 'cannot read 007: no such file or directory'),
    'guard <action>': () => refusedAs(['guard', '007'], 'unknown guard action "007"'),
    'guard [args]': async () => {
      const where = await guardUser({ 'p/k': 'a-value-of-twelve-chars' })
      writeFileSync(join(where.cwd, '007'), 'a-value-of-twelve-chars\n')
      expect((await sstash(['guard', 'scan', '007'], where)).stdout).toBe('007:1: p/k\n')
    },
    'guard --prePush': async () => {
      // Commit A is on the remote 007's branch, B is not: a push to 007 scans B alone.
      const where = await guardUser({ 'p/a': 'value-in-commit-a-0123', 'p/b': 'value-in-commit-b-0123' })
      const git = (...args: string[]) => spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: where.cwd, encoding: 'utf8' }).stdout.trim()
      git('init', '-q')
      writeFileSync(join(where.cwd, 'a.txt'), 'value-in-commit-a-0123\n')
      git('add', 'a.txt')
      git('commit', '-qm', 'a')
      git('update-ref', 'refs/remotes/007/main', 'HEAD')
      writeFileSync(join(where.cwd, 'b.txt'), 'value-in-commit-b-0123\n')
      git('add', 'b.txt')
      git('commit', '-qm', 'b')
      const pushed = `refs/heads/main ${git('rev-parse', 'HEAD')} refs/heads/new ${'0'.repeat(40)}\n`
      const result = await sstash(['guard', 'scan', '--pre-push', '007'], where, pushed)
      expect(result.stdout.replace(/^[0-9a-f]{12}:/gm, '')).toBe('b.txt:1: p/b\n')
    },
  }

  it('has a check for every option that takes a value and every argument of every command', async () => {
    const { buildCli } = await import('../../src/cli/sstash.js')
    const cli = buildCli()
    const wanted = [
      ...cli.globalCommand.options.filter((option) => option.isBoolean !== true).map((option) => `--${option.name}`),
      ...cli.commands.flatMap((command) => [
        ...command.options.filter((option) => option.isBoolean !== true).map((option) => `${command.name} --${option.name}`),
        ...command.args.map((arg) => `${command.name} ${arg.required ? `<${arg.value}>` : `[${arg.value}]`}`),
      ]),
    ]
    expect(Object.keys(checks).sort()).toEqual(wanted.sort())
  })

  it.each(Object.keys(checks))('passes %s on as typed', async (name) => {
    await checks[name]!()
  })

  it('takes an empty value for an error, not as the next argument', async () => {
    const r = await sstash(['--stash=', 'ls'], await workdir())
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('sstash: error: option --stash needs a value\nsstash: hint: `sstash ls --help` shows its usage\n')
  })

  it('takes -- after an option that needs a value for a forgotten value, not the file --', async () => {
    const r = await sstash(['ls', '--stash', '--'], await workdir())
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('sstash: error: option --stash needs a value\nsstash: hint: `sstash ls --help` shows its usage\n')
  })

  it('refuses an empty value given as the next argument, naming the option', async () => {
    const r = await sstash(['get', '--stash', '', 'a'], await workdir())
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('sstash: error: option --stash needs a value\nsstash: hint: `sstash get --help` shows its usage\n')
  })

  it('reads the words after -- as arguments, even when they look like options', async () => {
    const where = await workdir({ '-r': 'dash' })
    expect((await sstash(['get', '--', '-r'], where)).stdout).toBe('dash')
  })

  it('refuses a value for a flag', async () => {
    const r = await sstash(['ls', '--json=yes'], await workdir())
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('sstash: error: option --json takes no value\nsstash: hint: `sstash ls --help` shows its usage\n')
  })
})

describe('passwords and arguments are text', () => {
  /** Runs sstash through sh, so that arguments and variables can hold bytes that are not UTF-8 (`$'..'` is not POSIX: printf is). */
  const viaShell = (script: string, env: Record<string, string> = {}) =>
    runCommand('sh', ['-c', script], { env: { SSTASH: BIN.sstash, NODE: process.execPath, ...env } })

  it('refuses a password file that is not UTF-8, so two random key files never open each other’s stash', async () => {
    const { path } = fresh()
    // Each byte is a lone continuation byte: a lossy decoder would make both files 32 U+FFFD.
    const one = join(dir, 'key-one')
    const two = join(dir, 'key-two')
    writeFileSync(one, Buffer.from(Array.from({ length: 32 }, (_, i) => 0x80 + i)), { mode: 0o600 })
    writeFileSync(two, Buffer.from(Array.from({ length: 32 }, (_, i) => 0xa0 + i)), { mode: 0o600 })
    const r = await runBin('sstash', ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC], { env: { SSTASH_PASSWORD_FILE: one } })
    expect(r.code).toBe(5)
    expect(r.stderr).toBe(
      `sstash: error: SSTASH_PASSWORD_FILE ${one} is not valid UTF-8 text\nsstash: hint: a password is text; to use random bytes as one, store them base64-encoded (\`head -c 32 /dev/urandom | base64\`)\n`,
    )
    expect(existsSync(path)).toBe(false)
    // A stash made by the library with the lossy form of either file opens with neither.
    await makeStash(path, '\ufffd'.repeat(32))
    expect((await runBin('sstash', ['--stash', path, 'ls'], { env: { SSTASH_PASSWORD_FILE: two } })).code).toBe(5)
  })

  it('refuses an SSTASH_PASSWORD that is not UTF-8, and takes a real U+FFFD as itself', async () => {
    const { path } = await stashWith({ a: 'x' })
    const bad = await viaShell('SSTASH_PASSWORD=$(printf "pw\\377") exec "$NODE" "$SSTASH" --stash "$P" get a', { P: path })
    expect(bad.code).toBe(5)
    expect(bad.stderr).toBe('sstash: error: SSTASH_PASSWORD is not valid UTF-8 text\nsstash: hint: a password is text; to use random bytes as one, base64-encode them\n')
    const replacement = join(dir, 'replacement.sstash')
    await makeStash(replacement, 'pw\ufffd', { a: 'real U+FFFD' })
    const good = await viaShell('SSTASH_PASSWORD=$(printf "pw\\357\\277\\275") exec "$NODE" "$SSTASH" --stash "$P" get a', { P: replacement })
    expect(good).toMatchObject({ code: 0, stdout: 'real U+FFFD' })
  })

  it('refuses a key path argument that is not UTF-8, so u/\\xff\\xfe and u/\\xff\\xfd stay two keys', async () => {
    const { path, env } = await stashWith({})
    const r = await viaShell('printf v | "$NODE" "$SSTASH" set "$(printf "u/\\377\\376")"', env)
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('sstash: error: argument 2 ("u/\ufffd\ufffd") is not valid UTF-8\nsstash: hint: key paths and file names are UTF-8 text; `\\xHH` in a key path writes any character\n')
    const other = await viaShell('"$NODE" "$SSTASH" get "$(printf "u/\\377\\375")"', env)
    expect(other.code).toBe(2)
    // A real U+FFFD in a key path is text like any other.
    expect((await viaShell('printf v | "$NODE" "$SSTASH" set "$(printf "u/\\357\\277\\275")"', env)).code).toBe(0)
    expect((await runBin('sstash', ['--stash', path, 'ls', 'u'], { env })).stdout).toBe('u/\ufffd\n')
  })

  it('warns, as ssh does, about a password file other users can read, and still uses it', async () => {
    const { env } = await stashWith({ a: 'x' })
    const loose = join(dir, 'loose-password')
    writeFileSync(loose, PASSWORD)
    chmodSync(loose, 0o644)
    const r = await runBin('sstash', ['get', 'a'], { env: { ...env, SSTASH_PASSWORD_FILE: loose } })
    expect(r).toMatchObject({ code: 0, stdout: 'x' })
    expect(r.stderr).toBe(`sstash: warning: ${loose} (SSTASH_PASSWORD_FILE) is open to other users (mode 0644): run \`chmod 600 ${loose}\`\n`)
    chmodSync(loose, 0o600)
    expect((await runBin('sstash', ['get', 'a'], { env: { ...env, SSTASH_PASSWORD_FILE: loose } })).stderr).toBe('')
  })
})

describe('the agent after a password from a variable, and after passwd', () => {
  const runtime = agentRuntimeDir()
  const held = async (path: string) => {
    const status = JSON.parse((await runBin('sstash', ['agent', 'status', '--json'], { env: { XDG_RUNTIME_DIR: runtime } })).stdout) as { entries: { path: string }[] }
    return status.entries.some((entry) => entry.path === path)
  }
  /** Runs a binary with no terminal (a new session) and no password source but the agent. */
  const detached = (args: string[], input = '') =>
    runCommand('setsid', ['-w', ...args], { input, env: { XDG_RUNTIME_DIR: runtime, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } })

  it('does not cache a password from SSTASH_PASSWORD_FILE or SSTASH_PASSWORD: it is at hand next time anyway', async () => {
    const { path, env } = await stashWith({ a: 'x' })
    expect((await runBin('sstash', ['get', 'a'], { env: { ...env, XDG_RUNTIME_DIR: runtime } })).stdout).toBe('x')
    expect((await runBin('sstash', ['get', 'a'], { env: { SSTASH_FILE: path, SSTASH_PASSWORD: PASSWORD, XDG_RUNTIME_DIR: runtime } })).stdout).toBe('x')
    expect(await held(path)).toBe(false)
  })

  it('hands the agent the new key on passwd: it stays unlocked, and sstash get and git ask nothing', async () => {
    const { path, env } = await stashWith({ a: 'x' })
    const store = await runBin('git', ['--stash', path, 'store'], { input: 'protocol=https\nhost=passwd.example\nusername=u\npassword=tok\n', env })
    expect(store.code).toBe(0)
    expect((await runBin('sstash', ['--stash', path, 'unlock'], { env: { ...env, XDG_RUNTIME_DIR: runtime } })).code).toBe(0)
    const newFile = join(dir, 'passwd-new')
    writeFileSync(newFile, 'another long password', { mode: 0o600 })
    // The old password comes from the agent, the new one from the file.
    const changed = await runBin('sstash', ['--stash', path, 'passwd'], { env: { SSTASH_NEW_PASSWORD_FILE: newFile, XDG_RUNTIME_DIR: runtime } })
    expect(changed).toMatchObject({ code: 0, stderr: `sstash: changed the password of ${path}\n` })
    expect(await held(path)).toBe(true)
    expect(await detached([process.execPath, BIN.sstash, '--stash', path, 'get', 'a'])).toMatchObject({ code: 0, stdout: 'x' })
    const helper = `credential.helper=!"${process.execPath}" "${BIN.git}" --stash "${path}"`
    const fill = await detached(['git', '-c', 'credential.helper=', '-c', helper, 'credential', 'fill'], 'protocol=https\nhost=passwd.example\n\n')
    expect(fill).toMatchObject({ code: 0, stdout: 'protocol=https\nhost=passwd.example\nusername=u\npassword=tok\n', stderr: '' })
  })
})

describe('errors that say what to do', () => {
  it('names SSTASH_PASSWORD when there is no password, and the hint does not say it again', async () => {
    const { path } = await stashWith({ a: 'x' })
    const r = await runCommand('setsid', ['-w', process.execPath, BIN.sstash, '--stash', path, 'get', 'a'])
    expect(r.code).toBe(5)
    expect(r.stderr).toBe(
      `sstash: error: no password for ${path}: there is no terminal to ask on, and none of SSTASH_PASSWORD_FILE, SSTASH_PASSWORD, SSTASH_ASKPASS is set\n` +
        'sstash: hint: run `sstash unlock` in a terminal first, or set one of them\n',
    )
  })

  it('never hints to set a variable that is set: a password file that is not there is named as such', async () => {
    const { path } = await stashWith({ a: 'x' })
    const nope = join(dir, 'nope')
    const r = await runBin('sstash', ['--stash', path, 'get', 'a'], { env: { SSTASH_PASSWORD_FILE: nope } })
    expect(r.code).toBe(5)
    expect(r.stderr).toBe(
      `sstash: error: cannot read SSTASH_PASSWORD_FILE ${nope}: no such file or directory\nsstash: hint: point SSTASH_PASSWORD_FILE at a file you can read, or unset it to be asked\n`,
    )
    const helper = await runBin('git', ['--stash', path, 'get'], { input: 'protocol=https\nhost=h\n\n', env: { SSTASH_PASSWORD_FILE: nope } })
    expect(helper).toMatchObject({ code: 0, stdout: '' })
    expect(helper.stderr).toBe(
      `sstash: warning: cannot read SSTASH_PASSWORD_FILE ${nope}: no such file or directory\nsstash: hint: point SSTASH_PASSWORD_FILE at a file you can read, or unset it to be asked\n`,
    )
  })

  it('points sstash status to sstash agent status', async () => {
    const r = await runBin('sstash', ['status'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('sstash: error: unknown command "status"\nsstash: hint: did you mean `sstash agent status`?\n')
  })

  it('shows times in local time with the zone', async () => {
    const { path, env } = await stashWith({})
    const runtime = join(dir, 'tz-run')
    mkdirSync(runtime, { mode: 0o700 })
    try {
      for (const [zone, name] of [['America/New_York', /E[SD]T/], ['Asia/Kolkata', /UTC\+05:30/], ['UTC', /UTC/]] as const) {
        const r = await runBin('sstash', ['unlock'], { env: { ...env, TZ: zone, XDG_RUNTIME_DIR: runtime } })
        const shown = /until (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):\d\d (\S+) \(in 15m\)\n$/.exec(r.stderr)
        expect(shown, r.stderr).not.toBeNull()
        expect(shown![6]).toMatch(name)
        const json = JSON.parse((await runBin('sstash', ['agent', 'status', '--json'], { env: { XDG_RUNTIME_DIR: runtime } })).stdout)
        const expires = Date.parse(json.entries[0].expiresAt)
        const local = new Intl.DateTimeFormat('en-CA', { timeZone: zone, dateStyle: 'short', timeStyle: 'medium', hourCycle: 'h23' }).format(expires)
        expect(`${shown![1]}-${shown![2]}-${shown![3]}, ${shown![4]}:${shown![5]}`).toBe(local.slice(0, 17))
        const status = await runBin('sstash', ['agent', 'status'], { env: { TZ: zone, XDG_RUNTIME_DIR: runtime } })
        expect(status.stdout).toContain(`${path}\tunlocked until ${shown![1]}-${shown![2]}-${shown![3]} ${shown![4]}:${shown![5]}`)
      }
    } finally {
      await runBin('sstash', ['lock', '--all'], { env: { XDG_RUNTIME_DIR: runtime } })
    }
  })
})

describe('weak choices at init', () => {
  it('warns about a one-character password and a weak key derivation, as doctor does, and creates the stash', async () => {
    const { path } = fresh()
    const short = join(dir, 'short-password')
    writeFileSync(short, 'x', { mode: 0o600 })
    const r = await runBin('sstash', ['--stash', path, 'init', '--kdf', 'pbkdf2-sha512:iterations=1000'], { env: { SSTASH_PASSWORD_FILE: short } })
    expect(r.code).toBe(0)
    expect(r.stderr).toBe(
      weakKdf('pbkdf2-sha512:iterations=1000') +
        'sstash: warning: the password is only 1 character long: a stolen copy of the file is quick to guess (use 8 or more, or several words)\n' +
        `sstash: created ${path}\n`,
    )
    const doctor = await runBin('sstash', ['--stash', path, 'doctor'])
    expect(doctor.stdout).toContain('warning: the key derivation pbkdf2-sha512:iterations=1000 is weak: a stolen copy of the file is cheap to attack')
  })

  it('says nothing about a long password and the default key derivation', async () => {
    const { path } = fresh()
    // The default costs about half a second: one run.
    const r = await runBin('sstash', ['--stash', path, 'init'], { env: { SSTASH_PASSWORD_FILE: passwordFile } })
    expect(r).toMatchObject({ code: 0, stderr: `sstash: created ${path}\n` })
  })
})

describe('leaving no plain text behind', () => {
  it('imports the good lines of a git-credentials file, names the others by number, and says how many', async () => {
    const { env } = await stashWith({})
    const file = join(dir, 'git-credentials-mixed')
    writeFileSync(file, 'https://alice:s3cret@github.com\nhttps://nopassword@gitlab.com\n\nnot a url at all\nhttps://alice:later@github.com\nhttps://bob:tok@git.example.com:8443\n')
    const r = await runBin('sstash', ['import', file, '--format', 'git-credentials'], { env })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `sstash: warning: line 2 of ${file}: no password; not imported\n` +
        `sstash: warning: line 4 of ${file}: not a credential URL; not imported\n` +
        `sstash: warning: line 5 of ${file}: the same host and user as line 1, which git uses; not imported\n` +
        'sstash: imported 2 credentials into the git layout; 3 lines not imported\n' +
        `sstash: hint: ${file} still holds these passwords in plain text: add --remove-source, or \`rm ${file}\`\n`,
    )
    expect(r.stderr).not.toContain('nopassword')
    expect((await runBin('sstash', ['ls', 'git/https'], { env })).stdout).toBe('git/https/git.example.com:8443/\ngit/https/github.com/\n')
    expect((await runBin('sstash', ['get', 'git/https/github.com/-/alice/password'], { env })).stdout).toBe('s3cret')
  })

  it('rewrites the source with --remove-source to hold only the lines not imported, so no imported password stays in plain text', async () => {
    const { env } = await stashWith({})
    const file = join(dir, 'git-credentials-one-bad')
    writeFileSync(file, 'https://alice:tok-1@github.com\nhttps://bob:tok-2@gitlab.com\nnot a url at all\n\nhttps://carol:tok-3@git.example.com\n', { mode: 0o600 })
    const r = await runBin('sstash', ['import', file, '--format', 'git-credentials', '--remove-source'], { env })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `sstash: warning: line 3 of ${file}: not a credential URL; not imported\n` +
        'sstash: imported 3 credentials into the git layout; 1 line not imported\n' +
        `sstash: rewrote ${file} without the imported lines: it keeps only the 1 line not imported, in plain text\n`,
    )
    expect(readFileSync(file, 'utf8')).toBe('not a url at all\n')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    for (const [user, host, token] of [['alice', 'github.com', 'tok-1'], ['bob', 'gitlab.com', 'tok-2'], ['carol', 'git.example.com', 'tok-3']])
      expect((await runBin('sstash', ['get', `git/https/${host}/-/${user}/password`], { env })).stdout).toBe(token)
    // Fixed by hand, imported again: nothing is left, so the file goes.
    writeFileSync(file, 'https://dave:tok-4@example.org\n')
    const again = await runBin('sstash', ['import', file, '--format', 'git-credentials', '--remove-source'], { env })
    expect(again).toMatchObject({ code: 0, stderr: `sstash: imported 1 credential into the git layout\nsstash: removed ${file}\n` })
    expect(existsSync(file)).toBe(false)
  })

  it('removes the source with --remove-source once every line is in the stash, and offers it otherwise', async () => {
    const { env } = await stashWith({})
    const file = join(dir, 'git-credentials-good')
    writeFileSync(file, 'https://alice:s3cret@github.com\n')
    const offered = await runBin('sstash', ['import', file, '--format', 'git-credentials'], { env })
    expect(offered).toMatchObject({ code: 0, stdout: '' })
    expect(offered.stderr).toBe(
      `sstash: imported 1 credential into the git layout\nsstash: hint: ${file} still holds these passwords in plain text: add --remove-source, or \`rm ${file}\`\n`,
    )
    const removed = await runBin('sstash', ['import', file, '--format', 'git-credentials', '--remove-source'], { env })
    expect(removed).toMatchObject({ code: 0, stderr: `sstash: imported 1 credential into the git layout\nsstash: removed ${file}\n` })
    expect(existsSync(file)).toBe(false)
    expect((await runBin('sstash', ['get', 'git/https/github.com/-/alice/password'], { env })).stdout).toBe('s3cret')
  })

  it('refuses --remove-source for stdin and for a .env, before it writes anything', async () => {
    const { path, env } = await stashWith({})
    const before = readFileSync(path)
    const stdin = await runBin('sstash', ['import', '-', '--format', 'git-credentials', '--remove-source'], { env, input: 'https://a:b@h\n' })
    expect(stdin.code).toBe(2)
    expect(firstLine(stdin.stderr)).toBe('sstash: error: --remove-source needs a file, not stdin')
    const dotenv = join(dir, 'remove-me.env')
    writeFileSync(dotenv, 'A=1\n')
    const refused = await runBin('sstash', ['import', dotenv, '--into', 'p', '--remove-source'], { env })
    expect(refused.code).toBe(2)
    expect(firstLine(refused.stderr)).toBe('sstash: error: --remove-source is for --format git-credentials')
    expect(existsSync(dotenv)).toBe(true)
    expect(readFileSync(path)).toEqual(before)
  })

  it('has doctor find plaintext credentials, credential.helper store, and git not using sstash, each with a fix that works', async () => {
    const { path } = await stashWith({})
    const home = join(dir, 'doctor-git-home')
    mkdirSync(join(home, '.config', 'git'), { recursive: true })
    // Two passwords, and lines git-credential-store ignores: a comment, a URL with no password, a bad line.
    writeFileSync(join(home, '.git-credentials'), 'https://a:b@h\n# old tokens\nhttps://nopass@h\nnot a url\nhttps://c:d@h\n', { mode: 0o600 })
    writeFileSync(join(home, '.config', 'git', 'credentials'), 'https://e:f@h\n', { mode: 0o600 })
    const env = { HOME: home, XDG_CONFIG_HOME: undefined, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: undefined, SSTASH_PASSWORD_FILE: passwordFile }
    const git = (args: string[]) => runCommand('git', args, { env, cwd: home })
    expect((await git(['config', '--global', 'credential.helper', 'store'])).code).toBe(0)
    const doctor = () => runBin('sstash', ['--stash', path, 'doctor'], { env, cwd: home })
    const r = await doctor()
    expect(r.code).toBe(1)
    const gitconfig = join(home, '.gitconfig')
    expect(r.stdout).toContain(
      `warning: ${join(home, '.git-credentials')} holds 2 passwords in plain text (git-credential-store's file)\n` +
        `  fix: sstash import ${join(home, '.git-credentials')} --format git-credentials --remove-source\n` +
        `warning: ${join(home, '.config/git/credentials')} holds 1 password in plain text (git-credential-store's file)\n` +
        `  fix: sstash import ${join(home, '.config/git/credentials')} --format git-credentials --remove-source\n` +
        `warning: credential.helper is \`store\` (in ${gitconfig}): git asks every helper to store a password that worked, so each fetch writes it back in plain text\n` +
        `  fix: git config --file ${gitconfig} --unset-all credential.helper '^store$'\n` +
        'note: git does not use sstash for passwords (no credential.helper sstash)\n' +
        '  fix: git config --global credential.helper sstash\n',
    )
    // Each fix, run as printed, clears its finding.
    // (The import exits 1 for ~/.git-credentials: three of its lines are no credential, and stay there alone.)
    for (const fix of r.stdout.split('\n').filter((line) => line.startsWith('  fix: ') && /credential|sstash import/.test(line)))
      expect((await runCommand('sh', ['-c', fix.slice('  fix: '.length).replace(/^sstash /, '"$NODE" "$SSTASH" --stash "$P" ')], { env: { ...env, NODE: process.execPath, SSTASH: BIN.sstash, P: path }, cwd: home })).code, fix).toBe(fix.includes('.git-credentials') ? 1 : 0)
    expect(readFileSync(join(home, '.git-credentials'), 'utf8')).toBe('# old tokens\nhttps://nopass@h\nnot a url\n')
    const after = await doctor()
    expect(after.stdout).not.toMatch(/credentials|credential\.helper is/)
    expect(after.stdout).toContain('ok: git asks sstash for passwords\n')
  })
})
