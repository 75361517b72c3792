/**
 * What both halves of `sstash-run` share (./run-agent.ts, whose stash read only asks the agent,
 * and ./sstash-run.ts, which can open the stash): the command line, the selection with the read
 * each passes in, and starting the command. Start-up matters here (it sits in front of
 * `npm start`), so argv is parsed by hand (./argv.ts) and nothing is imported that the common
 * path does not use.
 */
import { writeSync } from 'node:fs'
import type { AgentSaid } from '../agent/request.js'
import { SSError } from '../errors.js'
import { environmentOf, type SelectedEnvironment, type StashRead } from '../env/select.js'
import { exitLikeChild, runCommand, type ChildExit } from '../env/runner.js'
import type { Selection } from '../env/selection.js'
import { parseArgv, type OptionSpec, type ParsedArgv } from './argv.js'
import { EXIT, UsageError } from './exit.js'
import { printError, printHint } from './print.js'

const USAGE = 'usage: sstash-run [--env-file <file>]... [-k <keypath>]... [--prefix P] [--override] [--mask] [--allow NAME]... [--stash PATH] -- <command> [args...]'

const HELP = `${USAGE}

Runs <command> with the values below each key path, and the variables of each reference file,
as environment variables.

  --env-file <file>     a reference file (.env.sstash: NAME=plain or NAME=sstash://key/path) to
                        resolve (repeatable; a later file wins, and -k wins over the files)
  -k, --key <keypath>   a subtree to load (repeatable; a later one wins on the same name);
                        without -k or --env-file, the "sstash" field of the nearest package.json chooses
  --prefix <P>          prepend P to every name from -k (a reference file's names stay as written)
  --override            the stash wins over variables already set (default: they win)
  --mask                replace the stash's values with ***** in the command's output (pipes it)
  --allow <NAME>        allow a name that is refused by default (LD_PRELOAD, NODE_OPTIONS, GIT_*, ...)
  --stash <path>        the stash file (default: $SSTASH_FILE, else the standard location)

Names: a value right below the key path keeps its name as written (http_proxy stays http_proxy);
deeper ones are joined by _, each letter in its own case: project/myapp/DB/HOST with -k project/myapp -> DB_HOST.
Reference: docs/RUN.md, docs/REFERENCES.md
`

const SPEC: readonly OptionSpec[] = [
  { names: ['k', 'key'], takesValue: true },
  { names: ['envFile'], takesValue: true },
  { names: ['prefix'], takesValue: true },
  { names: ['allow'], takesValue: true },
  { names: ['stash'], takesValue: true },
  { names: ['override'], takesValue: false },
  { names: ['mask'], takesValue: false },
  { names: ['h', 'help'], takesValue: false },
]

/** What the command line asked for: the selection, and the command to run with it. */
interface RunArgs extends Selection {
  command: string
  args: string[]
  help?: boolean
}

/**
 * parseArgv, except that `sstash-run node -e 1` (the command's own option read as ours) says
 * to put `--` before the command instead of only "unknown option -e".
 */
function parseOrExplain(argv: readonly string[]): ParsedArgv {
  try {
    return parseArgv(argv, SPEC, { unknown: 'error', usage: USAGE })
  } catch (error) {
    if (!(error instanceof SSError) || !error.message.startsWith('unknown option')) throw error
    // The command word: the first argument before `--` that is neither an option nor an option's value.
    const at = argv.findIndex((_, i) => parseArgv(argv.slice(0, i + 1), SPEC, { unknown: 'keep' }).args.length > 0)
    if (at < 0) throw error
    // The unknown option came before the command word: it is ours, misspelled.
    parseArgv(argv.slice(0, at), SPEC, { unknown: 'error', usage: USAGE })
    const command = argv.slice(at).join(' ')
    throw new UsageError(`${error.message}: put -- before the command, as in sstash-run [options] -- ${command}`, USAGE)
  }
}

