/**
 * `sstash doctor` as a library function: checks what can go wrong around a stash without
 * its password (file and directory permissions, the format and key-derivation strength, a
 * lock left behind, the binaries git needs on PATH, git's helpers: see ../git/doctor.ts) and
 * says how to fix each finding.
 */
import { constants } from 'node:fs'
import { access, lstat, readdir, stat } from 'node:fs/promises'
import { delimiter, dirname, join } from 'node:path'
import { SSError } from '../errors.js'
import type { Finding } from '../finding.js'
import { checkStashDirectory } from '../fs/directory.js'
import { isAlive, judgeLock, lockOwners, lockPathOf, readLock, type LockFile } from '../fs/lock.js'
import { tempFileOwner } from '../fs/write.js'
import { readIfExists, resolveStashPath } from '../fs/read.js'
import { parseStash } from '../format/stash-file.js'
import { formatKdfSpec, isWeakKdf } from '../format/kdf.js'
import { gitFindings } from '../git/doctor.js'
import { isTeamStash } from '../team/detect.js'

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

/**
 * The file itself: a regular file of ours, and private. A team stash is committed to a repository
 * and read by everyone who clones it (its values are sealed to members' keys), so only write
 * access by others is a finding for it.
 */
async function fileFindings(path: string, real: string, team: boolean): Promise<Finding[]> {
  const out: Finding[] = []
  const link = await lstat(path)
  if (link.isSymbolicLink()) out.push({ severity: 'note', what: `${path} is a symbolic link to ${real}; writes replace ${real}` })
  const info = await stat(real)
  if (!info.isFile()) return [...out, { severity: 'problem', what: `${real} is not a regular file` }]
  const uid = process.getuid?.()
  if (uid !== undefined && info.uid !== uid)
    out.push({ severity: 'problem', what: `${real} belongs to another user (uid ${info.uid})`, fix: `chown ${uid} ${real}` })
  if (team && (info.mode & 0o022) !== 0)
    out.push({ severity: 'warning', what: `${real} has mode ${mode(info.mode)}: other users can replace the team stash`, fix: `chmod go-w ${real}` })
  else if (team) out.push({ severity: 'ok', what: `file mode ${mode(info.mode)} (a team stash: readable by whoever clones the repository, values sealed to members' keys)` })
  else if ((info.mode & 0o077) !== 0)
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
    checkStashDirectory(dir)
  } catch (error) {
    if (error instanceof SSError) return [{ severity: 'problem', what: error.message, fix: `chmod 700 ${dir}, or move the stash to a directory of your own` }]
    throw error
  }
  const info = await stat(dir)
  if ((info.mode & 0o022) !== 0 && (info.mode & 0o1000) === 0)
    return [{ severity: 'warning', what: `directory ${dir} has mode ${mode(info.mode)}: your group can replace files in it`, fix: `chmod go-w ${dir}` }]
  return [{ severity: 'ok', what: `directory ${dir} mode ${mode(info.mode)}` }]
}

function formatFindings(real: string, bytes: Uint8Array): Finding[] {
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
  if (isWeakKdf(locked.kdf))
    out.push({
      severity: 'warning',
      what: `the key derivation ${spec} is weak: a stolen copy of the file is cheap to attack`,
      fix: locked.format === 'python' ? 'sstash migrate' : 'sstash passwd --kdf scrypt',
    })
  return out
}

// What the lock module's rules (lock.ts) would do with the lock found, said to the user.
function lockFinding(real: string, lockPath: string, lock: LockFile): Finding {
  const owner = lock.owner
  const who = owner ? `process ${owner.pid} on ${owner.host}` : 'a writer'
  switch (judgeLock(lock, lockOwners(real))) {
    case 'held':
      return { severity: 'note', what: `process ${owner?.pid ?? '?'} is writing the stash right now (${lockPath})` }
    case 'starting':
      return { severity: 'note', what: `a writer is taking the lock right now (${lockPath})` }
    case 'abandoned':
      return {
        severity: 'warning',
        what: `stale lock ${lockPath} ${owner ? `left by ${who}, which is gone` : 'names no owner (an interrupted write left it)'} (the next write breaks it)`,
        fix: `rm ${lockPath}`,
      }
    case 'remote':
      return {
        severity: 'warning',
        what: `lock ${lockPath} held by ${who}: sstash cannot see whether it still runs, and never breaks it`,
        fix: `if no sstash runs on ${owner?.host ?? 'that host'}: rm ${lockPath}`,
      }
    case 'foreign':
      return {
        severity: 'problem',
        what: `${lockPath} was made by another user (uid ${lock.uid}); writes remove it, or fail where they may not`,
        fix: `rm ${lockPath} (as root, in a shared directory), or move the stash to a directory of your own`,
      }
  }
}

function lockFindings(real: string): Finding[] {
  const lockPath = lockPathOf(real)
  let lock
  try {
    lock = readLock(lockPath)
  } catch (error) {
    if (error instanceof SSError) return [{ severity: 'problem', what: `${error.message}: it is not a lock sstash made, and blocks every write`, fix: `rm ${lockPath}` }]
    throw error
  }
  return [lock === undefined ? { severity: 'ok', what: 'no lock held' } : lockFinding(real, lockPath, lock)]
}

async function leftoverFindings(real: string): Promise<Finding[]> {
  const names = await readdir(dirname(real)).catch(() => [] as string[])
  return names
    .filter((name) => {
      const owner = tempFileOwner(real, name)
      return owner !== undefined && !isAlive(owner)
    })
    .map((name) => ({
      severity: 'note' as const,
      what: `${join(dirname(real), name)} was left by an interrupted write (it holds only encrypted data)`,
      fix: `rm ${join(dirname(real), name)}`,
    }))
}

/**
 * Checks a stash and its surroundings. Needs no password and changes nothing.
 * @param path - the stash file (it may be missing: that is a finding too)
 * @param env - where PATH is read from, and HOME and git's variables for the git checks
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
    const team = isTeamStash(bytes)
    findings.push(...(await fileFindings(path, real, team)))
    findings.push(...(await directoryFindings(dirname(real))))
    findings.push(...(team ? (await import('../team/doctor.js')).teamFindings(real, bytes) : formatFindings(real, bytes)))
    findings.push(...lockFindings(real))
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
  findings.push(...(await gitFindings(env)))
  return findings
}
