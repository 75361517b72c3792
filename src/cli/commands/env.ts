/**
 * `sstash import` and `sstash export`: `.env` files (and git-credentials) in and out of the stash.
 * The format code is loaded only when one of these commands runs.
 */
import { readFileSync } from 'node:fs'
import type { CAC } from 'cac'
import { SSError, ioError } from '../../errors.js'
import { formatKeyPath, parseKeyPath } from '../../tree/key-path.js'
import { UsageError, openFromOptions, optionText, printStatus, printWarning, readFromOptions, readStdin, writeOut, type GlobalOptions } from '../output.js'
import { checkRemoveSource, importGitCredentialsFile } from './git-import.js'

type Options = GlobalOptions & Record<string, unknown>

const text = optionText
// A repeated option is an array of its values (see ../argv.ts).
const list = (value: unknown): string[] =>
  value === undefined ? [] : (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','))


async function readInput(file: string): Promise<string> {
  let bytes: Buffer
  try {
    bytes = file === '-' ? Buffer.from(await readStdin()) : readFileSync(file)
  } catch (error) {
    throw ioError('read', file, error)
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (error) {
    throw new SSError(`${file === '-' ? 'stdin' : file} is not valid UTF-8`, 'BAD_INPUT', { cause: error })
  }
}

async function importAction(fileArg: string | undefined, options: Options): Promise<number | void> {
  // A missing file means stdin, as `-` does; never a terminal.
  const file = fileArg ?? '-'
  if (file === '-' && process.stdin.isTTY) throw new UsageError('import needs a file, or - with the file on stdin', 'e.g. `sstash import .env --into project/myapp`')
  const format = text(options.format) ?? 'dotenv'
  const into = text(options.into)
  if (format !== 'dotenv' && format !== 'git-credentials')
    throw new UsageError(`unknown import format ${JSON.stringify(format)}`, 'use --format dotenv or --format git-credentials')
  if (into === undefined && format === 'dotenv') throw new UsageError('import needs --into <keypath>', 'e.g. `sstash import .env --into project/myapp`')
  checkRemoveSource(format, file, options)
  const base = into === undefined ? undefined : parseKeyPath(into)
  const input = await readInput(file)
  let count: number
  if (format === 'dotenv') {
    const { importDotenv } = await import('../../env/dotenv-import.js')
    const { vars, notes } = importDotenv(input, { into: base as string[], expand: options.expand === true })
    // Everything worth knowing, before the one write (the notes never name a value).
    for (const note of notes) printWarning(note)
    const encoder = new TextEncoder()
    const stash = await openFromOptions(options)
    await stash.update((tree) => {
      for (const [name, value] of vars) tree.write([...(base as string[]), name], encoder.encode(value))
    })
    count = vars.size
  } else {
    return importGitCredentialsFile(file, input, base, options)
  }
  const where = base === undefined ? 'the git layout' : formatKeyPath(base)
  printStatus(`imported ${count} ${format === 'dotenv' ? 'variables' : 'credentials'} into ${where}`)
}

async function exportAction(keypath: string, options: Options): Promise<void> {
  const [{ envFromEntries }, { formatEnv, EXPORT_FORMATS }] = await Promise.all([import('../../env/naming.js'), import('../../env/dotenv.js')])
  const format = text(options.format) ?? 'dotenv'
  if (!(EXPORT_FORMATS as readonly string[]).includes(format))
    throw new UsageError(`unknown export format ${JSON.stringify(format)}`, `use --format ${EXPORT_FORMATS.join(', --format ')}`)
  const base = parseKeyPath(keypath)
  const entries = (await readFromOptions(options, [base])).entries(base)
  const vars = envFromEntries(base, entries, { prefix: text(options.prefix), allow: list(options.allow) })
  const output = formatEnv(vars, format)
  await writeOut(output)
}

/** Registers `sstash import` and `sstash export`. */
export function registerEnvCommands(cli: CAC): void {
  cli.command('import [file]', 'store the variables of a .env file (or - for stdin) below a key path, in one write')
    .option('--into <keypath>', 'where to store them (each variable becomes <keypath>/<NAME>)')
    .option('--format <format>', 'dotenv (the default) or git-credentials (a ~/.git-credentials file; --into defaults to git)')
    .option('--remove-source', 'git-credentials: delete the file once every line of it is in the stash')
    .option('--expand', 'expand ${VAR} references as dotenv run does (dotenv-expand), from the file, then the environment')
    .example('  $ sstash import .env --into project/myapp')
    .example('  $ sstash import ~/.git-credentials --format git-credentials --remove-source')
    .action((file: string | undefined, options: Options) => importAction(file, options))

  cli.command('export <keypath>', 'print a subtree as variables, named as sstash-run names them')
    .option('--format <format>', 'dotenv (the default), json, or shell (export NAME=\'...\' lines for eval)')
    .option('--prefix <prefix>', 'prepend this to every name')
    .option('--allow <name>', 'allow a name refused by default, such as NODE_OPTIONS (repeatable)')
    .example('  $ sstash export project/myapp > .env')
    .example('  $ eval "$(sstash export project/myapp --format shell)"')
    .action((keypath: string, options: Options) => exportAction(keypath, options))
}