/**
 * Parses sstash-run's argv. Options go before `--`; everything after it is the command.
 * @throws {SSError} USAGE for an unknown option, a missing value, a missing `--` or command
 */
function parseRunArgs(argv: readonly string[]): RunArgs {
  const { options, args: positional, rest } = parseOrExplain(argv)
  const values = (name: string): string[] => {
    const given = options[name]
    return Array.isArray(given) ? given : []
  }
  const parsed: RunArgs = {
    keys: values('key'),
    envFiles: values('envFile'),
    prefix: values('prefix').at(-1),
    override: options.override === true,
    mask: options.mask === true,
    allow: values('allow').flatMap((a) => a.split(',')),
    stash: values('stash').at(-1),
    command: '',
    args: [],
  }
  if (options.help === true) return { ...parsed, help: true }
  const stray = positional[0]
  if (stray !== undefined && rest !== undefined) {
    // `sstash-run project/myapp -- cmd`: the -k was forgotten.
    throw new UsageError(`${stray} is not an option: did you mean -k ${stray}?`, USAGE)
  }
  if (stray !== undefined) throw new UsageError(`put -- before the command: sstash-run [options] -- ${stray} ...`, USAGE)
  if (rest === undefined) throw new UsageError(parsed.keys.length || argv.length ? 'missing -- and the command to run' : 'no command given', USAGE)
  const [command, ...args] = rest
  if (command === undefined || command === '') throw new UsageError('no command given after --', USAGE)
  return { ...parsed, command, args }
}

/**
 * A warning, written with a blocking write: touching process.stderr would make a pipe on fd 2
 * non-blocking, and the command that replaces us by execve would inherit that.
 */
function warn(message: string): void {
  writeSync(2, `sstash: warning: ${message}\n`)
}

/** What the first half hands the second: what the agent said, and the signals it took from the launcher's note. */
export interface Handed {
  said: AgentSaid
  ignored: readonly NodeJS.Signals[]
}

/** A command line ready to start: its help, or its command with the environment selected for it. */
export type Prepared = { help: true } | { command: string; args: string[]; selected: SelectedEnvironment; ignored: readonly NodeJS.Signals[] }

/**
 * Everything before the command starts: the command line parsed, the environment selected with
 * `read`. Prints nothing, so that a first half that could not do it can hand the line over.
 * @param ignored - the signals the launcher found ignored (takeIgnoredSignals, taken before the
 *   selection reads the environment: the launcher's note is not the command's)
 * @throws {SSError} as parseRunArgs and environmentOf
 */
export async function prepare(argv: readonly string[], read: StashRead, ignored: readonly NodeJS.Signals[]): Promise<Prepared> {
  const args = parseRunArgs(argv)
  if (args.help) return { help: true }
  const { command, args: commandArgs, help: _, ...selection } = args
  return { command, args: commandArgs, selected: await environmentOf(selection, read), ignored }
}

/**
 * Prints the help, or the selection's warnings and then starts the command.
 * @returns the exit code (the command's, as a shell gives it; 126 or 127 when it cannot start)
 */
export async function start(prepared: Prepared): Promise<number> {
  if ('help' in prepared) {
    process.stdout.write(HELP)
    return EXIT.OK
  }
  const { command, args, selected, ignored } = prepared
  for (const warning of selected.warnings) warn(warning)
  let exit: ChildExit
  try {
    exit = await runCommand(command, args, { env: selected.env, mask: selected.mask ? selected.secrets : undefined, exec: true, ignored })
  } catch (error) {
    // The codes a shell uses, so scripts can tell "no such command" from the command failing.
    if (error instanceof SSError && (error.code === 'COMMAND_NOT_FOUND' || error.code === 'COMMAND_NOT_EXECUTABLE' || error.code === 'SPAWN_FAILED')) {
      printError(error.message)
      if (error.hint) printHint(error.hint)
      return error.code === 'COMMAND_NOT_FOUND' ? EXIT.COMMAND_NOT_FOUND : 126
    }
    throw error
  }
  return exitLikeChild(exit)
}
