/**
 * `sstash ls` and `sstash tree`: the keys below a key path, as lines or JSON (./listing.ts
 * formats them), read through the agent when it holds the stash.
 */
import type { CAC } from 'cac'
import { parseKeyPath } from '../../tree/key-path.js'
import { writeJson } from '../print.js'
import { readFromOptions, type GlobalOptions } from '../stash-options.js'
import { writeStdout } from '../stdout.js'
import { listJson, listLines, treeJson, treeLines } from './listing.js'

type Options = GlobalOptions & Record<string, unknown>

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

/** The two commands: the same options, a listing or a drawing. */
const SHOWN = [
  { kind: 'ls', about: 'list the keys below a key path (names only)', examples: ['  $ sstash ls', '  $ sstash ls project/SomeService --json'] },
  { kind: 'tree', about: 'draw the tree below a key path (names only)', examples: ['  $ sstash tree', '  $ sstash tree project --values'] },
] as const

/** `sstash ls` and `sstash tree`. */
export function registerShowCommands(cli: CAC): void {
  for (const { kind, about, examples } of SHOWN) {
    const command = cli.command(`${kind} [keypath]`, about).option('--json', 'print JSON for programs').option('--values', 'also print the values')
    for (const example of examples) command.example(example)
    command.action((keypath: string | undefined, options: Options) => show(keypath, options, kind))
  }
}
