/**
 * The binaries' launchers run the `node` on PATH, and git runs the helper through them: a suite
 * run under one Node (.ci/run runs it under each line we test) must find that same Node first
 * on PATH, or part of it would test another.
 */
import { expect, it } from 'vitest'
import { runCommand } from '../helpers.js'

it('finds on PATH the Node that runs the tests, as the binaries\' shebang does', async () => {
  const result = await runCommand('/usr/bin/env', ['node', '-p', 'process.version'])
  expect(result.stdout.trim()).toBe(process.version)
})
