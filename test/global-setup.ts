/**
 * Runs once before every test file: the binaries the tests start write their code cache
 * (bin/run-bundle.cjs) under $XDG_CACHE_HOME, so the suite gets a private one, removed at the
 * end, and never writes into the user's own cache. Set here, it reaches every worker and every
 * process the tests start, whether through runCommand or not.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'sstash-test-cache-'))
  process.env.XDG_CACHE_HOME = dir
  return () => rmSync(dir, { recursive: true, force: true })
}
