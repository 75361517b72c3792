/**
 * `sstash doctor` as a library function: checks what can go wrong around a stash without
 * its password (file and directory permissions, the format and key-derivation strength, a
 * lock left behind, the binaries git needs on PATH) and says how to fix each finding.
 */
import { constants } from 'node:fs'
import { access, lstat, readFile, readdir, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { basename, delimiter, dirname, join } from 'node:path'
import { SSError } from '../errors.js'
import { checkDirectory, isStale, lockPathOf } from './write.js'
import { readIfExists, resolveStashPath } from './read.js'
import { parseStash } from '../format/stash-file.js'
import { KDF_WEAK, formatKdfSpec } from '../format/kdf.js'
import { isTeamStash } from '../team/detect.js'

/** How much a finding matters: `problem` and `warning` make `sstash doctor` exit 1. */
export type Severity = 'ok' | 'note' | 'warning' | 'problem'

/** One thing `diagnose` found. */
export interface Finding {
  severity: Severity
  /** What was found, in one line, never a secret. */
  what: string
  /** A command or step that fixes it. */
  fix?: string
}

/** The binaries git and npm scripts look up on PATH. */
export const BINARIES = ['sstash', 'git-credential-sstash', 'sstash-run'] as const

type Env = Record<string, string | undefined>

const mode = (m: number): string => (m & 0o7777).toString(8).padStart(4, '0')

async function onPath(name: string, env: Env): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      await access(candidate, constants.X_OK)
      if ((await stat(candidate)).isFile()) return candidate
    } catch {
      // Not here; keep looking.
    }
  }
  return undefined
}

async function fileFindings(path: string, real: string): Promise<Finding[]> {
  const out: Finding[] = []
  const link = await lstat(path)
  if (link.isSymbolicLink()) out.push({ severity: 'note', what: `${path} is a symbolic link to ${real}; writes replace ${real}` })
  const info = await stat(real)
  if (!info.isFile()) return [...out, { severity: 'problem', what: `${real} is not a regular file` }]
  const uid = process.getuid?.()
  if (uid !== undefined && info.uid !== uid)
    out.push({ severity: 'problem', what: `${real} belongs to another user (uid ${info.uid})`, fix: `chown ${uid} ${real}` })
  if ((info.mode & 0o077) !== 0)
    out.push({
      severity: 'problem',
      what: `${real} has mode ${mode(info.mode)}: other users can read the encrypted stash and try passwords offline`,
      fix: `chmod 600 ${real}`,
    })
  else out.push({ severity: 'ok', what: `file mode ${mode(info.mode)}` })
  return out
}

async function directoryFindings(dir: string): Promise<Finding[]> {
  try {
    await checkDirectory(dir)
  } catch (error) {
    if (error instanceof SSError) return [{ severity: 'problem', what: error.message, fix: `chmod 700 ${dir}, or move the stash to a directory of your own` }]
    throw error
  }
  const info = await stat(dir)
  if ((info.mode & 0o022) !== 0 && (info.mode & 0o1000) === 0)
    return [{ severity: 'warning', what: `directory ${dir} has mode ${mode(info.mode)}: your group can replace files in it`, fix: `chmod go-w ${dir}` }]
  return [{ severity: 'ok', what: `directory ${dir} mode ${mode(info.mode)}` }]
}

async function formatFindings(real: string, bytes: Uint8Array): Promise<Finding[]> {
  let locked
  try {
    locked = parseStash(bytes, real)
  } catch (error) {
    if (error instanceof SSError) return [{ severity: 'problem', what: error.message }]
    throw error
  }
  const out: Finding[] = []
  const spec = formatKdfSpec(locked.kdf)
  if (locked.format === 'python')
    out.push({ severity: 'warning', what: `${real} is in the Python sstash 0.17 format (${spec})`, fix: 'sstash migrate' })
  else out.push({ severity: 'ok', what: `native format, key derivation ${spec}` })
  const weak =
    locked.kdf.name === 'scrypt' ? locked.kdf.N < KDF_WEAK.scryptN : locked.kdf.iterations < KDF_WEAK.pbkdf2Iterations
  if (weak)
    out.push({
      severity: 'warning',
      what: `the key derivation ${spec} is weak: a stolen copy of the file is cheap to attack`,
      fix: locked.format === 'python' ? 'sstash migrate' : 'sstash passwd --kdf scrypt',
    })
  return out
}

async function lockFindings(real: string): Promise<Finding[]> {
  const lockPath = lockPathOf(real)
  let raw: string
  let ageMs: number
  try {
    ;[raw, ageMs] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath).then((s) => Date.now() - s.mtimeMs)])
  } catch {
    return [{ severity: 'ok', what: 'no lock held' }]
  }
  const [pid, host] = raw.split('\n')
  const lock = { pid: Number(pid), host: host ?? '', ageMs }
  if (isStale(lock))
    return [{
      severity: 'warning',
      what: `stale lock ${lockPath} left by process ${pid ?? '?'} on ${host || hostname()}, which is gone (the next write breaks it)`,
      fix: `rm ${lockPath}`,
    }]
  return [{ severity: 'note', what: `process ${pid ?? '?'} is writing the stash right now (${lockPath})` }]
}

async function leftoverFindings(real: string): Promise<Finding[]> {
  const prefix = `.${basename(real)}.`
  const names = await readdir(dirname(real)).catch(() => [] as string[])
  return names
    .filter((name) => name.startsWith(prefix) && name.endsWith('.tmp'))
    .map((name) => ({
      severity: 'note' as const,
      what: `${join(dirname(real), name)} was left by an interrupted write (it holds only encrypted data)`,
      fix: `rm ${join(dirname(real), name)}`,
    }))
}

/**
 * Checks a stash and its surroundings. Needs no password and changes nothing.
 * @param path - the stash file (it may be missing: that is a finding too)
 * @param env - where PATH is read from
 * @returns the findings, most important first within each area
 */
export async function diagnose(path: string, env: Env = process.env): Promise<Finding[]> {
  const findings: Finding[] = []
  let real: string | undefined
  try {
    real = resolveStashPath(path)
  } catch (error) {
    if (!(error instanceof SSError)) throw error
    findings.push({ severity: 'problem', what: error.message })
  }
  let bytes: Uint8Array | undefined
  try {
    bytes = real === undefined ? undefined : readIfExists(real)
  } catch (error) {
    findings.push({ severity: 'problem', what: (error as Error).message })
  }
  if (real !== undefined && bytes === undefined && findings.length === 0)
    findings.push({ severity: 'problem', what: `no stash at ${path}`, fix: 'sstash init (or pass --stash <path>, or set SSTASH_FILE)' })
  if (real !== undefined && bytes !== undefined) {
    findings.push(...(await fileFindings(path, real)))
    findings.push(...(await directoryFindings(dirname(real))))
    findings.push(...(isTeamStash(bytes) ? (await import('../team/doctor.js')).teamFindings(real, bytes) : await formatFindings(real, bytes)))
    findings.push(...(await lockFindings(real)))
    findings.push(...(await leftoverFindings(real)))
  }
  for (const name of BINARIES) {
    const found = await onPath(name, env)
    findings.push(
      found
        ? { severity: 'ok', what: `${name} is on PATH (${found})` }
        : {
            severity: 'warning',
            what: `${name} is not on PATH${name === 'git-credential-sstash' ? ': `credential.helper sstash` cannot work' : ''}`,
            fix: 'npm install -g sstash (or add the package\'s bin directory to PATH)',
          },
    )
  }
  return findings
}
