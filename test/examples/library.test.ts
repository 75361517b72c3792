/** examples/library/example.mjs runs as a user's program would, importing the package by name. */
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { ROOT, runCommand } from '../helpers.js'

it('runs the library example to the end', async () => {
  const r = await runCommand(process.execPath, [join(ROOT, 'examples/library/example.mjs')], { cwd: ROOT })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  expect(r.stdout).toBe(
    [
      'token1: 622324c09486bf30ed3a9213954a35c34de84535',
      'children of project/SomeService: token1, token2',
      'value at a/b/c: 5 bytes',
      'value at a/with\\/slash: 3 bytes',
      'after removeKey: KEY_NOT_FOUND',
      '',
    ].join('\n'),
  )
})

it('runs the sub-path example, which imports sstash/git, sstash/env, sstash/team and sstash/agent by name', async () => {
  const r = await runCommand(process.execPath, [join(ROOT, 'examples/library/sub-paths.mjs')], { cwd: ROOT })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  expect(r.stdout).toBe(
    [
      'git asks for https://alice@example.com',
      'the helper answers 2 lines',
      'variables: db_password, API_KEY',
      'as a .env: 2 lines',
      'PROMPT_COMMAND refused: true',
      'recipient: age1gl6e0rud...',
      '15m is 900000 ms',
      '',
    ].join('\n'),
  )
})

it('exports at most 30 names from the package root, and each sub-path loads on its own', async () => {
  const script = `
    const root = await import('sstash')
    const counts = { root: Object.keys(root).length }
    for (const sub of ['git', 'env', 'team', 'agent']) counts[sub] = Object.keys(await import('sstash/' + sub)).length
    console.log(JSON.stringify(counts))`
  const r = await runCommand(process.execPath, ['--input-type=module', '-e', script], { cwd: join(ROOT, 'examples') })
  expect(r.stderr).toBe('')
  const counts = JSON.parse(r.stdout) as Record<string, number>
  expect(counts.root).toBeGreaterThan(10)
  expect(counts.root).toBeLessThanOrEqual(30)
  for (const sub of ['git', 'env', 'team', 'agent']) expect(counts[sub]).toBeGreaterThan(0)
})
