/**
 * `sstash-run [options] -- <command> [args...]`: runs a command with stash subtrees as
 * environment variables. Start-up matters here (it sits in front of `npm start`), so argv is
 * parsed by hand and nothing is imported that the common path does not use.
 */
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { SSError } from '../errors.js'
import { childEnv, checkPrefix, envFromSelections, type Selection } from '../env/naming.js'
import { parseKeyPath } from '../tree/key-path.js'
import { stashPath } from '../locations.js'
import { exitLikeChild, runCommand, type ChildExit } from '../env/runner.js'
import { readStash } from '../unlock/open.js'
import { SECRET_ENV_VARS } from '../unlock/secret-variables.js'
import { EXIT, UsageError, printError, runMain } from './output.js'

const USAGE = 'usage: sstash-run [-k <keypath>]... [--prefix P] [--override] [--mask] [--allow NAME]... [--stash PATH] -- <command> [args...]'

const HELP = `${USAGE}

Runs <command> with the values below each key path as environment variables.

  -k, --key <keypath>   a subtree to load (repeatable; a later one wins on the same name);
                        without -k, the "sstash" field of the nearest package.json chooses
  --prefix <P>          prepend P to every name
  --override            the stash wins over variables already set (default: they win)
  --mask                replace the values with ***** in the command's output (pipes it)
  --allow <NAME>        allow a name that is refused by default (LD_PRELOAD, NODE_OPTIONS, ...)
  --stash <path>        the stash file (default: $SSTASH_FILE, else the standard location)

Names: the key path below the subtree, segments joined by _, upper-cased, other characters _
  project/myapp/db/host with -k project/myapp  ->  DB_HOST
`

/** What the command line (and the package.json selection) asked for. */
export interface RunArgs {
  keys: string[]
  prefix?: string
  override: boolean
  mask: boolean
  allow: string[]
  stash?: string
  command: string
  args: string[]
  help?: boolean
}

/**
 * Parses sstash-run's argv. Options go before `--`; everything after it is the command.
 * @throws {UsageError} for an unknown option, a missing value, a missing `--` or command
 */
