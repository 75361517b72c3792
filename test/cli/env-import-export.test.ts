/**
 * `sstash import` and `sstash export` as a user runs them: a tricky `.env` goes in and comes
 * back out, in every format, through the built binary.
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import dotenv from 'dotenv'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SecureStash } from '../../src/index.js'
import { nameProblem } from '../../src/env/naming.js'
import { importDotenv } from '../../src/env/dotenv-import.js'
import { ROOT, TEST_KDF, makeStash, runBin, runCommand, tempDir } from '../helpers.js'

const dir = tempDir()
const PASSWORD = 'import export password'
const passwordFile = join(dir, 'password')
writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })
let counter = 0

async function freshStash(values: Record<string, string> = {}): Promise<Record<string, string>> {
  const path = join(dir, `s${++counter}.sstash`)
  await makeStash(path, PASSWORD, values)
  return { SSTASH_FILE: path, SSTASH_PASSWORD_FILE: passwordFile }
}

// Every kind of value the README promises survives the round trip.
const TRICKY_ENV = [
  '# a comment line',
  'PLAIN=value',
  'EMPTY=',
  'export EXPORTED=yes',
  'SPACED = around the equals  ',
  "SINGLE='it has \"double\" quotes and a # hash'",
  'DOUBLE="it\'s got single quotes, $DOLLARS and \\n a newline"',
  'MULTILINE="-----BEGIN KEY-----',
  'MIIBOgIBAAJBAK/=+',
  '-----END KEY-----"',
  "PADDED='  leading and trailing  '",
  'HASH=abc # this part is a comment',
  'QUOTED_HASH="abc # not a comment"',
  'EQUALS=a=b==c',
  'BACKSLASHES=C:\\Users\\me\\file',
  'UNICODE=héllo wörld 日本 😀',
  'BACKTICK=`it\'s "all" of them`',
  'CRLF="one\\r\\ntwo"',
  '',
].join('\n')

describe('import then export', () => {
  it('round-trips a tricky .env exactly through the dotenv format', async () => {
    const unlock = await freshStash()
    const file = join(dir, 'tricky.env')
    writeFileSync(file, TRICKY_ENV)
    const imported = await runBin('sstash', ['import', file, '--into', 'project/myapp'], { env: unlock })
    expect(imported.stderr).toBe('sstash: warning: DOUBLE holds ${...} references, stored as written: sstash-run does not expand them (import with --expand to expand them as dotenv run does)\nsstash: imported 15 variables into project/myapp\n')
    expect(imported.code).toBe(0)
    const exported = await runBin('sstash', ['export', 'project/myapp'], { env: unlock })
    expect(exported.code).toBe(0)
    expect(dotenv.parse(exported.stdout)).toEqual(dotenv.parse(TRICKY_ENV))
  })

  it('stores each variable below the key path, as its own key', async () => {
    const unlock = await freshStash({ 'project/myapp/OLD': 'kept' })
    const imported = await runBin('sstash', ['import', '-', '--into', 'project/myapp'], { env: unlock, input: 'A=1\nB="two words"\n' })
    expect(imported.code).toBe(0)
    const stash = await SecureStash.open(unlock.SSTASH_FILE as string, PASSWORD, { kdf: TEST_KDF, create: false })
    const values = Object.fromEntries((await stash.list(['project', 'myapp'])).map((e) => [e.key.join('/'), new TextDecoder().decode(e.value)]))
    expect(values).toEqual({ 'project/myapp/OLD': 'kept', 'project/myapp/A': '1', 'project/myapp/B': 'two words' })
  })

  it('exports json and shell that give the same values', async () => {
    const unlock = await freshStash()
    writeFileSync(join(dir, 'json.env'), TRICKY_ENV)
    await runBin('sstash', ['import', join(dir, 'json.env'), '--into', 'p'], { env: unlock })
    const expected = dotenv.parse(TRICKY_ENV)
    const json = await runBin('sstash', ['export', 'p', '--format', 'json'], { env: unlock })
    expect(JSON.parse(json.stdout)).toEqual(expected)
    const shell = await runBin('sstash', ['export', 'p', '--format', 'shell'], { env: unlock })
    const names = Object.keys(expected)
    const out = execFileSync('sh', ['-c', `eval "$1"; printf '%s\\0' ${names.map((n) => `"$${n}"`).join(' ')}`, 'sh', shell.stdout], { encoding: 'utf8' })
    expect(out.split('\0').slice(0, -1)).toEqual(Object.values(expected))
  })

  it('names variables as sstash-run does, with --prefix', async () => {
    const unlock = await freshStash({ 'p/DB/HOST': 'h', 'p/api-key': 'k' })
    const result = await runBin('sstash', ['export', 'p', '--prefix', 'APP_'], { env: unlock })
    expect(result.stdout).toBe('APP_DB_HOST=h\nAPP_api-key=k\n')
  })
})

describe('import and export failures', () => {
  it('refuses an export dotenv cannot read back, naming the key path, never the value', async () => {
    const unlock = await freshStash({ 'p/bad': ' trailing backslash secret\\' })
    const result = await runBin('sstash', ['export', 'p'], { env: unlock })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('p/bad')
    expect(result.stderr).not.toContain('secret')
    expect((await runBin('sstash', ['export', 'p', '--format', 'json'], { env: unlock })).code).toBe(0)
  })

  it('refuses a dangerous name on export unless allowed', async () => {
    const unlock = await freshStash({ 'p/NODE_OPTIONS': '--require x' })
    expect((await runBin('sstash', ['export', 'p', '--format', 'shell'], { env: unlock })).code).toBe(1)
    const allowed = await runBin('sstash', ['export', 'p', '--format', 'shell', '--allow', 'NODE_OPTIONS'], { env: unlock })
    expect(allowed.stdout).toBe("export NODE_OPTIONS='--require x'\n")
  })

  it.each([
    ['import without --into', ['import', 'x.env']],
    ['an unknown import format', ['import', 'x.env', '--into', 'p', '--format', 'yaml']],
    ['an unknown export format', ['export', 'p', '--format', 'xml']],
  ])('is a usage error: %s', async (_what, args) => {
    const result = await runBin('sstash', args, { env: await freshStash({ 'p/a': '1' }) })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^sstash: error: .*\nsstash: hint: /)
  })

  it('says which file it cannot read, and leaves the stash unchanged', async () => {
    const unlock = await freshStash({ 'p/a': '1' })
    const result = await runBin('sstash', ['import', join(dir, 'missing.env'), '--into', 'p'], { env: unlock })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`sstash: error: cannot read ${join(dir, 'missing.env')}: no such file or directory\n`)
    expect((await runBin('sstash', ['export', 'p'], { env: unlock })).stdout).toBe('a=1\n')
  })

  it('refuses a file that is not UTF-8', async () => {
    const file = join(dir, 'latin1.env')
    writeFileSync(file, Buffer.from([0x41, 0x3d, 0xe9, 0x0a]))
    const result = await runBin('sstash', ['import', file, '--into', 'p'], { env: await freshStash() })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`sstash: error: ${file} is not valid UTF-8\n`)
  })
})

describe('git-credentials import', () => {
  it('stores each credential in the git helper layout, in one write', async () => {
    const unlock = await freshStash()
    const result = await runBin('sstash', ['import', '-', '--format', 'git-credentials'], {
      env: unlock,
      input: 'https://alice:s3cret@example.com\nhttps://bob:p%40ss@git.example.org/team/repo.git\n',
    })
    expect(result.stderr).toBe('sstash: imported 2 credentials into the git layout\n')
    expect(result.code).toBe(0)
    const stash = await SecureStash.open(unlock.SSTASH_FILE as string, PASSWORD, { kdf: TEST_KDF, create: false })
    const values = (await stash.list(['git'])).map((e) => new TextDecoder().decode(e.value))
    expect(values).toContain('s3cret')
    expect(values).toContain('p@ss')
  })
})

describe('a .env goes in and comes out the same', () => {
  const printEnv = join(ROOT, 'test/fixtures/run/print-env.mjs')
  // A small environment of our own, so that no name of the test runner's meets a generated one.
  const bare: Record<string, string | undefined> = Object.fromEntries(Object.keys(process.env).map((k) => [k, undefined]))
  const base = { ...bare, PATH: process.env.PATH, LANG: 'C.UTF-8' }

  /** The environment the command sees, with its SSTASH_* variables left out. */
  const seen = (stdout: string): Record<string, string> =>
    Object.fromEntries(Object.entries(JSON.parse(stdout) as Record<string, string>).filter(([k]) => !k.startsWith('SSTASH_')))

  it('keeps http_proxy, nextAuthSecret and KEY-WITH-DASH as they were in the .env', async () => {
    const unlock = await freshStash()
    const imported = await runBin('sstash', ['import', '-', '--into', 'project/myapp'], { env: unlock, input: 'http_proxy=http://proxy:3128\nnextAuthSecret=s3cret-next\nKEY-WITH-DASH=dashed\n' })
    expect(imported.stderr).toBe('sstash: imported 3 variables into project/myapp\n')
    const run = await runBin('run', ['-k', 'project/myapp', '--', process.execPath, printEnv], { env: { ...unlock, ...base } })
    expect(seen(run.stdout)).toMatchObject({ http_proxy: 'http://proxy:3128', nextAuthSecret: 's3cret-next', 'KEY-WITH-DASH': 'dashed' })
    const exported = await runBin('sstash', ['export', 'project/myapp'], { env: unlock })
    expect(exported.stdout).toBe('http_proxy=http://proxy:3128\nnextAuthSecret=s3cret-next\nKEY-WITH-DASH=dashed\n')
  })

  const name = fc
    .oneof(fc.constantFrom('http_proxy', 'nextAuthSecret', 'KEY-WITH-DASH', 'a.b', 'DB_HOST', 'x'), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,5}$/))
    .filter((n) => nameProblem(n) === undefined && !Object.hasOwn(base, n) && n !== 'LANG')
  const value = fc.oneof(
    fc.string({ maxLength: 10 }).map((v) => v.replace(/[\0\n\r]/g, '')),
    fc.constantFrom('${DB_HOST}', '$x', '${MISSING:-fallback}', '${LANG}', '\\$literal', 'a # comment', "'single $x'", '"double\\n$x"', ' spaced ', '"multi\nline"'),
  )
  const line = fc.oneof(
    { weight: 5, arbitrary: fc.tuple(name, value).map(([n, v]) => `${n}=${v}`) },
    { weight: 1, arbitrary: fc.constantFrom('FOO BAR', '# comment', '', 'export x = 1') },
  )
  const text = fc.array(line, { minLength: 1, maxLength: 8 }).map((lines) => `${lines.join('\n')}\n`)
  const dotenvCli = join(ROOT, 'node_modules/dotenv-cli/cli.js')
  const loops = (source: string): boolean => {
    try {
      importDotenv(source, { into: ['p'], expand: true, env: {} })
      return false
    } catch {
      return true
    }
  }

  it.each([false, true])('gives the command what `dotenv -e .env --` gives it, for any .env (expand: %s, property, real binaries)', async (expanding) => {
    let round = 0
    await fc.assert(
      fc.asyncProperty(text, async (source) => {
        // A loop of references makes dotenv run grow a value until memory runs out; sstash import refuses it (tested on its own).
        if (expanding) fc.pre(!loops(source))
        const file = join(dir, `property-${expanding}-${++round}.env`)
        writeFileSync(file, source)
        const unlock = await freshStash({ 'project/keep': 'k' })
        const imported = await runBin('sstash', ['import', file, '--into', 'p', ...(expanding ? ['--expand'] : [])], { env: { ...unlock, ...base } })
        expect(imported.code, imported.stderr).toBe(0)
        const names = Object.keys(dotenv.parse(source))
        const ours = names.length === 0 ? {} : seen((await runBin('run', ['-k', 'p', '--', process.execPath, printEnv], { env: { ...unlock, ...base } })).stdout)
        const theirs = seen((await runCommand(process.execPath, [dotenvCli, '-e', file, ...(expanding ? [] : ['--no-expand']), '--', process.execPath, printEnv], { env: base })).stdout)
        for (const n of names) expect(ours[n], `${n} in ${JSON.stringify(source)}`).toBe(theirs[n])
      }),
      { numRuns: 8 },
    )
  }, 120_000)
})

