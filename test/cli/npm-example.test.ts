/**
 * examples/npm-project as its README says to use it: `npm start`, with `sstash-run` found on
 * PATH (a directory where it resolves to our built binary), the selection in package.json.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT, makeStash, runCommand, tempDir } from '../helpers.js'

const dir = tempDir()
const PASSWORD = 'npm example password'
const project = join(ROOT, 'examples/npm-project')

function npmAvailable(): boolean {
  try {
    execFileSync('npm', ['--version'], { stdio: 'ignore', timeout: 10_000 })
    return true
  } catch {
    return false
  }
}

describe('the npm project example', () => {
  it.runIf(npmAvailable())('starts through sstash-run with the variables chosen in its package.json', async () => {
    const bin = join(dir, 'bin')
    mkdirSync(bin)
    symlinkSync(BIN.run, join(bin, 'sstash-run'))
    const stash = join(dir, 'stash.sstash')
    await makeStash(stash, PASSWORD, {
      'project/myapp/DATABASE_URL': 'postgres://app:pw@db/app',
      'project/myapp/API_TOKEN': 'tok-123-secret',
      'project/myapp/GREETING': 'hello from the stash',
      'project/other/NOT_LOADED': 'x',
    })
    const passwordFile = join(dir, 'password')
    writeFileSync(passwordFile, PASSWORD, { mode: 0o600 })
    const result = await runCommand('npm', ['start', '--silent', '--', '--once'], {
      cwd: project,
      env: {
        PATH: [bin, dirname(process.execPath), process.env.PATH].join(delimiter),
        SSTASH_FILE: stash,
        SSTASH_PASSWORD_FILE: passwordFile,
        npm_config_cache: join(dir, 'npm-cache'),
        npm_config_update_notifier: 'false',
      },
      timeoutMs: 30_000,
    })
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('DATABASE_URL=******** (24 characters)')
    expect(result.stdout).toContain('API_TOKEN=******** (14 characters)')
    expect(result.stdout).toMatch(/listening on 127\.0\.0\.1:\d+/)
    expect(result.stdout).toContain('answered: hello from the stash')
    expect(result.stdout).not.toContain('tok-123-secret')
  })
})
