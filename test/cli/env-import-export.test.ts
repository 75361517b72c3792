/**
 * `sstash import` and `sstash export` as a user runs them: a tricky `.env` goes in and comes
 * back out, in every format, through the built binary.
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import dotenv from 'dotenv'
import { describe, expect, it } from 'vitest'
import { SecureStash } from '../../src/index.js'
import { TEST_KDF, makeStash, runBin, tempDir } from '../helpers.js'

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
    expect(imported.stderr).toBe('sstash: imported 15 variables into project/myapp\n')
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
    const unlock = await freshStash({ 'p/db/host': 'h', 'p/api-key': 'k' })
    const result = await runBin('sstash', ['export', 'p', '--prefix', 'APP_'], { env: unlock })
    expect(result.stdout).toBe('APP_DB_HOST=h\nAPP_API_KEY=k\n')
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
    expect((await runBin('sstash', ['export', 'p'], { env: unlock })).stdout).toBe('A=1\n')
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
