/**
 * Reference files through the binaries that take them: `sstash-run --env-file`, `sstash export
 * --env-file`, `sstash import --write-refs` and package.json's `"envFile"` under `npm start`.
 * Every group runs: each binary has had its option since the reference files shipped.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import dotenv from 'dotenv'
import { describe, expect, it } from 'vitest'
import { BIN, makeStash, runBin, runCommand, tempDir } from '../helpers.js'

const npmAvailable = spawnSync('npm', ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0

const dir = tempDir()
const PASSWORD = 'env file password'
const passwordFile = join(dir, 'password')
writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })
let counter = 0

const DB = 'postgres://app:a-long-db-password@db/app'
const TOKEN = 'tok-5f0c2a9e7b13d'

async function fresh(values: Record<string, string> = { 'project/db/URL': DB, 'project/api/TOKEN': TOKEN }): Promise<{ cwd: string; env: Record<string, string> }> {
  const cwd = join(dir, `case-${++counter}`)
  mkdirSync(cwd, { mode: 0o700 })
  const stash = join(cwd, 'test.sstash')
  await makeStash(stash, PASSWORD, values)
  return { cwd, env: { SSTASH_FILE: stash, SSTASH_PASSWORD_FILE: passwordFile } }
}

const ENV_SSTASH = 'PORT=3000\nDATABASE_URL=sstash://project/db/URL\nAPI_TOKEN="sstash://project/api/TOKEN"\n'
const printEnv = (...names: string[]): string[] => [process.execPath, '-e', `process.stdout.write(JSON.stringify({${names.map((n) => `${n}: process.env.${n}`).join(',')}}))`]

describe('sstash-run --env-file', () => {
  it('gives the command the plain values and the resolved references', async () => {
    const { cwd, env } = await fresh()
    writeFileSync(join(cwd, '.env.sstash'), ENV_SSTASH)
    const run = await runBin('run', ['--env-file', '.env.sstash', '--', ...printEnv('PORT', 'DATABASE_URL', 'API_TOKEN')], { cwd, env })
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(JSON.parse(run.stdout)).toEqual({ PORT: '3000', DATABASE_URL: DB, API_TOKEN: TOKEN })
  })

  it('lets a later file and -k win on the same name', async () => {
    const { cwd, env } = await fresh({ 'project/db/URL': DB, 'project/api/TOKEN': TOKEN, 'project/k/PORT': '5000' })
    writeFileSync(join(cwd, 'a.sstash'), 'PORT=3000\nHOST=a\nWHO=a\n')
    writeFileSync(join(cwd, 'b.sstash'), 'HOST=b\nWHO=b\n')
    const run = await runBin('run', ['--env-file', 'a.sstash', '--env-file', 'b.sstash', '-k', 'project/k', '--', ...printEnv('PORT', 'HOST', 'WHO')], { cwd, env })
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(JSON.parse(run.stdout)).toEqual({ PORT: '5000', HOST: 'b', WHO: 'b' })
  })

  it('reports every unresolved reference at once, exits 3, and never starts the command', async () => {
    const { cwd, env } = await fresh()
    writeFileSync(join(cwd, '.env.sstash'), 'OK=sstash://project/db/URL\nA=sstash://project/db/NOPE\nB=sstash://project\n')
    const marker = join(cwd, 'started')
    const run = await runBin('run', ['--env-file', '.env.sstash', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`], { cwd, env })
    expect(run.code).toBe(3)
    expect(run.stderr.split('\n').filter((l) => l.startsWith('sstash: error: '))).toEqual([
      'sstash: error: .env.sstash: A: sstash://project/db/NOPE was not found in the stash',
      'sstash: error: .env.sstash: B: sstash://project holds no value (only keys below it)',
    ])
    expect(run.stderr).not.toContain(DB)
    expect(existsSync(marker)).toBe(false)
  })

  it('refuses a dangerous name in the file unless it is allowed by name', async () => {
    const { cwd, env } = await fresh()
    writeFileSync(join(cwd, '.env.sstash'), 'NODE_OPTIONS=--require ./evil.js\n')
    // Through the #! line, as installed: node must not read the file itself (test/security/node-env-file.test.ts).
    const refused = await runCommand(BIN.run, ['--env-file', '.env.sstash', '--', process.execPath, '-e', ''], { cwd, env })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('sstash: error: .env.sstash: NODE_OPTIONS: can make programs run other code')
    writeFileSync(join(cwd, '.env.sstash'), 'NODE_OPTIONS=--max-old-space-size=256\n')
    const allowed = await runBin('run', ['--env-file', '.env.sstash', '--allow', 'NODE_OPTIONS', '--', ...printEnv('NODE_OPTIONS')], { cwd, env })
    expect(JSON.parse(allowed.stdout)).toEqual({ NODE_OPTIONS: '--max-old-space-size=256' })
  })

  it('masks the resolved values with --mask, not the plain ones', async () => {
    const { cwd, env } = await fresh()
    writeFileSync(join(cwd, '.env.sstash'), 'GREETING=hello-plain-config\nAPI_TOKEN=sstash://project/api/TOKEN\n')
    const script = 'console.log(`greeting ${process.env.GREETING} token ${process.env.API_TOKEN}`)'
    const run = await runBin('run', ['--env-file', '.env.sstash', '--mask', '--', process.execPath, '-e', script], { cwd, env })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('greeting hello-plain-config token ')
    expect(run.stdout).not.toContain(TOKEN)
  })

  it('runs a file of plain values without a stash or a password', async () => {
    const { cwd } = await fresh()
    writeFileSync(join(cwd, '.env.sstash'), 'PORT=3000\nDOCS=\\sstash://not/a/reference\n')
    const env = { SSTASH_FILE: join(cwd, 'no-such.sstash'), SSTASH_PASSWORD_FILE: undefined }
    const run = await runBin('run', ['--env-file', '.env.sstash', '--', ...printEnv('PORT', 'DOCS')], { cwd, env })
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(JSON.parse(run.stdout)).toEqual({ PORT: '3000', DOCS: 'sstash://not/a/reference' })
  })

  it('reports a look-alike reference before asking for a password', async () => {
    const { cwd, env } = await fresh()
    writeFileSync(join(cwd, '.env.sstash'), 'A=SSTASH://project/db/URL\n')
    const run = await runBin('run', ['--env-file', '.env.sstash', '--', process.execPath, '-e', ''], { cwd, env: { ...env, SSTASH_PASSWORD_FILE: undefined } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('sstash: error: .env.sstash: A: the value looks like a reference but its scheme is not lowercase sstash://')
    expect(run.stderr).not.toContain('password')
  })

  it('refuses an "envFile" in package.json that is not a path, naming the file', async () => {
    const { cwd, env } = await fresh()
    writeFileSync(join(cwd, 'package.json'), JSON.stringify({ sstash: { envFile: 7 } }))
    const run = await runBin('run', ['--', process.execPath, '-e', ''], { cwd, env })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`sstash: error: the "sstash" field of ${join(cwd, 'package.json')} has "envFile" that is not a path or a list of paths`)
  })

  it('merges the "envFile" and "keys" of package.json, the keys winning', async () => {
    const { cwd, env } = await fresh({ 'project/api/TOKEN': TOKEN, 'project/k/PORT': '5000' })
    writeFileSync(join(cwd, '.env.sstash'), 'PORT=3000\nAPI_TOKEN=sstash://project/api/TOKEN\n')
    writeFileSync(join(cwd, 'package.json'), JSON.stringify({ sstash: { envFile: ['.env.sstash'], keys: 'project/k' } }))
    mkdirSync(join(cwd, 'sub'))
    const run = await runBin('run', ['--', ...printEnv('PORT', 'API_TOKEN')], { cwd: join(cwd, 'sub'), env })
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(JSON.parse(run.stdout)).toEqual({ PORT: '5000', API_TOKEN: TOKEN })
  })

  it.runIf(npmAvailable)('runs npm start with the reference file that package.json names, from a subdirectory', async () => {
    const { cwd, env } = await fresh()
    const bin = join(cwd, 'bin')
    mkdirSync(bin)
    symlinkSync(BIN.run, join(bin, 'sstash-run'))
    writeFileSync(join(cwd, '.env.sstash'), ENV_SSTASH)
    const script = `sstash-run -- node -e "process.stdout.write(process.env.PORT + ' ' + process.env.API_TOKEN)"`
    writeFileSync(join(cwd, 'package.json'), JSON.stringify({ name: 'app', private: true, scripts: { start: script }, sstash: { envFile: '.env.sstash' } }))
    mkdirSync(join(cwd, 'src'))
    const run = await runCommand('npm', ['start', '--silent'], {
      cwd: join(cwd, 'src'),
      env: { ...env, PATH: [bin, dirname(process.execPath), process.env.PATH].join(delimiter), npm_config_cache: join(dir, 'npm-cache'), npm_config_update_notifier: 'false' },
      timeoutMs: 30_000,
    })
    expect(run).toMatchObject({ code: 0, stdout: `3000 ${TOKEN}` })
  })
})

describe('sstash export --env-file', () => {
  it('prints shell lines that give the same values when evaluated', async () => {
    const { cwd, env } = await fresh()
    writeFileSync(join(cwd, '.env.sstash'), ENV_SSTASH)
    const run = await runBin('sstash', ['export', '--env-file', '.env.sstash', '--format', 'shell'], { cwd, env })
    expect(run).toMatchObject({ code: 0, stderr: '' })
    const out = execFileSync('sh', ['-c', 'eval "$1"; printf "%s\\n" "$PORT" "$DATABASE_URL" "$API_TOKEN"', 'sh', run.stdout], { encoding: 'utf8' })
    expect(out).toBe(`3000\n${DB}\n${TOKEN}\n`)
  })

  it('prints nothing and exits 3 when a reference does not resolve', async () => {
    const { cwd, env } = await fresh()
    writeFileSync(join(cwd, '.env.sstash'), 'PORT=1\nA=sstash://nope\n')
    const run = await runBin('sstash', ['export', '--env-file', '.env.sstash', '--format', 'shell'], { cwd, env })
    expect(run).toMatchObject({ code: 3, stdout: '' })
    expect(run.stderr).toContain('sstash: error: .env.sstash: A: sstash://nope was not found in the stash')
  })

  it('merges a key path after the files, the key path winning', async () => {
    const { cwd, env } = await fresh({ 'project/api/TOKEN': TOKEN, 'project/k/PORT': '5000' })
    writeFileSync(join(cwd, '.env.sstash'), 'PORT=3000\nAPI_TOKEN=sstash://project/api/TOKEN\n')
    const run = await runBin('sstash', ['export', 'project/k', '--env-file', '.env.sstash', '--format', 'json'], { cwd, env })
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(JSON.parse(run.stdout)).toEqual({ PORT: '5000', API_TOKEN: TOKEN })
  })

  it('needs a key path or --env-file', async () => {
    const { cwd, env } = await fresh()
    const run = await runBin('sstash', ['export'], { cwd, env })
    expect(run).toMatchObject({ code: 2, stdout: '' })
    expect(run.stderr).toContain('sstash: error: export needs a <keypath> or --env-file <file>')
  })
})

describe('sstash import --write-refs', () => {
  it('turns a plaintext .env into a committable reference file in one step', async () => {
    const { cwd, env } = await fresh({})
    const plain = 'DATABASE_URL=postgres://x\nAPI_TOKEN="tok with spaces"\n'
    writeFileSync(join(cwd, '.env'), plain)
    const run = await runBin('sstash', ['import', '.env', '--into', 'project/myapp', '--write-refs', '.env.sstash'], { cwd, env })
    expect(run.code).toBe(0)
    const refs = readFileSync(join(cwd, '.env.sstash'), 'utf8')
    expect(refs).toBe('DATABASE_URL=sstash://project/myapp/DATABASE_URL\nAPI_TOKEN=sstash://project/myapp/API_TOKEN\n')
    expect(refs).not.toContain('postgres')
    const back = await runBin('sstash', ['export', '--env-file', '.env.sstash'], { cwd, env })
    expect(dotenv.parse(back.stdout)).toEqual(dotenv.parse(plain))
  })

  it('imports nothing when the reference file cannot hold a name', async () => {
    const { cwd, env } = await fresh({})
    writeFileSync(join(cwd, '.env'), 'GOOD=1\nKEY-WITH-DASH=2\n')
    const run = await runBin('sstash', ['import', '.env', '--into', 'p', '--write-refs', '.env.sstash'], { cwd, env })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('sstash: error: .env.sstash: KEY-WITH-DASH: is not a valid environment variable name')
    expect((await runBin('sstash', ['ls'], { cwd, env })).stdout).toBe('')
    expect(existsSync(join(cwd, '.env.sstash'))).toBe(false)
  })

  it('imports nothing over another file at the --write-refs path, and takes the same file again', async () => {
    const { cwd, env } = await fresh({})
    writeFileSync(join(cwd, '.env'), 'A=1\n')
    writeFileSync(join(cwd, '.env.sstash'), 'PORT=3000\n')
    const refused = await runBin('sstash', ['import', '.env', '--into', 'p', '--write-refs', '.env.sstash'], { cwd, env })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('sstash: error: .env.sstash already exists (and differs from the reference file this import would write)')
    expect((await runBin('sstash', ['ls'], { cwd, env })).stdout).toBe('')
    expect(readFileSync(join(cwd, '.env.sstash'), 'utf8')).toBe('PORT=3000\n')
    writeFileSync(join(cwd, '.env.sstash'), 'A=sstash://p/A\n')
    const again = await runBin('sstash', ['import', '.env', '--into', 'p', '--write-refs', '.env.sstash'], { cwd, env })
    expect(again).toMatchObject({ code: 0, stderr: 'sstash: imported 1 variables into p\nsstash: .env.sstash already holds these references\n' })
  })
})
