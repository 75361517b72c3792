/** `npm run demo` (without its build step, which the test run has done) runs to the end and cleans up. */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { ROOT, runCommand } from '../helpers.js'

it('runs the demo with no input and leaves nothing behind', async () => {
  const r = await runCommand(process.execPath, [join(ROOT, 'examples/demo.mjs')], { cwd: ROOT, timeoutMs: 60_000 })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  for (const text of [
    'scrypt N=1024',
    '1. Create an encrypted stash',
    '   | username=alice',
    '   | password=********  (the same 29 characters that were stored)',
    'git.example.com.evil.example: no credential',
    '   | demo/myapp/API_TOKEN',
    '   | API_TOKEN=*****  (18 characters received)',
    '   | DATABASE_URL=*****  (41 characters received)',
    'SSTASH_PASSWORD_FILE in the child: removed',
    'Done:',
  ])
    expect(r.stdout).toContain(text)
  expect(r.stdout).not.toContain('demo-api-token-123')
  expect(r.stdout).not.toContain('ghp_demoToken')
  const dir = /^Cleaned up (.+)\.$/m.exec(r.stdout)?.[1]
  expect(dir).toBeDefined()
  expect(existsSync(dir as string)).toBe(false)
}, 90_000)