describe('what sstash import says', () => {
  it('reports ignored lines, duplicates and which won, refused names and references, all at once, and imports the rest', async () => {
    const unlock = await freshStash()
    const input = 'A=1\nFOO BAR\nA=2\nLD_PRELOAD=/x.so\n1PASS=q\nURL=${HOST}/db\n'
    const result = await runBin('sstash', ['import', '-', '--into', 'p'], { env: unlock, input })
    expect(result.code).toBe(0)
    expect(result.stderr.split('\n')).toEqual([
      'sstash: warning: line 2 is not NAME=value: dotenv ignores it, so nothing was imported from it',
      'sstash: warning: A is set on lines 1 and 3: the value of line 3 was imported, as dotenv reads it',
      "sstash: warning: sstash-run will refuse LD_PRELOAD, one of the dynamic loader's variables, which can make programs run other code (pass --allow LD_PRELOAD to inject it anyway)",
      'sstash: warning: sstash-run will refuse 1PASS, which starts with a digit (give it a --prefix)',
      'sstash: warning: URL holds ${...} references, stored as written: sstash-run does not expand them (import with --expand to expand them as dotenv run does)',
      'sstash: imported 4 variables into p',
      '',
    ])
  })

  it('expands references with --expand, from the file and then the environment', async () => {
    const unlock = await freshStash()
    const result = await runBin('sstash', ['import', '-', '--into', 'p', '--expand'], { env: { ...unlock, DB_NAME: 'prod' }, input: 'HOST=db\nURL=postgres://${HOST}/${DB_NAME}\nPRICE=\\$5\n' })
    expect(result.stderr).toBe('sstash: imported 3 variables into p\n')
    expect((await runBin('sstash', ['export', 'p', '--format', 'json'], { env: unlock })).stdout).toBe('{\n  "HOST": "db",\n  "URL": "postgres://db/prod",\n  "PRICE": "$5"\n}\n')
  })

  it('refuses to expand a loop of references, and writes nothing', async () => {
    const unlock = await freshStash({ 'p/KEEP': 'kept' })
    const result = await runBin('sstash', ['import', '-', '--into', 'p', '--expand'], { env: unlock, input: 'A=1\nx=single $x\n', timeoutMs: 10_000 })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('sstash: error: cannot expand x: it refers to itself\nsstash: hint: import without --expand to store the values as written, or break the loop in the file\n')
    expect((await runBin('sstash', ['export', 'p'], { env: unlock })).stdout).toBe('KEEP=kept\n')
  })

  it('refuses a shell export of a name sh cannot assign, naming the key path', async () => {
    const unlock = await freshStash({ 'p/KEY-WITH-DASH': 'v' })
    const result = await runBin('sstash', ['export', 'p', '--format', 'shell'], { env: unlock })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('sstash: error: key p/KEY-WITH-DASH gives the variable KEY-WITH-DASH, which sh cannot assign (use --format dotenv or json)\n')
  })
})
