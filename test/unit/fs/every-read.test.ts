/**
 * Every file sstash reads goes through src/fs/read.ts, the one read that never blocks and
 * never fills memory. This test reads the source: any other call of node:fs that opens or reads
 * a file fails it, unless the allow-list below names the file, the call and why.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../../helpers.js'

/** The calls of node:fs (and node:fs/promises) that open or read a file. */
const READS = ['readFileSync', 'readFile', 'openSync', 'open', 'createReadStream', 'readSync', 'read', 'readv', 'readvSync', 'openAsBlob', 'opendir', 'watch']

/** Where a call of {@link READS} outside fs/read.ts is right, and why. */
const ALLOWED: Record<string, { calls: string[]; why: string }> = {
  'src/fs/read.ts': { calls: ['openSync', 'readSync'], why: 'the one bounded, type-checked read' },
  'src/unlock/tty.ts': { calls: ['openSync'], why: 'opens /dev/tty to prompt: the terminal, which a person types into' },
  'src/cli/stdin.ts': { calls: ['readSync'], why: 'reads stdin, which the caller gave us, capped by readStdin' },
  'src/cli/credential-request.ts': { calls: ['readSync'], why: "reads git's request on stdin, capped and stopped at the blank line as the full helper's readRequest" },
  'src/fs/write.ts': { calls: ['open'], why: 'creates the temporary file of an atomic write (O_EXCL), never reads one' },
  'src/fs/lock.ts': { calls: ['open'], why: 'creates the lock file (O_EXCL); the lock is read with readFileChecked' },
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** The names a file imports from node:fs or node:fs/promises, and whether it reaches node:fs another way. */
function fsUse(source: string): { names: string[]; other: string[] } {
  const names: string[] = []
  for (const m of source.matchAll(/import\s*(type\s*)?\{([^}]*)\}\s*from\s*'(?:node:)?fs(?:\/promises)?'/g)) {
    if (m[1]) continue
    for (const part of (m[2] as string).split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]?.trim()
      if (name && !part.trim().startsWith('type ')) names.push(name)
    }
  }
  const other = [
    ...source.matchAll(/import\s+\*\s+as\s+\w+\s+from\s*'(?:node:)?fs(?:\/promises)?'/g),
    ...source.matchAll(/import\(\s*'(?:node:)?fs(?:\/promises)?'\s*\)/g),
    ...source.matchAll(/getBuiltinModule\(\s*'(?:node:)?fs(?:\/promises)?'\s*\)/g),
    ...source.matchAll(/require\(\s*'(?:node:)?fs(?:\/promises)?'\s*\)/g),
    ...source.matchAll(/import\s+\w+\s+from\s*'(?:node:)?fs(?:\/promises)?'/g),
  ].map((m) => m[0])
  return { names, other }
}

describe('every file sstash reads', () => {
  const files = sourceFiles(join(ROOT, 'src')).map((path) => ({ rel: relative(ROOT, path), source: readFileSync(path, 'utf8') }))

  it('goes through fs/read.ts: no other module opens or reads a file, except where the allow-list says why', () => {
    const found: string[] = []
    for (const { rel, source } of files) {
      const { names, other } = fsUse(source)
      for (const how of other) found.push(`${rel}: ${how} (reach node:fs by a named import, so that this test sees the calls)`)
      const allowed = ALLOWED[rel]?.calls ?? []
      for (const name of names) if (READS.includes(name) && !allowed.includes(name)) found.push(`${rel}: ${name}`)
    }
    expect(found).toEqual([])
  })

  it('has an allow-list with no entry left over', () => {
    const stale: string[] = []
    for (const [rel, { calls }] of Object.entries(ALLOWED)) {
      const file = files.find((f) => f.rel === rel)
      const names = file ? fsUse(file.source).names : []
      for (const call of calls) if (!names.includes(call)) stale.push(`${rel}: ${call}`)
    }
    expect(stale).toEqual([])
  })

  it('sees a read that does not go through fs/read.ts, as a check of this test itself', () => {
    expect(fsUse("import { readFileSync, type Stats } from 'node:fs'").names).toEqual(['readFileSync'])
    expect(fsUse("import { open as openFile } from 'node:fs/promises'").names).toEqual(['open'])
    expect(fsUse("const { readFileSync } = await import('node:fs')").other).toHaveLength(1)
    expect(fsUse("process.getBuiltinModule('node:fs')").other).toHaveLength(1)
    expect(fsUse("import type { Stats } from 'node:fs'").names).toEqual([])
  })

  it('reads each kind of file with a limit of its own, listed in READ_LIMITS', async () => {
    const { READ_LIMITS, MAX_FILE_BYTES } = await import('../../../src/fs/read.js')
    for (const [kind, limit] of Object.entries(READ_LIMITS)) {
      expect(limit, kind).toBeGreaterThan(0)
      expect(limit, kind).toBeLessThanOrEqual(MAX_FILE_BYTES)
    }
    // Every read names its limit: none falls back to a default that could be forgotten.
    const calls = files.flatMap(({ rel, source }) =>
      [...source.matchAll(/\b(readRegularFile|readOwnFile|readFileChecked|readNamedFile)\(([^)]*)\)/g)].map((m) => ({ rel, call: m[0], args: m[2] as string })),
    )
    const unbounded = calls.filter(({ rel, args }) => rel !== 'src/fs/read.ts' && !/,/.test(args))
    expect(unbounded.map(({ rel, call }) => `${rel}: ${call}`)).toEqual([])
  })
})
