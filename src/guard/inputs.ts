/**
 * What a scan reads: files and folders, the staged changes (`git diff --cached`), or every
 * commit of a range (`git log -p`, streamed). git runs with the options that make its patch
 * output plain whatever the user's configuration: no colour, no external diff or textconv, no
 * rename detection (a renamed file is scanned whole under its new name), binary files as text.
 */
import { spawn, spawnSync } from 'node:child_process'
import { lstatSync, readdirSync } from 'node:fs'
import { READ_LIMITS, readNamedFile, readRegularFile } from '../fs/read.js'
import { join, relative, resolve, sep } from 'node:path'
import { SSError, ioError } from '../errors.js'
import { parseIgnore, type IgnoreRules } from './ignore.js'
import { COMMIT_MARKER, PatchReader } from './patch.js'
import type { Scanner } from './scanner.js'

/** The ignore file's name, read from the top of the work tree (else the current folder). */
export const IGNORE_FILE = '.sstashguardignore'

const PATCH_OPTIONS = ['--no-renames', '-U0', '--no-color', '--no-ext-diff', '--no-textconv', '--text', '--src-prefix=a/', '--dst-prefix=b/']
const GIT = ['-c', 'core.quotepath=false']

function git(args: string[], cwd: string): { ok: boolean; stdout: Buffer; stderr: string } {
  const result = spawnSync('git', [...GIT, ...args], { cwd, maxBuffer: 2 ** 31 - 1, stdio: ['ignore', 'pipe', 'pipe'] })
  if (result.error) throw ioError('run', 'git', result.error)
  return { ok: result.status === 0, stdout: result.stdout, stderr: result.stderr.toString('utf8').trim() }
}

/** git's complaint, reworded as ours: its first line, without `fatal: `. */
const gitSaid = (stderr: string): string => (stderr.split('\n')[0] ?? '').replace(/^(fatal|error): /, '')

/** The top of the work tree `cwd` is in, or undefined outside one. */
export function workTree(cwd: string): string | undefined {
  const result = git(['rev-parse', '--show-toplevel'], cwd)
  return result.ok ? result.stdout.toString('utf8').trim() : undefined
}

/** The rules of the ignore file in `root`, if there is one. */
export function loadIgnore(root: string): IgnoreRules | undefined {
  try {
    const bytes = readRegularFile(join(root, IGNORE_FILE), READ_LIMITS.config)
    return bytes === undefined ? undefined : parseIgnore(Buffer.from(bytes).toString('utf8'))
  } catch {
    return undefined
  }
}

const toSlash = (path: string): string => (sep === '/' ? path : path.split(sep).join('/'))

/**
 * Scans files, and every file below folders (their `.git` left out; symbolic links not
 * followed), naming each as given; the ignore rules see it relative to `root`.
 * @throws {SSError} IO_ERROR for a path that does not exist or cannot be read
 */
export function scanPaths(scanner: Scanner, paths: readonly string[], cwd: string, root: string): void {
  const visit = (shown: string): void => {
    const full = resolve(cwd, shown)
    let stats
    try {
      stats = lstatSync(full)
    } catch (error) {
      throw ioError('scan', shown, error)
    }
    if (stats.isDirectory()) {
      for (const name of readdirSync(full).sort()) if (name !== '.git') visit(join(shown, name))
    } else if (stats.isFile()) {
      let bytes: Buffer
      try {
        bytes = Buffer.from(readNamedFile(full, { maxBytes: READ_LIMITS.import }).bytes)
      } catch (error) {
        throw ioError('read', shown, error)
      }
      scanner.scan(toSlash(relative(root, full)), 1, bytes, undefined, shown)
    }
  }
  for (const path of paths) visit(path)
}

/**
 * Scans what is staged for the next commit: the lines it adds, under the names in the index.
 * @throws {SSError} USAGE outside a git work tree
 */
export function scanStaged(scanner: Scanner, cwd: string): void {
  const result = git(['diff', '--cached', ...PATCH_OPTIONS], cwd)
  if (!result.ok) throw new SSError(`cannot read the staged changes: ${gitSaid(result.stderr)}`, 'USAGE', { hint: 'run `sstash guard scan --staged` inside a git work tree' })
  const reader = new PatchReader((run) => scanner.scan(run.path, run.line, run.text))
  reader.push(result.stdout)
  reader.end()
}

const badRange = (revs: readonly string[], stderr: string): SSError =>
  new SSError(`cannot read the history ${JSON.stringify(revs.join(' '))}: ${gitSaid(stderr)}`, 'USAGE', { hint: 'give a revision range such as origin/main..HEAD' })

/** How many commits `revs` (a range, or git log's revisions) hold. @throws {SSError} USAGE for a range git does not know */
export function countCommits(revs: readonly string[], cwd: string): number {
  const result = git(['rev-list', '--count', ...revs, '--'], cwd)
  if (!result.ok) throw badRange(revs, result.stderr)
  return Number(result.stdout.toString('utf8').trim())
}

/**
 * Scans the lines every commit of `revs` (a range such as `origin/main..HEAD`, or git log's
 * revisions such as `<id> --not --remotes=origin`) adds, reading `git log -p` as it comes (memory stays
 * flat however long the history).
 * @param progress - called after each commit with the commits and bytes read so far
 * @throws {SSError} USAGE for a range git does not know
 */
export function scanHistory(scanner: Scanner, revs: readonly string[], cwd: string, progress?: (commits: number, bytes: number) => void): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', [...GIT, 'log', '-p', ...PATCH_OPTIONS, `--format=${COMMIT_MARKER}%H`, ...revs, '--'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let bytes = 0
    const reader = new PatchReader(
      (run) => scanner.scan(run.path, run.line, run.text, run.commit),
      () => scanner.report.commits++,
    )
    const errors: Buffer[] = []
    child.stderr.on('data', (chunk: Buffer) => errors.push(chunk))
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      reader.push(chunk)
      progress?.(scanner.report.commits, bytes)
    })
    child.on('error', (error) => reject(ioError('run', 'git', error)))
    child.on('close', (code) => {
      reader.end()
      if (code === 0) return resolvePromise()
      reject(badRange(revs, Buffer.concat(errors).toString('utf8')))
    })
  })
}
