/**
 * The help of `sstash team` and of each of its actions (`sstash team resolve --help`), and
 * where a team command looks for the team stash. cac knows `team` as one command with an
 * `<action>` argument, so it would print one page for all of them; this module gives each
 * action its own (sstash.ts asks {@link teamHelp} for `sstash team [action] --help`).
 */
import { resolve } from 'node:path'
import { SSError } from '../../errors.js'
import { stashPath } from '../../locations.js'
import { optionText, type GlobalOptions } from '../stash-options.js'

interface ActionHelp {
  usage: string
  what: string
  options?: [string, string][]
  examples: string[]
}

const STASH = '--stash secrets.sstash'

/** Every public action of `sstash team`, in the order a team meets them. */
export const TEAM_ACTIONS: Readonly<Record<string, ActionHelp>> = {
  init: {
    usage: 'team init --as <name> [--scope name=prefix]...',
    what: 'create a team stash with you as its first member; your identity (`sstash identity`) opens it',
    options: [['--as <name>', 'your member name'], ['--scope <name=prefix>', 'a scope: the key paths below prefix (repeatable; default: one scope, default, holding everything)']],
    examples: [`sstash ${STASH} team init --as alice --scope dev=dev/ --scope prod=prod/`],
  },
  add: {
    usage: 'team add <name> --key <key> [--scope <name>]... [--admin]',
    what: 'add a member, or give a member more scopes (admins only; you can only give a scope you hold)',
    options: [
      ['--key <key>', 'age1..., "ssh-ed25519 AAAA...", or a file holding one (~/.ssh/id_ed25519.pub)'],
      ['--scope <name>', 'a scope to give (repeatable; default: every scope you hold)'],
      ['--admin', 'make the member an admin: they may change the membership too'],
    ],
    examples: [`sstash ${STASH} team add bob --key ~/bob_id_ed25519.pub --scope dev`, `sstash ${STASH} team add ci --key age1... --scope prod`],
  },
  rm: {
    usage: 'team rm <name>',
    what: 'remove a member (admins only) and rotate: new keys for every scope they held, every value encrypted again',
    examples: [`sstash ${STASH} team rm bob`],
  },
  ls: {
    usage: 'team ls [--json]',
    what: 'the members with their key fingerprints and scopes, and the scopes; never a secret',
    options: [['--json', 'print JSON for programs (docs/CLI.md)']],
    examples: [`sstash ${STASH} team ls`],
  },
  verify: {
    usage: 'team verify [--fingerprint <F>] [--signing-key <K>]',
    what: "check the file's signature and that it is the team this clone pinned; print its fingerprint, or compare it with F",
    options: [
      ['--fingerprint <F>', 'the fingerprint a teammate gave you out of band (exit 4 when it differs)'],
      ['--signing-key <K>', "the signing key `team ls` printed (exit 4 unless the file holds it): catches, on a fresh clone, a removed admin's forgery"],
    ],
    examples: [`sstash ${STASH} team verify`, `sstash ${STASH} team verify --fingerprint abcd-ef01-2345-6789-abcd --signing-key 2:0c1d-77e2-5a90-3b4f-e812`],
  },
  trust: {
    usage: 'team trust --fingerprint <F>',
    what: 'accept, knowingly, a file that now holds another team than the one this clone opened at that path',
    options: [['--fingerprint <F>', "the new team's fingerprint, checked before it is pinned"]],
    examples: [`sstash ${STASH} team trust --fingerprint abcd-ef01-2345-6789-abcd`],
  },
  exposed: {
    usage: 'team exposed [--json]',
    what: 'the key paths removed members could read that nobody has set since: rotate each where it was issued',
    options: [['--json', 'print JSON for programs (docs/CLI.md)']],
    examples: [`sstash ${STASH} team exposed`],
  },
  resolve: {
    usage: 'team resolve [<keypath> --ours|--theirs] [--show]',
    what: 'after a git merge: list the key paths changed on both sides, or settle one',
    options: [
      ['--show', 'list each conflicting key path with what each side did (set or removed) and its scope; with one <keypath>, on a terminal, both values'],
      ['--ours', 'keep our value of <keypath>'],
      ['--theirs', 'take their value of <keypath>'],
      ['--json', 'with --show: print JSON for programs'],
    ],
    examples: [`sstash ${STASH} team resolve --show`, `sstash ${STASH} team resolve dev/api/token --show`, `sstash ${STASH} team resolve dev/api/token --theirs`],
  },
  'git-setup': {
    usage: 'team git-setup',
    what: "this clone's git diff and merge drivers for the team stash, and the .gitattributes line that uses them",
    examples: [`sstash ${STASH} team git-setup`],
  },
}

