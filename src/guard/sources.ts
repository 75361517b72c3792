/**
 * The fingerprint files: `guard/` under the state directory (0700), holding `key` (32 random
 * bytes, 0600) and one `<id>.json` per stash (0600), where `<id>` is a hash of the stash's real
 * path. The directory existing is what turns the guard on: a stash write refreshes its
 * fingerprints only then ({@link refreshAfterWrite}), so a program that never asked for the
 * guard pays one `stat` per write and nothing else (active.ts).
 */
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { READ_LIMITS, readNamedFile } from '../fs/read.js'
import { join } from 'node:path'
import { SSError, ioError } from '../errors.js'
import type { Tree } from '../tree/tree.js'
import { bucketAt, fingerprint, guardKey, tagOf, type FingerprintSet, type GuardKey } from './fingerprints.js'
import { guardDir } from '../locations.js'
import { guardActive } from './state.js'

type Env = Record<string, string | undefined>

const FORMAT = 'sstash-guard/1'

/** What kind of stash a fingerprint file describes. */
export type SourceKind = 'personal' | 'team'

/** A stash's fingerprints as kept on disk. */
export interface Source extends FingerprintSet {
  format: typeof FORMAT
  stash: string
  kind: SourceKind
  /** SHA-256 of the stash file as it was fingerprinted. */
  digest: string
  /** A team stash's value lines then, hashed, to count the writes since (see {@link describeFile}). */
  lines: string[]
  refreshed: number
  /** {@link keyCheck} of the key and scheme the fingerprints were made with. */
  check: string
}

const CHECK = Buffer.from('sstash guard key check')

/**
 * A short tag of the key and of how fingerprints are computed: fingerprints made under another
 * key (a replaced `key` file) or by a version that hashed differently would never match, so they
 * are reported instead of silently finding nothing.
 */
export const keyCheck = (key: GuardKey): string => `${bucketAt(key, CHECK, 0)}:${tagOf(key, CHECK)}`

const sourceFile = (dir: string, stash: string): string => join(dir, `${createHash('sha256').update(stash).digest('hex').slice(0, 16)}.json`)

function writePrivate(path: string, data: string | Uint8Array): void {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    writeFileSync(temp, data, { mode: 0o600, flag: 'wx' })
    renameSync(temp, path)
  } catch (error) {
    throw ioError('write', path, error, 'WRITE_FAILED')
  }
}

/**
 * The per-user key, made on first use (which turns the guard on).
 * @throws {SSError} WRITE_FAILED when the state directory cannot be written
 */
export function loadKey(env: Env = process.env, create = true): GuardKey | undefined {
  const dir = guardDir(env)
  const path = join(dir, 'key')
  if (!existsSync(path)) {
    if (!create) return undefined
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      chmodSync(dir, 0o700)
    } catch (error) {
      throw ioError('create directory', dir, error, 'WRITE_FAILED')
    }
    writePrivate(path, randomBytes(32))
  }
  const secret = Buffer.from(readNamedFile(path, { maxBytes: READ_LIMITS.key }).bytes)
  if (secret.length !== 32) throw new SSError(`${path} is not a guard key (32 bytes); remove it and run \`sstash guard refresh\``, 'NOT_A_STASH')
  return guardKey(secret)
}

/**
 * The digest of a stash file's bytes and, for a team stash, a hash of each value's sealed line
 * (the indented second line of its record: it changes exactly when the value is written).
 */
export function describeFile(bytes: Uint8Array, kind: SourceKind): { digest: string; lines: string[] } {
  const lines =
    kind === 'personal'
      ? []
      : Buffer.from(bytes)
          .toString('latin1')
          .split('\n')
          .filter((line) => line.startsWith(' '))
          .map((line) => createHash('sha256').update(line, 'latin1').digest('hex').slice(0, 8))
  return { digest: createHash('sha256').update(bytes).digest('hex'), lines }
}

/**
 * Fingerprints the values of `tree` as the stash at `stash` (a real path) holds them now, and
 * keeps them in the stash's fingerprint file.
 * @returns the fingerprints kept
 */
export function refreshSource(stash: string, kind: SourceKind, tree: Tree, env: Env = process.env): Source {
  const key = loadKey(env) as GuardKey
  const file = sourceFile(guardDir(env), stash)
  const check = keyCheck(key)
  // Fingerprints are reused only when they were made the way they would be made now.
  const previous = readSource(file)
  const source: Source = { format: FORMAT, stash, kind, ...describeFile(Buffer.from(readNamedFile(stash, { maxBytes: READ_LIMITS.stash }).bytes), kind), refreshed: Date.now(), check, ...fingerprint(key, tree.entries([]), previous?.check === check ? previous : undefined) }
  writePrivate(file, JSON.stringify(source))
  return source
}

/**
 * The write hook of SecureStash and TeamStash: refreshes the stash's fingerprints from the tree
 * it just wrote, when the guard is on. Never throws: a failed refresh must not fail a write
 * that succeeded, and the next scan says the fingerprints are behind.
 */
export function refreshAfterWrite(stash: string, kind: SourceKind, tree: Tree, env: Env = process.env): void {
  try {
    if (guardActive(env)) refreshSource(stash, kind, tree, env)
  } catch {
    // See above: the scan reports stale fingerprints.
  }
}

/**
 * Drops the fingerprints of a stash that is gone (a test's stash in a temporary folder, a stash
 * moved away): they would otherwise pile up, one file per stash sstash ever wrote.
 */
export function forgetSource(stash: string, env: Env = process.env): void {
  rmSync(sourceFile(guardDir(env), stash), { force: true })
}

/** Every stash's fingerprints kept for this user; unreadable or foreign files are skipped. */
export function readSources(env: Env = process.env): Source[] {
  const dir = guardDir(env)
  let names: string[]
  try {
    names = readdirSync(dir).filter((name) => /^[0-9a-f]{16}\.json$/.test(name))
  } catch {
    return []
  }
  return names.map((name) => readSource(join(dir, name))).filter((source) => source !== undefined)
}

/** One fingerprint file, or undefined when it is missing, damaged or not ours. */
function readSource(path: string): Source | undefined {
  try {
    const source = JSON.parse(Buffer.from(readNamedFile(path, { maxBytes: READ_LIMITS.state }).bytes).toString('utf8')) as Source
    return source.format === FORMAT && Array.isArray(source.prints) && Array.isArray(source.paths) ? source : undefined
  } catch {
    return undefined
  }
}

/**
 * How far the fingerprints of `source` are behind its stash: 0 when the file is the one
 * fingerprinted; for a team stash, the number of values written since (at least 1); for a personal
 * stash (one sealed blob), 1: at least one write.
 * @returns undefined when the stash file is gone
 */
export function writesBehind(source: Source): number | undefined {
  let bytes: Buffer
  try {
    bytes = Buffer.from(readNamedFile(source.stash, { maxBytes: READ_LIMITS.stash }).bytes)
  } catch {
    return undefined
  }
  const now = describeFile(bytes, source.kind)
  if (now.digest === source.digest) return 0
  // A personal stash is one sealed blob: that it changed is all its bytes say.
  if (source.kind === 'personal') return 1
  const before = new Set(source.lines)
  return Math.max(1, now.lines.filter((line) => !before.has(line)).length)
}
