/**
 * `sstash guard install`: the pre-commit and pre-push hooks. The hooks folder is the one git
 * itself uses (`git rev-parse --git-path hooks`: core.hooksPath, a worktree's common folder).
 * A hook sstash did not write is never overwritten: it is renamed `<hook>.sstash-chained`,
 * and ours runs it first, with the same arguments and input; `--uninstall` puts it back. The
 * hooks start `sstash` through PATH, as git starts any command, never a path to one Node.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { READ_LIMITS, readRegularFile } from '../fs/read.js'
import { join, resolve } from 'node:path'
import { SSError, ioError } from '../errors.js'

/** The line that marks a hook as ours. */
export const HOOK_MARK = '# sstash-guard-hook 1'
/** The suffix of a user's hook that ours runs first. */
export const CHAINED = '.sstash-chained'

const HOOKS = ['pre-commit', 'pre-push'] as const
type HookName = (typeof HOOKS)[number]

const missing = `echo "sstash: error: the leak guard's hook cannot find sstash on PATH" >&2
  echo "sstash: hint: put sstash on PATH, or \\\`sstash guard install --uninstall\\\`; \\\`git commit --no-verify\\\` skips hooks once" >&2
  exit 1`

function script(name: HookName): string {
  const head = `#!/bin/sh
# Written by \`sstash guard install\`: the leak guard's ${name} hook. A hook that was here
# before runs first, from ${name}${CHAINED}; \`sstash guard install --uninstall\` puts it back.
${HOOK_MARK}
`
  if (name === 'pre-commit')
    return `${head}if [ -x "$0${CHAINED}" ]; then "$0${CHAINED}" "$@" || exit $?; fi
if ! command -v sstash >/dev/null 2>&1; then
  ${missing}
fi
exec sstash guard scan --staged
`
  // git gives pre-push the refs on stdin: both hooks read them.
  return `${head}input=$(cat)
if [ -x "$0${CHAINED}" ]; then printf '%s\\n' "$input" | "$0${CHAINED}" "$@" || exit $?; fi
if ! command -v sstash >/dev/null 2>&1; then
  ${missing}
fi
printf '%s\\n' "$input" | sstash guard scan --pre-push "$1"
`
}

/** The hooks folder git uses for the repository `cwd` is in. @throws {SSError} USAGE outside one */
export function hooksDir(cwd: string): string {
  const result = spawnSync('git', ['rev-parse', '--git-path', 'hooks'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  if (result.error) throw ioError('run', 'git', result.error)
  if (result.status !== 0) throw new SSError('not inside a git repository', 'USAGE', { hint: 'run `sstash guard install` in the repository to guard' })
  return resolve(cwd, result.stdout.toString('utf8').trim())
}

const isOurs = (path: string): boolean => {
  try {
    return Buffer.from(readRegularFile(path, READ_LIMITS.config) ?? new Uint8Array(0)).toString('utf8').includes(HOOK_MARK)
  } catch {
    return false
  }
}

/** What install or uninstall did to each hook, for the status lines. */
export interface HookChange {
  hook: string
  action: 'installed' | 'updated' | 'chained' | 'removed' | 'restored' | 'not ours' | 'absent'
}

/**
 * Writes both hooks into `dir`, chaining to a hook that is there and not ours.
 * @throws {SSError} WRITE_FAILED
 */
export function installHooks(dir: string): HookChange[] {
  try {
    mkdirSync(dir, { recursive: true })
  } catch (error) {
    throw ioError('create directory', dir, error, 'WRITE_FAILED')
  }
  return HOOKS.map((name) => {
    const path = join(dir, name)
    let action: HookChange['action'] = 'installed'
    if (isOurs(path)) action = 'updated'
    else if (existsSync(path)) {
      if (existsSync(path + CHAINED))
        throw new SSError(`${path} is not sstash's, and ${path}${CHAINED} exists already`, 'DEST_EXISTS', { hint: `merge the two by hand, then run \`sstash guard install\` again` })
      try {
        renameSync(path, path + CHAINED)
      } catch (error) {
        throw ioError('move', path, error, 'WRITE_FAILED')
      }
      action = 'chained'
    }
    try {
      writeFileSync(path, script(name), { mode: 0o755 })
      chmodSync(path, 0o755)
    } catch (error) {
      throw ioError('write', path, error, 'WRITE_FAILED')
    }
    return { hook: path, action }
  })
}

/**
 * Removes our hooks from `dir` and puts back the hooks they chained to; a hook that is not
 * ours is left alone.
 * @throws {SSError} WRITE_FAILED
 */
export function uninstallHooks(dir: string): HookChange[] {
  return HOOKS.map((name) => {
    const path = join(dir, name)
    if (!existsSync(path)) return { hook: path, action: 'absent' }
    if (!isOurs(path)) return { hook: path, action: 'not ours' }
    try {
      rmSync(path)
      if (existsSync(path + CHAINED)) {
        renameSync(path + CHAINED, path)
        return { hook: path, action: 'restored' }
      }
    } catch (error) {
      throw ioError('restore', path, error, 'WRITE_FAILED')
    }
    return { hook: path, action: 'removed' }
  })
}
