/**
 * `sstash set`, `sstash rm` and `sstash mv`: the commands that put a value in, take keys out or move them. Nothing is
 * lost without a word: a value typed at the terminal is read whole (every line, until Ctrl-D)
 * or not at all, an empty value needs `--allow-empty`, and emptying the whole stash is asked
 * on the terminal first (or needs `--yes`).
 */
import type { CAC } from 'cac'
import { SSError } from '../../errors.js'
import { readLocalFile } from '../../fs/read.js'
import { formatKeyPath, parseKeyPath } from '../../tree/key-path.js'
import { writeValues } from '../../unlock/open.js'
import { UsageError } from '../exit.js'
import { printStatus } from '../print.js'
import { existingStash, openFromOptions, optionText, type GlobalOptions } from '../stash-options.js'
import { readStdin } from '../stdin.js'
import { isTerminal } from '../terminal.js'

type Options = GlobalOptions & Record<string, unknown>

/** What the prompt for a value says: how it ends, so that a pasted key is never cut at its first line. */
export const VALUE_PROMPT_END = 'paste or type it, then press Ctrl-D on a new line; Ctrl-C stores nothing'

/** Refuses an empty value unless `--allow-empty`: an empty stdin is most often a command that failed. */
function refuseEmpty(value: Uint8Array, source: string, key: string[], options: Options): void {
  if (value.length > 0 || options.allowEmpty === true) return
  throw new SSError(`${source} is empty: nothing was stored at ${formatKeyPath(key)}`, 'BAD_VALUE', {
    hint: 'check the command that gives the value; pass --allow-empty to store an empty value',
  })
}

async function set(keypath: string, options: Options): Promise<void> {
  const key = parseKeyPath(keypath)
  if (key.length === 0) throw new UsageError('the root of the stash cannot hold a value', 'give a key path such as project/api/token')
  // Checked first, so that nobody types a value for a stash that is not there.
  const path = existingStash(options)
  const file = optionText(options.file)
  if (file === undefined && isTerminal(0)) {
    // On a terminal, unlock before asking for the value: a wrong password should not cost a typed secret.
    const stash = await openFromOptions(options)
    const { promptHidden } = await import('../../unlock/tty.js')
    const typed = await promptHidden(`sstash: value for ${formatKeyPath(key)} (hidden; ${VALUE_PROMPT_END}):\n`, { multiline: true })
    if (typed === undefined) throw new UsageError('no terminal to ask for the value', 'pipe the value in, or pass --file <path>')
    const value = new TextEncoder().encode(typed)
    refuseEmpty(value, 'the value typed', key, options)
    await stash.writeValue(key, value)
    return
  }
  const value = file === undefined ? await readStdin() : readLocalFile(file)
  refuseEmpty(value, file === undefined ? 'stdin' : file, key, options)
  await writeValues(path, [[key, value]])
}

/**
 * Asks on the terminal before the whole stash is emptied; without a terminal, `--yes` must say so.
 * @throws {UsageError} without a terminal and without --yes; {@link SSError} CANCELLED unless the answer is yes
 */
async function confirmEmptying(path: string, names: string[], options: Options): Promise<void> {
  if (options.yes === true || names.length === 0) return
  const what = `every key of ${path} (${names.length} top-level ${names.length === 1 ? 'key' : 'keys'}: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''})`
  const { promptHidden } = await import('../../unlock/tty.js')
  const answer = isTerminal(2) || isTerminal(0) ? await promptHidden(`sstash: remove ${what}? Type yes to remove them: `, { echo: true }) : undefined
  if (answer === undefined) throw new UsageError(`refusing to remove ${what} without a question`, 'there is no terminal to ask on: pass --yes if that is what you want')
  if (answer.trim().toLowerCase() !== 'yes') throw new SSError('nothing was removed', 'CANCELLED')
}

async function rm(keypath: string, options: Options): Promise<void> {
  const key = parseKeyPath(keypath)
  const stash = await openFromOptions(options)
  if (key.length === 0) {
    if (options.recursive !== true)
      throw new SSError('the root holds every key of the stash', 'HAS_CHILDREN', { hint: '`sstash ls` lists them; remove each with `sstash rm -r <keypath>`' })
    // The whole stash, every top-level subtree at once: asked first, outside the lock.
    const names = await stash.view((tree) => [...tree.node([]).children.keys()].map((name) => formatKeyPath([name])))
    await confirmEmptying(stash.path, names, options)
    await stash.update((tree) => tree.remove([]))
    return printStatus(`removed every key of ${stash.path}`)
  }
  await stash.update((tree) => {
    if (tree.node(key).children.size > 0 && options.recursive !== true)
      throw new SSError(`key ${formatKeyPath(key)} has children`, 'HAS_CHILDREN', { hint: `\`sstash rm -r ${keypath}\` removes it with everything below it` })
    tree.remove(key)
  })
}

/** Registers `sstash set` and `sstash rm`. */
export function registerValueCommands(cli: CAC): void {
  cli.command('set <keypath>', 'store a value read from stdin, --file, or a hidden prompt (every line, until Ctrl-D)')
    .option('--file <path>', 'read the value from this file')
    .option('--allow-empty', 'store an empty value (else an empty stdin, file or prompt is refused)')
    .example('  $ printf %s "$TOKEN" | sstash set project/api/token')
    .example('  $ sstash set project/tls/key --file server.key')
    .example(`  $ sstash set project/tls/key          # on a terminal: ${VALUE_PROMPT_END}`)
    .action((keypath: string, options: Options) => set(keypath, options))

  cli.command('rm <keypath>', 'remove a key (-r: with everything below it)')
    .option('-r, --recursive', 'also remove a key that has children')
    .option('--yes', 'remove the whole stash (rm -r /) without asking on the terminal')
    .example('  $ sstash rm project/api/token')
    .example('  $ sstash rm -r project/old')
    .action((keypath: string, options: Options) => rm(keypath, options))
}

/** `sstash mv`: before `passwd`, as the help lists it. */
export function registerMoveCommand(cli: CAC): void {
  cli.command('mv <from> <to>', 'move a key and everything below it')
    .example('  $ sstash mv project/api project/api-v1')
    .action(async (from: string, to: string, options: Options) => {
      await (await openFromOptions(options)).move(parseKeyPath(from), parseKeyPath(to))
    })
}
