/**
 * `sstash import` and `sstash export`: `.env` files (and git-credentials) in and out of the stash,
 * and reference files (`--write-refs`, `--env-file`, docs/REFERENCES.md).
 * The format code is loaded only when one of these commands runs.
 */
import { dirname, resolve } from 'node:path'
import type { CAC } from 'cac'
import { SSError } from '../../errors.js'
import { READ_LIMITS, readNamedFile, readRegularFile } from '../../fs/read.js'
import { formatKeyPath, parseKeyPath } from '../../tree/key-path.js'
import { UsageError } from '../exit.js'
import { printStatus, printWarning } from '../print.js'
import { openFromOptions, optionText, readFromOptions, type GlobalOptions } from '../stash-options.js'
import { readStdin } from '../stdin.js'
import { writeStdout } from '../stdout.js'
import { isTerminal } from '../terminal.js'
import { checkRemoveSource, importGitCredentialsFile } from './git-import.js'

type Options = GlobalOptions & Record<string, unknown>

const text = optionText
// A repeated option is an array of its values (see ../argv.ts).
const paths = (value: unknown): string[] => (value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String))
const list = (value: unknown): string[] => paths(value).flatMap((v) => v.split(','))

async function readInput(file: string): Promise<string> {
  // A regular file, or a pipe the user named (`<(cmd)`); a device or a directory is refused unread.
  const bytes = file === '-' ? await readStdin(undefined, READ_LIMITS.import) : readNamedFile(file, { maxBytes: READ_LIMITS.import, allowFifo: true }).bytes
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (error) {
    throw new SSError(`${file === '-' ? 'stdin' : file} is not valid UTF-8`, 'BAD_INPUT', { cause: error })
  }
}

async function importAction(fileArg: string | undefined, options: Options): Promise<number | void> {
  // A missing file means stdin, as `-` does; never a terminal.
  const file = fileArg ?? '-'
  if (file === '-' && isTerminal(0)) throw new UsageError('import needs a file, or - with the file on stdin', 'e.g. `sstash import .env --into project/myapp`')
  const format = text(options.format) ?? 'dotenv'
  const into = text(options.into)
  if (format !== 'dotenv' && format !== 'git-credentials')
    throw new UsageError(`unknown import format ${JSON.stringify(format)}`, 'use --format dotenv or --format git-credentials')
  if (into === undefined && format === 'dotenv') throw new UsageError('import needs --into <keypath>', 'e.g. `sstash import .env --into project/myapp`')
  checkRemoveSource(format, file, options)
  const base = into === undefined ? undefined : parseKeyPath(into)
  const refsFile = text(options.writeRefs)
  if (refsFile !== undefined && format !== 'dotenv') throw new UsageError('--write-refs is for --format dotenv', 'a reference file names variables of a .env')
  const input = await readInput(file)
  if (format === 'git-credentials') return importGitCredentialsFile(file, input, base, options)
  const target = base as string[]
  const { importDotenv } = await import('../../env/dotenv-import.js')
  const { vars, notes } = importDotenv(input, { into: target, expand: options.expand === true })
  // Everything that can fail about the reference file fails here, before anything is imported.
  if (options.update !== undefined && refsFile === undefined) throw new UsageError('--update is for --write-refs', 'e.g. `sstash import .env --into project/myapp --write-refs .env.sstash --update`')
  const refs = refsFile === undefined ? undefined : await referencesToWrite(refsFile, target, [...vars.keys()], list(options.allow), options.update !== undefined, file)
  // Everything worth knowing, before the one write (the notes never name a value).
  for (const note of notes) printWarning(note)
  const encoder = new TextEncoder()
  const stash = await openFromOptions(options)
  await stash.update((tree) => {
    for (const [name, value] of vars) tree.write([...target, name], encoder.encode(value))
  })
  printStatus(`imported ${vars.size} variables into ${formatKeyPath(target)}`)
  if (refsFile !== undefined) await writeReferences(refsFile, refs)
}

