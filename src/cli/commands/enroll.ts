/**
 * `sstash enroll`: other ways to open the personal stash than typing its password (an ssh key
 * in the ssh-agent, the OS keyring). Thin actions over src/unlock/enroll.ts.
 */
import type { CAC } from 'cac'
import { stashPath } from '../../locations.js'
import { UsageError } from '../exit.js'
import { printStatus, writeJson } from '../print.js'
import { optionText, type GlobalOptions } from '../stash-options.js'
import { writeStdout } from '../stdout.js'

type EnrollOptions = GlobalOptions & { key?: unknown; list?: boolean; json?: boolean; remove?: unknown }

const SOURCES = ['ssh-agent', 'keyring'] as const
type Source = (typeof SOURCES)[number]

function sourceOf(text: string | undefined, what: string): Source {
  if (SOURCES.includes(text as Source)) return text as Source
  throw new UsageError(`${what}: ${text === undefined ? 'missing' : JSON.stringify(text)}; give ssh-agent or keyring`, 'sstash enroll ssh-agent | keyring | --list | --remove ssh-agent|keyring')
}

async function enroll(source: string | undefined, options: EnrollOptions): Promise<void> {
  const path = stashPath(optionText(options.stash))
  const api = await import('../../unlock/enroll.js')
  if (options.list) {
    const sources = await api.listEnrolled(path)
    if (options.json) return writeJson({ stash: path, sources })
    return writeStdout(sources.map((s) => (s.type === 'ssh-agent' ? `ssh-agent ${s.keyType} ${s.fingerprint}` : s.type)).join('\n') + '\n')
  }
  if (options.remove !== undefined) {
    if (source !== undefined) throw new UsageError('give either a source to enroll or --remove, not both')
    const removed = await api.removeEnrolled(path, sourceOf(optionText(options.remove), '--remove'), optionText(options.key), {})
    for (const name of removed) printStatus(`removed ${name} from ${path}`)
    return
  }
  const chosen = sourceOf(source, 'the source to enroll')
  if (chosen === 'keyring') {
    if (options.key !== undefined) throw new UsageError('--key is for ssh-agent')
    await api.enrollKeyring(path)
    return printStatus(`the keyring now opens ${path}; the password still does`)
  }
  const name = await api.enrollSshAgent(path, optionText(options.key))
  printStatus(`${name} now opens ${path} while it is in your ssh-agent; the password still does`)
}

/** Registers `sstash enroll`. */
export function registerEnrollCommand(cli: CAC): void {
  cli.command('enroll [source]', 'open the stash with an ssh-agent key or the OS keyring too (asks the password once)')
    .option('--key <key>', 'ssh-agent: the key, by SHA256: fingerprint or comment (`ssh-add -l`)')
    .option('--list', 'how this stash can be opened')
    .option('--json', 'with --list: as JSON')
    .option('--remove <source>', 'remove ssh-agent (all keys, or the one --key names) or keyring')
    .example('  $ sstash enroll ssh-agent')
    .example('  $ sstash enroll ssh-agent --key SHA256:abc...')
    .example('  $ sstash enroll keyring')
    .example('  $ sstash enroll --list')
    .example('  $ sstash enroll --remove ssh-agent')
    .action((source: string | undefined, options: EnrollOptions) => enroll(source, options))
}
