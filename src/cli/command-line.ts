/**
 * The `sstash` command line between ./argv.ts and cac: which command `argv` names, its options
 * parsed exactly, and its action run with them. cac supplies the commands, their help and
 * examples; nothing here writes into its objects: the checks cac makes before an action
 * (unknown options, missing and unused arguments) are made here, on what ./argv.ts parsed, with
 * cac's words, and the action is called with the arguments cac would pass it.
 */
import type { CAC, Command } from 'cac'
import { parseArgv, type ParsedArgv } from './argv.js'
import { UsageError } from './exit.js'

/**
 * Finds the command `argv` names and parses its options exactly (see ./argv.ts), trying each
 * command's options in turn as cac does, since options may come before the command's name.
 * Unknown options are kept, to be refused by name.
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
 * The options as cac's actions take them: a flag `true`, one value a string, more an array,
 * and the arguments after `--` under `'--'`. An unknown option, and an empty value (no sstash
 * option takes one), are refused here.
 */
function actionOptions(cli: CAC, command: Command, parsed: ParsedArgv, usage: string): Record<string, unknown> {
  const known = [...cli.globalCommand.options, ...command.options]
  const empty = known.find((option) => option.isBoolean !== true && [parsed.options[option.name] ?? []].flat().includes(''))
  if (empty) throw new UsageError(`option ${/--[\w-]+/.exec(empty.rawName)?.[0] ?? empty.name} needs a value`, usage)
  for (const name of Object.keys(parsed.options))
    if (!command.hasOption(name) && !cli.globalCommand.hasOption(name)) throw new UsageError(`unknown option ${name.length > 1 ? `--${name}` : `-${name}`}`, usage)
  const options: Record<string, unknown> = Object.assign(Object.create(null) as object, { '--': parsed.rest ?? [] })
  for (const [name, value] of Object.entries(parsed.options)) options[name] = value === true || value.length > 1 ? value : value[0]
  return options
}

/**
 * Runs `command`'s action with what ./argv.ts parsed, after cac's checks.
 * @returns what the action returns (an exit code, or nothing)
 * @throws {UsageError} an unknown option, a missing or unused argument
 */
export async function runCommand(cli: CAC, command: Command, parsed: ParsedArgv): Promise<number | undefined> {
  const usage = `\`sstash ${command.name} --help\` shows its usage`
  if (parsed.error !== undefined) throw new UsageError(parsed.error, usage)
  const options = actionOptions(cli, command, parsed, usage)
  const args = [...parsed.args, ...(parsed.rest ?? [])]
  if (args.length < command.args.filter((arg) => arg.required).length) throw new UsageError(`missing required args for command ${command.rawName}`, usage)
  const most = command.args.some((arg) => arg.variadic) ? Infinity : command.args.length
  if (args.length > most) throw new UsageError(`unused args: ${args.slice(most).join(', ')}`, usage)
  if (!command.commandAction) return undefined
  const actionArgs: unknown[] = command.args.map((arg, i) => (arg.variadic ? args.slice(i) : args[i]))
  return (await command.commandAction(...actionArgs, options)) as number | undefined
}