/**
 * The names of an import a reference file cannot hold, all in one error, with what to do:
 * the file's lines are read by shells and by every dotenv, so its names are the portable ones.
 */
async function cannotHold(error: unknown, refsFile: string, source: string, into: string[]): Promise<never> {
  // references.js (and dotenv) load only on this path: `sstash get` and `ls` never pay for them.
  const { SSReferenceError } = await import('../../env/references.js')
  if (!(error instanceof SSReferenceError)) throw error
  const names = error.problems.map((p) => p.where.replace(/^the reference file: /, '').split(':')[0] as string)
  const problems = error.problems.map((p) => ({ ...p, where: p.where.replace(/^the reference file/, refsFile) }))
  const renames = names.filter((n) => /[^A-Za-z0-9_]/.test(n)).map((n) => `${n} -> ${n.replace(/[^A-Za-z0-9_]/g, '_')}`)
  const what = [
    renames.length > 0 ? `rename ${renames.length === 1 ? 'it' : 'them'} in ${source} (${renames.join(', ')})` : undefined,
    error.problems.some((p) => p.code === 'DANGEROUS_ENV_NAME') ? '--allow NAME for a refused name you mean' : undefined,
    `or import without --write-refs and run with \`sstash-run -k ${formatKeyPath(into)}\`, which keeps names such as KEY-WITH-DASH; nothing was imported`,
  ].filter((x) => x !== undefined)
  throw new SSReferenceError(problems, 'BAD_REFERENCE', what.join('; '))
}

/**
 * The reference file `--write-refs` will write, checked before the import: a name it cannot
 * hold, or another file already at that path, stops the import before anything is stored.
 * @returns the file's text, or undefined when the same file is there already
 */
/** The reference file to write: new, or (`--update`) an existing one grown, replaced only if it is still `before`. */
type RefsToWrite = { text: string; before?: Uint8Array; added?: string[] } | undefined

async function referencesToWrite(path: string, base: string[], names: string[], allow: string[], update: boolean, source: string): Promise<RefsToWrite> {
  const { referencesForImport } = await import('../../env/references.js')
  let refs: string
  try {
    refs = referencesForImport(base, names, { allow })
  } catch (error) {
    return cannotHold(error, path, source === '-' ? 'the input' : source, base)
  }
  // The directory writeAtomic will refuse, refused now.
  const { checkStashDirectory } = await import('../../fs/directory.js')
  checkStashDirectory(dirname(resolve(path)))
  const existing = readRegularFile(path, READ_LIMITS.references)
  if (existing === undefined) return { text: refs }
  if (update) {
    const { addReferences } = await import('../../env/reference-update.js')
    const grown = addReferences(new TextDecoder().decode(existing), path, base, names, { allow })
    return grown.added.length === 0 ? undefined : { text: grown.text, before: existing, added: grown.added }
  }
  if (Buffer.from(existing).equals(Buffer.from(refs))) return undefined
  throw new SSError(`${path} already exists (and differs from the reference file this import would write)`, 'DEST_EXISTS', {
    hint: 'add --update to add the new variables to it (its other lines stay as they are), or choose another --write-refs file; nothing was imported',
  })
}

/** Writes the reference file atomically, never over a file that appeared meanwhile (`refs` undefined: it is there already). */
async function writeReferences(path: string, refs: RefsToWrite): Promise<void> {
  if (refs === undefined) return printStatus(`${path} already holds these references`)
  const { writeAtomic } = await import('../../fs/write.js')
  if (refs.before !== undefined) {
    // --update: someone else's edit since it was read is never overwritten.
    const now = readRegularFile(path, READ_LIMITS.references)
    if (now === undefined || !Buffer.from(now).equals(Buffer.from(refs.before)))
      throw new SSError(`${path} changed during the import: the variables are in the stash, the reference file was not updated`, 'DEST_EXISTS', { hint: 'run the import again' })
    await writeAtomic(resolve(path), new TextEncoder().encode(refs.text))
    return printStatus(`added ${(refs.added ?? []).join(', ')} to ${path}; its other lines are unchanged`)
  }
  await writeAtomic(resolve(path), new TextEncoder().encode(refs.text), { exclusive: true }).catch((error: unknown) => {
    throw error instanceof SSError && error.code === 'STASH_EXISTS'
      ? new SSError(`${path} appeared during the import: the variables are in the stash, the reference file was not written`, 'DEST_EXISTS', { cause: error })
      : error
  })
  printStatus(`wrote ${path}`)
}

