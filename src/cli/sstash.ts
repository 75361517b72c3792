/**
 * The `sstash` command: the wiring. Each command's body is in ./commands/ (one short action per
 * command over the library), `get` in ./get.ts (it has a bundle of its own); ./command-line.ts
 * runs the command cac matched with the options ./argv.ts parsed. Values enter through stdin, a
 * file or a hidden prompt, never argv (anyone can read argv in `ps`); values leave through
 * stdout only for `get` and when `--values` is asked for.
 */
import { fileURLToPath } from 'node:url'
import { cac, type CAC } from 'cac'
import { READ_LIMITS, readRegularFile } from '../fs/read.js'
import { parseCommandLine, runCommand } from './command-line.js'
import { EXIT, UsageError, runMain } from './exit.js'
import { writeStdout } from './stdout.js'
import type { GlobalOptions } from './stash-options.js'
import { get } from './get.js'
import { plainGet } from './get-line.js'
import { registerShowCommands } from './commands/show.js'
import { registerInitCommand, registerPasswordCommands } from './commands/password.js'
import { registerDoctorCommand } from './commands/doctor.js'
import { registerEnvCommands } from './commands/env.js'
import { registerMoveCommand, registerValueCommands } from './commands/values.js'
import { registerAgentCommands } from './commands/agent.js'
import { registerInjectCommand } from './commands/inject.js'
import { registerTeamCommands } from './commands/team.js'
import { registerEnrollCommand } from './commands/enroll.js'
import { registerGuardCommands } from './commands/guard.js'
import { registerGenerateCommand } from './commands/generate.js'
import { registerGitCommands } from './commands/git-credentials.js'
import { completionQuestion, registerShellCommands } from './commands/shell.js'
import { unknownCommand } from './unknown-command.js'

// The cipher and stash (secure-stash.js), the KDF (kdf.js, node:crypto), writing, the password
// sources, the prompt and the doctor are imported by the commands that need them: `get`, `ls`
// and `set` through the agent load none.

type Options = GlobalOptions & Record<string, unknown>

// sstash's own package.json, beside dist/ (see scripts/bundle.mjs for the bundle's layout).
const version = (JSON.parse(Buffer.from(readRegularFile(fileURLToPath(new URL('../../package.json', import.meta.url)), READ_LIMITS.config) ?? '{}').toString('utf8')) as { version: string }).version

/** Builds the command-line interface; exported for tests that list the commands. */
export function buildCli(): CAC {
  const cli = cac('sstash')
  cli.option('--stash <path>', 'the stash file (else $SSTASH_FILE, else ~/.local/share/sstash/stash.sstash)')
  cli.option('--allow-old', 'a team stash: read a membership, or a value, older than this clone has seen, knowingly (docs/TEAM.md)')
  cli.help()
  cli.version(version)
  cli.example('  $ printf %s "$TOKEN" | sstash set project/api/token')
  cli.example('  $ sstash get project/api/token')

  registerInitCommand(cli)
  cli.command('get <keypath>', 'print a value (raw bytes, no newline added when piped)')
    .example('  $ sstash get project/api/token')
    // Never `curl -H "...$(sstash get ...)"`: the token would be in curl's argv, which `ps` shows. printf is a shell builtin.
    .example('  $ printf \'Authorization: Bearer %s\\n\' "$(sstash get project/api/token)" | curl -H @- https://api.example.com')
    .action((keypath: string, options: Options) => get(keypath, options))

  registerShowCommands(cli)
  registerMoveCommand(cli)
  registerPasswordCommands(cli)
  registerDoctorCommand(cli)

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
    if (parsed.options.help === true) {
      const team = command?.name === 'team' ? (await import('./commands/team-help.js')).teamHelp(parsed.args[0]) : undefined
      if (team !== undefined) return writeStdout(team)
      const about = command ?? cli.globalCommand
      about.outputHelp()
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
    // The team stash reads it where it opens, below the command (as sstash-run and the helper read SSTASH_ALLOW_OLD).
    if (parsed.options.allowOld === true) process.env.SSTASH_ALLOW_OLD = '1'
    return runCommand(cli, command, parsed)
  })
}
