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