async function exportAction(keypath: string | undefined, options: Options): Promise<void> {
  const [{ readVariables }, { formatEnv, EXPORT_FORMATS }] = await Promise.all([import('../../env/select.js'), import('../../env/dotenv.js')])
  const format = text(options.format) ?? 'dotenv'
  if (!(EXPORT_FORMATS as readonly string[]).includes(format))
    throw new UsageError(`unknown export format ${JSON.stringify(format)}`, `use --format ${EXPORT_FORMATS.join(', --format ')}`)
  const envFiles = paths(options.envFile)
  if (keypath === undefined && envFiles.length === 0)
    throw new UsageError('export needs a <keypath> or --env-file <file>', 'e.g. `sstash export project/myapp` or `sstash export --env-file .env.sstash`')
  const sources = { envFiles, keys: keypath === undefined ? [] : [parseKeyPath(keypath)], prefix: text(options.prefix), allow: list(options.allow) }
  const vars = await readVariables(sources, (keys) => readFromOptions(options, keys))
  writeStdout(formatEnv([...vars.values()], format))
}

/** Registers `sstash import` and `sstash export`. */
export function registerEnvCommands(cli: CAC): void {
  cli.command('import [file]', 'store the variables of a .env file (or - for stdin) below a key path, in one write')
    .option('--into <keypath>', 'where to store them (each variable becomes <keypath>/<NAME>)')
    .option('--format <format>', 'dotenv (the default) or git-credentials (a ~/.git-credentials file; --into defaults to git)')
    .option('--remove-source', 'git-credentials: then rewrite the file without the lines imported (remove it when none is left)')
    .option('--expand', 'expand ${VAR} references as dotenv run does (dotenv-expand), from the file, then the environment')
    .option('--write-refs <file>', 'also write a reference file (NAME=sstash://<keypath>/NAME lines) for what was imported')
    .option('--allow <name>', '--write-refs: allow a name refused by default, such as NODE_OPTIONS (repeatable)')
    .option('--update', '--write-refs: add the new variables to an existing reference file, leaving its lines as they are')
    .example('  $ sstash import .env --into project/myapp')
    .example('  $ sstash import .env --into project/myapp --write-refs .env.sstash')
    .example('  $ sstash import .env.new --into project/myapp --write-refs .env.sstash --update')
    .example('  $ sstash import ~/.git-credentials --format git-credentials --remove-source')
    .action((file: string | undefined, options: Options) => importAction(file, options))

  cli.command('export [keypath]', 'print a subtree, or resolved reference files, as variables, as sstash-run gives them')
    .option('--env-file <file>', 'a reference file to resolve (repeatable; a later file wins, and <keypath> wins over the files)')
    .option('--format <format>', 'dotenv (the default), json, or shell (export NAME=\'...\' lines for eval)')
    .option('--prefix <prefix>', 'prepend this to every name')
    .option('--allow <name>', 'allow a name refused by default, such as NODE_OPTIONS (repeatable)')
    .example('  $ sstash export project/myapp > .env')
    .example('  $ eval "$(sstash export project/myapp --format shell)"')
    .example('  $ eval "$(sstash export --env-file .env.sstash --format shell)"')
    .action((keypath: string | undefined, options: Options) => exportAction(keypath, options))
}
