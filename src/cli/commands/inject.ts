/**
 * `sstash inject`: fills a template's `{{ sstash://key/path }}` placeholders from the stash.
 * The output holds secrets: written to a file it is 0600 and replaced atomically (readers see
 * the old file or the new one, never half of it); without -o it goes to stdout.
 */
import { resolve } from 'node:path'
import type { CAC } from 'cac'
import { Tree } from '../../tree/tree.js'
import { READ_LIMITS, readOwnFile } from '../../fs/read.js'
import { UsageError } from '../exit.js'
import { optionText, readFromOptions, type GlobalOptions } from '../stash-options.js'
import { readStdin } from '../stdin.js'
import { writeStdout } from '../stdout.js'
import { isTerminal } from '../terminal.js'

type Options = GlobalOptions & Record<string, unknown>

/** A path option given at most once (mri makes a repeated option an array). */
function pathOption(options: Options, name: 'inFile' | 'outFile', flag: string): string | undefined {
  const value = options[name]
  if (Array.isArray(value)) throw new UsageError(`${flag} may be given once`, '`sstash inject --help` shows its usage')
  const path = optionText(value)
  return path === '-' ? undefined : path
}

async function inject(options: Options): Promise<void> {
  const input = pathOption(options, 'inFile', '-i')
  const output = pathOption(options, 'outFile', '-o')
  if (input === undefined && isTerminal(0))
    throw new UsageError('inject needs a template: -i <file>, or the template on stdin', 'e.g. `sstash inject -i config.tpl -o config.json`')
  const { parseTemplate, renderTemplate, templateKeys } = await import('../../env/template.js')
  const template = parseTemplate(input === undefined ? await readStdin(undefined, READ_LIMITS.template) : readOwnFile(input, READ_LIMITS.template), input ?? 'stdin')
  const keys = templateKeys(template)
  // A template without placeholders needs no stash, and no password.
  const tree = keys.length > 0 ? await readFromOptions(options, keys) : new Tree()
  const bytes = renderTemplate(template, tree)
  if (output === undefined) return writeStdout(bytes)
  const { writeAtomic } = await import('../../fs/write.js')
  await writeAtomic(resolve(output), bytes)
}

/** Registers `sstash inject`. */
export function registerInjectCommand(cli: CAC): void {
  cli.command('inject', 'fill {{ sstash://key/path }} placeholders in a template with values from the stash')
    .option('-i, --in-file <path>', 'the template (default: stdin)')
    .option('-o, --out-file <path>', 'write the result here, mode 0600, replaced atomically (default: stdout)')
    .example('  $ sstash inject -i config.tpl -o config.json')
    .example('  $ sstash inject -i secret.yaml.tpl | kubectl apply -f -')
    .action((options: Options) => inject(options))
}
