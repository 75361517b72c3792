/**
 * The `sstash` command: one short action per command over the library. Values enter through
 * stdin, a file or a hidden prompt, never argv (anyone can read argv in `ps`); values leave
 * through stdout only for `get` and when `--values` is asked for.
 */
import { accessSync, constants, lstatSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { basename, dirname, join } from 'node:path'
import { cac, type CAC, type Command } from 'cac'
import { SSError, ioError } from '../errors.js'
import type { KdfParams } from '../format/kdf.js'
import { parseKeyPath } from '../tree/key-path.js'
import { READ_LIMITS, readRegularFile } from '../fs/read.js'
import { defaultStashPath, stashPath } from '../locations.js'
import type { SourcedPassword } from '../unlock/password.js'
import { agentTimeoutFromEnv, openPersonalStash, openWithPassword, shareWithAgent } from '../unlock/open.js'
import { parseArgv, type ParsedArgv } from './argv.js'
import { EXIT, UsageError, existingStash, openFromOptions, optionText as text, readFromOptions, printStatus, printWarning, runMain, writeJson, writeStdout, type GlobalOptions } from './output.js'
import { get, plainGet } from './get.js'
import { listJson, listLines, treeJson, treeLines } from './commands/listing.js'
import { registerEnvCommands } from './commands/env.js'
import { registerValueCommands } from './commands/values.js'
import { registerAgentCommands } from './commands/agent.js'
import { registerInjectCommand } from './commands/inject.js'
import { registerTeamCommands } from './commands/team.js'
import { registerEnrollCommand } from './commands/enroll.js'
import { registerGuardCommands } from './commands/guard.js'
import { registerGenerateCommand } from './commands/generate.js'
import { registerGitCommands } from './commands/git-credentials.js'
import { doctorCommand } from './commands/doctor.js'
import { completionQuestion, registerShellCommands } from './commands/shell.js'
import { unknownCommand } from './unknown-command.js'
// The cipher and stash (secure-stash.js), the KDF (kdf.js, node:crypto), writing, the password
// sources, the prompt and the doctor are imported by the commands that need them: `get`, `ls`
// and `set` through the agent load none.

type Options = GlobalOptions & Record<string, unknown>

// sstash's own package.json, beside dist/ (see scripts/bundle.mjs for the bundle's layout).
const version = (JSON.parse(Buffer.from(readRegularFile(fileURLToPath(new URL('../../package.json', import.meta.url)), READ_LIMITS.config) ?? '{}').toString('utf8')) as { version: string }).version

const exists = (path: string): boolean => {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

/** A password shorter than this gets a warning when it is chosen (NIST SP 800-63B's minimum). */
const SHORT_PASSWORD = 8

/** The KDF `--kdf` asks for, else `fallback`, else the default. */
async function kdfOption(options: Options, fallback?: KdfParams): Promise<KdfParams> {
  const { DEFAULT_SCRYPT, parseKdfSpec } = await import('../format/kdf.js')
  const spec = text(options.kdf)
  return spec === undefined ? (fallback ?? DEFAULT_SCRYPT) : parseKdfSpec(spec)
}

/**
 * Warns, as `sstash doctor` does, about a weak choice the user is about to make: a `--kdf`
 * below the default's strength, or a short new password. Called once everything else passed.
 */
async function warnIfWeak(options: Options, kdf: KdfParams, password?: string): Promise<void> {
  const { formatKdfSpec, isWeakKdf } = await import('../format/kdf.js')
  if (text(options.kdf) !== undefined && isWeakKdf(kdf))
    printWarning(`the key derivation ${formatKdfSpec(kdf)} is weak: a stolen copy of the file is cheap to attack (the default, --kdf scrypt, is not)`)
  const length = password === undefined ? SHORT_PASSWORD : [...password].length
  if (length < SHORT_PASSWORD)
    printWarning(`the password is only ${length} character${length === 1 ? '' : 's'} long: a stolen copy of the file is quick to guess (use ${SHORT_PASSWORD} or more, or several words)`)
}

/**
 * A new password: from the sources in the environment (SSTASH_PASSWORD_FILE, SSTASH_PASSWORD,
 * SSTASH_ASKPASS for `init`; SSTASH_NEW_PASSWORD_FILE and SSTASH_NEW_PASSWORD for `passwd`),
 * else typed twice on the terminal. An empty password is refused before it is asked again.
 */
async function newPassword(path: string, command: 'init' | 'passwd'): Promise<SourcedPassword> {
  const { passwordFromEnvironment } = await import('../unlock/password.js')
  const { promptHidden } = await import('../unlock/tty.js')
  let chosen = await passwordFromEnvironment(path, { newPassword: command === 'passwd' })
  if (chosen === undefined) {
    const { displayPath } = await import('../unlock/display-path.js')
    const typed = await promptHidden(`sstash: new password for the stash ${displayPath(path)}: `)
    if (typed === undefined)
      throw new SSError(`no terminal to ask for the new password of ${path}`, 'NO_PASSWORD', {
        hint: `run \`sstash ${command}\` in a terminal, or set ${command === 'init' ? 'SSTASH_PASSWORD_FILE' : 'SSTASH_NEW_PASSWORD_FILE'} to a file holding the password`,
      })
    if (typed !== '' && (await promptHidden('sstash: repeat the new password: ')) !== typed)
      throw new SSError('the two passwords differ; nothing was changed', 'PASSWORD_MISMATCH')
    chosen = { password: typed, source: 'prompt' }
  }
  if (chosen.password === '') throw new SSError('the password is empty; nothing was changed', 'EMPTY_PASSWORD')
  return chosen
}

/**
 * Checks, before any password is asked, that a new stash can be made at `path`: its directory
 * exists (the default one is made, 0700), is not open to other users, and can be written.
 */
async function prepareDirectory(path: string, isDefault: boolean): Promise<void> {
  const dir = dirname(path)
  const [{ makePrivateDir }, { checkStashDirectory }] = await Promise.all([import('../fs/write.js'), import('../fs/directory.js')])
  // Only the default location gets its directories made for it: a typo in --stash should fail, not create a tree.
  if (isDefault) await makePrivateDir(dir)
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new SSError(`cannot create ${path}: ${dir} is not a directory`, 'WRITE_FAILED', { hint: `make it first (\`mkdir -p ${dir}\`), or leave out --stash for the default stash` })
  checkStashDirectory(dir)
  try {
    accessSync(dir, constants.W_OK)
  } catch (error) {
    throw ioError('create a stash in', dir, error, 'WRITE_FAILED')
  }
}

async function init(options: Options): Promise<void> {
  const chosen = text(options.stash)
  const path = stashPath(chosen)
  const kdf = await kdfOption(options)
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory())
    throw new UsageError(`${path} is a directory`, `give the new stash's file name, e.g. \`sstash --stash ${join(path, basename(defaultStashPath()))} init\``)
  if (exists(path))
    throw new SSError(`${path} already exists`, 'STASH_EXISTS', { hint: 'use `sstash passwd` to change its password, or pass --stash <path> for another stash' })
  // Everything that can fail is checked before the password is asked for.
  agentTimeoutFromEnv()
  await prepareDirectory(path, chosen === undefined && !process.env.SSTASH_FILE)
  const { password, source } = await newPassword(path, 'init')
  await warnIfWeak(options, kdf, password)
  const { SecureStash } = await import('../store/secure-stash.js')
  const stash = await SecureStash.create(path, password, { kdf })
  printStatus(`created ${path}`)
  // A password typed here unlocks the agent too, so the `sstash set` that follows asks nothing.
  await shareWithAgent(stash, source)
}

async function show(keypath: string | undefined, options: Options, kind: 'ls' | 'tree'): Promise<void> {
  const key = parseKeyPath(keypath ?? '')
  const node = (await readFromOptions(options, [key])).node(key)
  const values = options.values === true
  if (options.json === true) {
    const json = kind === 'ls' ? listJson(key, node, values) : treeJson(key, node, values)
    return writeJson(json, 2)
  }
  const lines = kind === 'ls' ? listLines(key, node, values) : treeLines(key, node, values)
  if (lines.length > 0) writeStdout(`${lines.join('\n')}\n`)
}

async function mv(from: string, to: string, options: Options): Promise<void> {
  await (await openFromOptions(options)).move(parseKeyPath(from), parseKeyPath(to))
}

async function passwd(options: Options): Promise<void> {
  // A team stash is refused before any prompt: it has no password to change.
  const stash = await openPersonalStash(existingStash(options))
  const kdf = await kdfOption(options, stash.info.kdf)
  const { password, source } = await newPassword(stash.path, 'passwd')
  await warnIfWeak(options, kdf, password)
  // Enrolled sources (sstash enroll) that can answer now keep working; the others are named.
  const { keepEnrolledThrough } = await import('../unlock/enrolled.js')
  const removed = await keepEnrolledThrough(stash, () => stash.changePassword(password, { kdf }))
  printStatus(`changed the password of ${stash.path}`)
  for (const name of removed) printWarning(`removed ${name}: it could not be reached to follow the new password; enroll it again`)
  // The key the agent may hold for the old password no longer fits: it gets the new one.
  await shareWithAgent(stash, source)
}

async function migrate(options: Options): Promise<void> {
  const path = existingStash(options)
  const kdf = await kdfOption(options)
  if (kdf.name !== 'scrypt') throw new UsageError('the native format uses scrypt', 'pass --kdf scrypt, or leave --kdf out')
  // The same password must unlock the migrated file, so it is asked for here rather than taken from the agent.
  const { stash, password, source } = await openWithPassword(path)
  if (stash.info.format === 'native') return printStatus(`${stash.path} is already in the native format; nothing to do`)
  await warnIfWeak(options, kdf)
  await stash.changePassword(password, { kdf })
  printStatus(`migrated ${stash.path} to the native format; the password is unchanged`)
  await shareWithAgent(stash, source)
}

/** Builds the command-line interface; exported for tests that list the commands. */
export function buildCli(): CAC {
  const cli = cac('sstash')
  cli.option('--stash <path>', 'the stash file (else $SSTASH_FILE, else ~/.local/share/sstash/stash.sstash)')
  cli.option('--allow-old', 'a team stash: read a membership, or a value, older than this clone has seen, knowingly (docs/TEAM.md)')
  cli.help()
  cli.version(version)
  cli.example('  $ printf %s "$TOKEN" | sstash set project/api/token')
  cli.example('  $ sstash get project/api/token')

  cli.command('init', 'create a new, empty stash (asks for the password twice)')
    .option('--kdf <spec>', 'key derivation, e.g. scrypt:N=131072,r=8,p=1 (the default)')
    .example('  $ sstash init')
    .example('  $ sstash --stash ~/work.sstash init')
    .action((options: Options) => init(options))

  cli.command('get <keypath>', 'print a value (raw bytes, no newline added when piped)')
    .example('  $ sstash get project/api/token')
    // Never `curl -H "...$(sstash get ...)"`: the token would be in curl's argv, which `ps` shows. printf is a shell builtin.
    .example('  $ printf \'Authorization: Bearer %s\\n\' "$(sstash get project/api/token)" | curl -H @- https://api.example.com')
    .action((keypath: string, options: Options) => get(keypath, options))

  cli.command('ls [keypath]', 'list the keys below a key path (names only)')
    .option('--json', 'print JSON for programs')
    .option('--values', 'also print the values')
    .example('  $ sstash ls')
    .example('  $ sstash ls project/SomeService --json')
    .action((keypath: string | undefined, options: Options) => show(keypath, options, 'ls'))

  cli.command('tree [keypath]', 'draw the tree below a key path (names only)')
    .option('--json', 'print JSON for programs')
    .option('--values', 'also print the values')
    .example('  $ sstash tree')
    .example('  $ sstash tree project --values')
    .action((keypath: string | undefined, options: Options) => show(keypath, options, 'tree'))

  cli.command('mv <from> <to>', 'move a key and everything below it')
    .example('  $ sstash mv project/api project/api-v1')
    .action((from: string, to: string, options: Options) => mv(from, to, options))

  cli.command('passwd', 'change the password (and optionally the key derivation)')
    .option('--kdf <spec>', 'a new key derivation, e.g. scrypt:N=262144,r=8,p=1')
    .example('  $ sstash passwd')
    .example('  $ sstash passwd --kdf scrypt:N=262144,r=8,p=1')
    .action((options: Options) => passwd(options))

  cli.command('migrate', 'convert a Python sstash 0.17 file to the native format (same password)')
    .option('--kdf <spec>', 'the scrypt parameters (default scrypt:N=131072,r=8,p=1)')
    .example('  $ sstash --stash my_stash migrate')
    .action((options: Options) => migrate(options))

  cli.command('doctor', 'check permissions, key derivation, locks and PATH; say what to fix')
    .example('  $ sstash doctor')
    .option('--json', 'print JSON for programs: {stash, ok, findings: [{severity, what, fix}]}')
    .action((options: Options) => doctorCommand(options))

  registerValueCommands(cli)
  registerEnvCommands(cli)
  registerAgentCommands(cli)
  registerInjectCommand(cli)
  registerTeamCommands(cli)
  registerEnrollCommand(cli)
  registerGuardCommands(cli)
  registerGenerateCommand(cli)
  registerGitCommands(cli)
  registerShellCommands(cli)
  return cli
}

/**
 * Finds the command `argv` names and parses its options exactly (see ./argv.ts), trying each
 * command's options in turn as cac does, since options may come before the command's name.
 * Unknown options are kept for cac to refuse by name.
 */
export function parseCommandLine(cli: CAC, argv: readonly string[]): { command?: Command; parsed: ParsedArgv } {
  const specs = (command?: Command) =>
    [...cli.globalCommand.options, ...(command?.options ?? [])].map((option) => ({ names: option.names, takesValue: option.isBoolean !== true }))
  for (const command of cli.commands) {
    const parsed = parseArgv(argv, specs(command), { unknown: 'keep' })
    // As cac matches: the first word, even one after `--`.
    const name = parsed.args[0] ?? parsed.rest?.[0]
    if (name === undefined || !command.isMatched(name)) continue
    const words = parsed.args.length > 0 ? { args: parsed.args.slice(1) } : { args: [], rest: parsed.rest?.slice(1) }
    return { command, parsed: { ...parsed, ...words } }
  }
  return { parsed: parseArgv(argv, specs(), { unknown: 'keep' }) }
}

/**
 * The options as cac keeps them: a flag `true`, one value a string, more an array, and the
 * arguments after `--` under `'--'`. An empty value is refused here: no sstash option takes one.
 */
function cacOptions(cli: CAC, command: Command, parsed: ParsedArgv, usage: string): Record<string, unknown> {
  const empty = [...cli.globalCommand.options, ...command.options].find((option) => option.isBoolean !== true && [parsed.options[option.name] ?? []].flat().includes(''))
  if (empty) throw new UsageError(`option ${/--[\w-]+/.exec(empty.rawName)?.[0] ?? empty.name} needs a value`, usage)
  const options: Record<string, unknown> = Object.assign(Object.create(null) as object, { '--': parsed.rest ?? [] })
  for (const [name, value] of Object.entries(parsed.options)) options[name] = value === true || value.length > 1 ? value : value[0]
  return options
}

/** Refuses an argument that was not UTF-8: Node replaced its bad bytes, and `u/\xff` and `u/\xfe` would be one key. */
async function checkArguments(argv: readonly string[]): Promise<void> {
  if (!argv.some((arg) => arg.includes('\ufffd'))) return
  const { invalidArgument } = await import('../unlock/utf8.js')
  const bad = invalidArgument(argv)
  if (bad >= 0)
    throw new UsageError(`argument ${bad + 1} (${JSON.stringify(argv[bad])}) is not valid UTF-8`, 'key paths and file names are UTF-8 text; `\\xHH` in a key path writes any character')
}

/**
 * Entry point of the `sstash` binary.
 * @param argv - the arguments after the program name
 */
export async function main(argv: string[]): Promise<void> {
  await runMain(async () => {
    await checkArguments(argv)
    // The launcher runs a plain `get` through ./get.ts's own bundle; the library and tsc's output come here.
    const plain = plainGet(argv)
    if (plain) return get(plain.keypath, plain.options)
    const question = completionQuestion(argv)
    if (question) return question
    const cli = buildCli()
    const { command, parsed } = parseCommandLine(cli, argv)
    if (command) cli.matchedCommand = command
    if (parsed.options.help === true) {
      const team = command?.name === 'team' ? (await import('./commands/team-help.js')).teamHelp(parsed.args[0]) : undefined
      if (team !== undefined) return writeStdout(team)
      cli.outputHelp()
      return EXIT.OK
    }
    if (!command) {
      if (parsed.options.version === true) {
        cli.outputVersion()
        return EXIT.OK
      }
      const name = parsed.args[0] ?? parsed.rest?.[0]
      if (name === 'help') {
        cli.outputHelp()
        return EXIT.OK
      }
      if (name !== undefined) throw unknownCommand(cli, name)
      cli.outputHelp()
      return EXIT.USAGE
    }
    const usage = `\`sstash ${command.name} --help\` shows its usage`
    if (parsed.error !== undefined) throw new UsageError(parsed.error, usage)
    cli.options = cacOptions(cli, command, parsed, usage)
    cli.args = [...parsed.args, ...(parsed.rest ?? [])]
    // The team stash reads it where it opens, below the command (as sstash-run and the helper read SSTASH_ALLOW_OLD).
    if (parsed.options.allowOld === true) process.env.SSTASH_ALLOW_OLD = '1'
    try {
      return (await cli.runMatchedCommand()) as number | undefined
    } catch (error) {
      if ((error as Error)?.name !== 'CACError') throw error
      const message = (error as Error).message.replace(/`/g, '')
      throw new UsageError(message.charAt(0).toLowerCase() + message.slice(1), usage)
    }
  })
}