const pad = (text: string, width: number): string => text + ' '.repeat(Math.max(1, width - text.length))

/**
 * The help page of `sstash team` (every action) or of one action.
 * @returns the page, or undefined when `action` is not a public action
 */
export function teamHelp(action?: string): string | undefined {
  const where = 'The team stash is --stash <file>, else $SSTASH_FILE, else the "stash" of the "sstash" field of the nearest package.json (docs/TEAM.md).'
  if (action === undefined) {
    const width = Math.max(...Object.keys(TEAM_ACTIONS).map((a) => a.length)) + 2
    const lines = ['Usage:', '  $ sstash [--stash <file>] team <action> [...]', '', 'Actions:']
    for (const [name, help] of Object.entries(TEAM_ACTIONS)) lines.push(`  ${pad(name, width)}${help.what}`)
    lines.push('', where, 'Run `sstash team <action> --help` for an action\'s options and examples.', '', 'Examples:')
    for (const help of Object.values(TEAM_ACTIONS)) lines.push(`  $ ${help.examples[0] as string}`)
    return `${lines.join('\n')}\n`
  }
  const help = Object.hasOwn(TEAM_ACTIONS, action) ? TEAM_ACTIONS[action] : undefined
  if (help === undefined) return undefined
  const lines = ['Usage:', `  $ sstash [--stash <file>] ${help.usage}`, '', `${help.what.charAt(0).toUpperCase()}${help.what.slice(1)}.`]
  const options: [string, string][] = [...(help.options ?? []), ['--stash <file>', 'the team stash'], ['-h, --help', 'this page']]
  const width = Math.max(...options.map(([o]) => o.length)) + 2
  lines.push('', 'Options:', ...options.map(([o, d]) => `  ${pad(o, width)}${d}`), '', where, '', 'Examples:', ...help.examples.map((e) => `  $ ${e}`))
  return `${lines.join('\n')}\n`
}

/**
 * The team stash a team command works on: `--stash`, else SSTASH_FILE, else the `stash` of
 * the nearest package.json's `"sstash"` field (relative to that file), else the default stash.
 * @returns the path, and how it was chosen (for the message when it is not a team stash)
 */
export async function teamStashPath(options: GlobalOptions): Promise<{ path: string; how: string }> {
  const chosen = optionText(options.stash)
  if (chosen !== undefined) return { path: stashPath(chosen), how: '--stash' }
  if ((process.env.SSTASH_FILE ?? '') !== '') return { path: stashPath(undefined), how: 'SSTASH_FILE' }
  const { findProjectConfig } = await import('../../env/project-config.js')
  const found = findProjectConfig(process.cwd()).found
  if (found?.config.stash !== undefined) return { path: resolve(found.dir, found.config.stash), how: `the "sstash" field of ${found.file}` }
  return { path: stashPath(undefined), how: 'the default, your personal stash' }
}

/**
 * Refuses a file that is not a team stash, naming it and how it was chosen, and saying how
 * to point at the team's, before anything tries to parse it as one.
 * @throws {SSError} NOT_A_TEAM_STASH
 */
export async function requireTeamStash(path: string, how: string): Promise<void> {
  const { isTeamStashFile } = await import('../../team/detect.js')
  if (isTeamStashFile(path)) return
  throw new SSError(`${path} (${how}) is not a team stash`, 'NOT_A_TEAM_STASH', {
    hint: 'point at the team\'s file: `sstash --stash secrets.sstash team ...`, `export SSTASH_FILE=secrets.sstash`, or {"sstash": {"stash": "secrets.sstash"}} in package.json',
  })
}
