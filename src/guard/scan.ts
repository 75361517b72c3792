/**
 * The leak guard's library entry: gathers the fingerprints (kept ones, and any computed in
 * memory from a stash opened for this scan), then scans files, the staged changes or a history,
 * and says what it found. Reads no stash and asks for nothing: it runs while the stash is locked.
 */
import { randomBytes } from 'node:crypto'
import { SSError } from '../errors.js'
import type { Entry } from '../tree/tree.js'
import { fingerprint, guardKey } from './fingerprints.js'
import { loadIgnore, scanHistory, scanPaths, scanStaged, workTree, countCommits } from './inputs.js'
import { Matcher } from './matcher.js'
import { Scanner, type ScanReport } from './scanner.js'
import { forgetSource, keyCheck, loadKey, readSources, writesBehind } from './sources.js'

type Env = Record<string, string | undefined>

/** The fingerprints a scan uses, and what the user should know about them. */
export interface GuardFingerprints {
  matcher: Matcher
  /** Stashes fingerprinted, values fingerprinted, and values too short to be. */
  stashes: number
  values: number
  short: number
  /** Warnings: fingerprints behind their stash. */
  warnings: string[]
}

/**
 * The fingerprints kept for this user (sstash keeps them when it writes a stash, and
 * `sstash guard refresh` makes them). Those of a stash file that is gone are dropped.
 * @param skip - real paths of stashes whose fingerprints the caller computes itself
 */
export function keptFingerprints(env: Env = process.env, skip: readonly string[] = []): GuardFingerprints {
  const found: GuardFingerprints = { matcher: new Matcher(), stashes: 0, values: 0, short: 0, warnings: [] }
  const key = loadKey(env, false)
  if (key === undefined) return found
  for (const source of readSources(env)) {
    if (skip.includes(source.stash)) continue
    if (source.check !== keyCheck(key)) {
      found.warnings.push(`fingerprints of ${source.stash} were made with another key or version of sstash, and are not used: \`sstash${source.kind === 'team' ? ` --stash ${source.stash}` : ''} guard refresh\``)
      continue
    }
    const behind = writesBehind(source)
    if (behind === undefined) {
      forgetSource(source.stash, env)
      continue
    }
    if (behind > 0) {
      const count = source.kind === 'personal' ? 'at least 1 write' : `${behind} write${behind === 1 ? '' : 's'}`
      found.warnings.push(`fingerprints of ${source.stash} are ${count} behind: \`sstash${source.kind === 'team' ? ` --stash ${source.stash}` : ''} guard refresh\``)
    }
    found.matcher.add(key, source)
    found.stashes++
    found.values += source.values
    found.short += source.short
  }
  return found
}

/**
 * Adds the values of a stash read for this scan only (a team stash in CI, opened with the
 * identity in SSTASH_IDENTITY), fingerprinted in memory with a key that dies with the process.
 */
export function addValues(fingerprints: GuardFingerprints, entries: readonly Entry[]): void {
  const key = guardKey(randomBytes(32))
  const set = fingerprint(key, entries)
  fingerprints.matcher.add(key, set)
  fingerprints.stashes++
  fingerprints.values += set.values
  fingerprints.short += set.short
}

/** What to scan: files and folders, the staged changes, or the commits of git log's revisions. */
export type ScanTarget = { paths: readonly string[] } | { staged: true } | { history: readonly string[] }

/** A scan's options. */
export interface ScanOptions {
  cwd: string
  /** Called as a history is read: commits read, of how many, and bytes read. */
  progress?: (commits: number, total: number, bytes: number) => void
}

/**
 * Scans `target` for the fingerprinted values; `.sstashguardignore` is read from the top of
 * the work tree (else `cwd`).
 * @throws {SSError} USAGE outside a work tree for `staged` and `history`, or for a range git does not know
 */
export async function scan(fingerprints: GuardFingerprints, target: ScanTarget, options: ScanOptions): Promise<ScanReport> {
  const root = workTree(options.cwd)
  if (root === undefined && !('paths' in target)) throw new SSError('not inside a git work tree', 'USAGE', { hint: 'run it in the repository, or scan files with `sstash guard scan PATH...`' })
  const scanner = new Scanner(fingerprints.matcher, loadIgnore(root ?? options.cwd))
  if ('paths' in target) scanPaths(scanner, target.paths.length > 0 ? target.paths : ['.'], options.cwd, root ?? options.cwd)
  else if ('staged' in target) scanStaged(scanner, options.cwd)
  else {
    const total = options.progress ? countCommits(target.history, options.cwd) : 0
    await scanHistory(scanner, target.history, options.cwd, options.progress && ((commits, bytes) => options.progress?.(commits, total, bytes)))
  }
  return scanner.report
}

const ZERO = /^0+$/

/**
 * The revisions a pre-push hook must scan, from the lines git gives it on stdin
 * (`<local ref> <local id> <remote ref> <remote id>`): what each pushed ref adds to the remote.
 * A deleted ref adds nothing; a new one adds what no ref of the remote holds yet.
 */
export function prePushRevisions(input: string, remote: string): string[][] {
  const out: string[][] = []
  for (const line of input.split('\n')) {
    const [, local, , remoteId] = line.trim().split(/\s+/)
    if (local === undefined || remoteId === undefined || ZERO.test(local)) continue
    if (!/^[0-9a-f]+$/.test(local) || !/^[0-9a-f]+$/.test(remoteId)) continue
    out.push(ZERO.test(remoteId) ? [local, '--not', `--remotes=${remote}`] : [`${remoteId}..${local}`])
  }
  return out
}
