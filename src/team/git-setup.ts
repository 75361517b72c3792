/**
 * `team git-setup`: the .gitattributes line that gives a team stash the sstash diff and merge
 * drivers, and this clone's git config that defines them (git keeps driver commands out of the
 * repository, so each clone sets its own).
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { SSError } from '../errors.js'
import { READ_LIMITS, readRegularFile } from '../store/read.js'

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

/** This sstash as shell words: node and the script it runs, by absolute path. */
export function selfCommand(): string {
  return [process.execPath, process.argv[1] ?? 'sstash'].map(shellQuote).join(' ')
}