export function parseRunArgs(argv: readonly string[]): RunArgs {
  const parsed: RunArgs = { keys: [], override: false, mask: false, allow: [], command: '', args: [] }
  let i = 0
  const valueOf = (option: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline
    const next = argv[++i]
    if (next === undefined || next === '--') throw new UsageError(`${option} needs a value`, USAGE)
    return next
  }
  for (; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') {
      const [command, ...args] = argv.slice(i + 1)
      if (command === undefined || command === '') throw new UsageError('no command given after --', USAGE)
      return { ...parsed, command, args }
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1
    const name = eq === -1 ? arg : arg.slice(0, eq)
    const inline = eq === -1 ? undefined : arg.slice(eq + 1)
    if (name === '-k' || name === '--key') parsed.keys.push(valueOf(name, inline))
    else if (name.startsWith('-k') && !name.startsWith('--')) parsed.keys.push(name.slice(2))
    else if (name === '--prefix') parsed.prefix = valueOf(name, inline)
    else if (name === '--allow') parsed.allow.push(...valueOf(name, inline).split(','))
    else if (name === '--stash') parsed.stash = valueOf(name, inline)
    else if (name === '--override' && inline === undefined) parsed.override = true
    else if (name === '--mask' && inline === undefined) parsed.mask = true
    else if ((name === '-h' || name === '--help') && inline === undefined) return { ...parsed, help: true }
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${name}`, USAGE)
    else throw new UsageError(`put -- before the command: sstash-run [options] -- ${arg} ...`, USAGE)
  }
  throw new UsageError(parsed.keys.length || argv.length ? 'missing -- and the command to run' : 'no command given', USAGE)
}

/** The `"sstash"` field of a package.json, as documented in the README. */
interface ProjectConfig {
  keys?: string | string[]
  prefix?: string
  stash?: string
  override?: boolean
  mask?: boolean
  allow?: string[]
}

/**
 * Finds the nearest package.json with an `"sstash"` field, walking up from `cwd`.
 * @returns the field and the directory holding the file, or undefined
 * @throws {SSError} BAD_PROJECT_CONFIG for a file that is not JSON or a field of the wrong shape
 */
export function findProjectConfig(cwd: string): { config: ProjectConfig; dir: string; file: string } | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json')
    let text: string | undefined
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      text = undefined
    }
    if (text !== undefined) {
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        throw new SSError(`${file} is not valid JSON`, 'BAD_PROJECT_CONFIG')
      }
      const field = (json as Record<string, unknown> | null)?.sstash
      if (field !== undefined) return { config: checkConfig(field, file), dir, file }
    }
    if (dirname(dir) === dir) return undefined
  }
}

function checkConfig(field: unknown, file: string): ProjectConfig {
  const bad = (why: string): never => {
    throw new SSError(`the "sstash" field of ${file} ${why}`, 'BAD_PROJECT_CONFIG')
  }
  if (typeof field !== 'object' || field === null || Array.isArray(field)) bad('must be an object such as {"keys": ["project/myapp"]}')
  const c = field as Record<string, unknown>
  const strings = (v: unknown): boolean => Array.isArray(v) && v.every((s) => typeof s === 'string')
  if (c.keys !== undefined && typeof c.keys !== 'string' && !strings(c.keys)) bad('has "keys" that is not a string or a list of strings')
  for (const k of ['prefix', 'stash'] as const) if (c[k] !== undefined && typeof c[k] !== 'string') bad(`has "${k}" that is not a string`)
  for (const k of ['override', 'mask'] as const) if (c[k] !== undefined && typeof c[k] !== 'boolean') bad(`has "${k}" that is not true or false`)
  if (c.allow !== undefined && !strings(c.allow)) bad('has "allow" that is not a list of strings')
  return c as ProjectConfig
}

/**
 * Completes the command line with the project's selection when no `-k` was given.
 * @throws {UsageError} when neither gives a key path
 */
function withProjectConfig(args: RunArgs, cwd: string): RunArgs {
  if (args.keys.length > 0) return args
  const found = findProjectConfig(cwd)
  const keys = found?.config.keys
  if (!found || keys === undefined || keys.length === 0)
    throw new UsageError(
      found ? `the "sstash" field of ${found.file} has no "keys"` : 'no key paths: pass -k <keypath>',
      'or add {"sstash": {"keys": ["project/myapp"]}} to package.json',
    )
  const { config, dir } = found
  return {
    ...args,
    keys: typeof keys === 'string' ? [keys] : keys,
    prefix: args.prefix ?? config.prefix,
    override: args.override || config.override === true,
    mask: args.mask || config.mask === true,
    allow: [...(config.allow ?? []), ...args.allow],
    // A path in package.json is relative to that file, so it works from any subdirectory.
    stash: args.stash ?? (config.stash === undefined ? undefined : resolve(dir, config.stash)),
  }
}

/** Reads the selected subtrees: the only time the stash is open. */
async function loadSelections(path: string, keys: readonly string[][]): Promise<Selection[]> {
  const tree = await readStash(path, [...keys])
  return keys.map((base) => ({ base, entries: tree.entries(base) }))
}

/** Entry point of the binary. */
export async function main(argv: string[]): Promise<void> {
  await runMain(async () => {
    let args = parseRunArgs(argv)
    if (args.help) {
      process.stdout.write(HELP)
      return EXIT.OK
    }
    args = withProjectConfig(args, process.cwd())
    if (args.prefix !== undefined) checkPrefix(args.prefix)
    const keys = args.keys.map(parseKeyPath)
    const selections = await loadSelections(stashPath(args.stash), keys)
    const vars = envFromSelections(selections, { prefix: args.prefix, allow: args.allow })
    const { env, injected } = childEnv(process.env, vars, { override: args.override, remove: SECRET_ENV_VARS })
    let exit: ChildExit
    try {
      exit = await runCommand(args.command, args.args, { env, mask: args.mask ? injected.map((v) => v.value) : undefined })
    } catch (error) {
      // The codes a shell uses, so scripts can tell "no such command" from the command failing.
      if (error instanceof SSError && (error.code === 'COMMAND_NOT_FOUND' || error.code === 'COMMAND_NOT_EXECUTABLE')) {
        printError(error.message)
        return error.code === 'COMMAND_NOT_FOUND' ? EXIT.COMMAND_NOT_FOUND : 126
      }
      throw error
    }
    return exitLikeChild(exit)
  })
}
