/**
 * `team git-setup`: the .gitattributes line that gives a team stash the sstash diff and merge
 * drivers, and this clone's git config that defines them (git keeps driver commands out of the
 * repository, so each clone sets its own).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { SSError } from '../errors.js'
import { READ_LIMITS, readRegularFile } from '../fs/read.js'

/** The driver name in .gitattributes and git config. */
export const DRIVER = 'sstash-team'

const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`

function git(cwd: string, args: string[]): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
  } catch (error) {
    throw new SSError(`git ${args[0]} failed in ${cwd}`, 'IO_ERROR', { cause: error, hint: 'the team stash must be inside a git work tree' })
  }
}

/** What git-setup did, for the message. */
export interface GitSetup {
  attributes: string
  added: boolean
}

/**
 * Writes the .gitattributes line for `stashPath` (a real path inside a git work tree) and the
 * drivers into the clone's git config, running sstash as `command` (shell words).
 */
export function gitSetup(stashPath: string, command: string): GitSetup {
  const root = git(dirname(stashPath), ['rev-parse', '--show-toplevel'])
  const rel = relative(root, stashPath).split('\\').join('/')
  const pattern = /[\s"#]/.test(rel) ? `"/${rel.replace(/["\\]/g, (c) => `\\${c}`)}"` : `/${rel}`
  const line = `${pattern} diff=${DRIVER} merge=${DRIVER}`
  const attributes = join(root, '.gitattributes')
  const current = Buffer.from(readRegularFile(attributes, READ_LIMITS.config) ?? new Uint8Array(0)).toString('utf8')
  const added = !current.split('\n').includes(line)
  if (added) writeFileSync(attributes, `${current}${current === '' || current.endsWith('\n') ? '' : '\n'}${line}\n`)
  git(root, ['config', '--local', `diff.${DRIVER}.textconv`, `${command} team textconv`])
  git(root, ['config', '--local', `merge.${DRIVER}.name`, 'sstash team stash'])
  git(root, ['config', '--local', `merge.${DRIVER}.driver`, `${command} team merge-file %O %A %B %P`])
  return { attributes, added }
}

/**
 * This sstash as shell words for git's config, found when git runs it rather than now, so that
 * it survives a switch of Node (nvm, fnm, volta) and a reinstall: `sstash` on PATH, else the
 * project's node_modules/.bin/sstash (git runs drivers at the work tree's root), else this
 * script, run by whichever `node` is on PATH then. No absolute path of a Node binary.
 */
export function selfCommand(): string {
  const self = resolve(process.argv[1] ?? 'sstash')
  const script = [
    'if command -v sstash >/dev/null 2>&1; then exec sstash "$@"; fi',
    'if [ -x node_modules/.bin/sstash ]; then exec node_modules/.bin/sstash "$@"; fi',
    `if [ -f ${shellQuote(self)} ]; then exec node -- ${shellQuote(self)} "$@"; fi`,
    'echo "sstash: error: sstash is not on PATH (npm install -g sstash)" >&2; exit 127',
  ].join('; ')
  return `sh -c ${shellQuote(script)} sstash`
}
