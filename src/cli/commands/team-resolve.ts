/**
 * `sstash team resolve --show`: what `team resolve` chooses between. For each key path changed
 * on both sides of a merge: what our side and their side did (set a value, or removed it),
 * in which scope, and, during a git merge, who last changed the file on each side (from
 * `git log` of HEAD and MERGE_HEAD). Values only for one key path asked for by name with
 * stdout a terminal (the sides this member can open): a conflict list is piped, logged and
 * pasted into chats and tickets, and a person choosing between two values is at a terminal.
 */
import { basename, dirname } from 'node:path'
import type { ConflictValue } from '../../team/conflict-values.js'
import { formatKeyPath } from '../../tree/key-path.js'
import { escapedJson, printStatus, writeJson } from '../print.js'
import { writeStdout } from '../stdout.js'
import { isTerminal } from '../terminal.js'

/** One side of a conflict: `set` (in a scope) or `removed`. */
export interface ConflictSide {
  action: 'set' | 'removed'
  scope: string | null
}

/** One conflict as `--show --json` prints it. */
export interface ShownConflict {
  path: string
  key: string[]
  ours: ConflictSide
  theirs: ConflictSide
}

/** Who last changed `file` at `rev` (`alice, 2 hours ago: "rotate the token"`), or undefined outside a merge. */
function lastChange(file: string, rev: string): string | undefined {
  const run = process.getBuiltinModule('node:child_process').spawnSync('git', ['log', '-1', '--format=%an, %ar: "%s"', rev, '--', basename(file)], { cwd: dirname(file), encoding: 'utf8' })
  return run.status === 0 && run.stdout.trim() !== '' ? run.stdout.trim() : undefined
}

/**
 * Prints the conflicts of the team stash at `path` (only `keypath`'s, when given).
 * @param json - JSON for programs instead of lines
 */
export async function showConflicts(path: string, keypath: string | undefined, json: boolean): Promise<void> {
  const [{ readTeamFile }, { inPathOrder, decodePath }, { parseKeyPath }] = await Promise.all([
    import('../../team/team-stash.js'),
    import('../../team/format.js'),
    import('../../tree/key-path.js'),
  ])
  const file = readTeamFile(path)
  const only = keypath === undefined ? undefined : formatKeyPath(parseKeyPath(keypath))
  const shown: ShownConflict[] = []
  for (const [enc, theirs] of inPathOrder(file.conflicts)) {
    const key = decodePath(enc) as string[]
    if (only !== undefined && formatKeyPath(key) !== only) continue
    const ours = file.values.get(enc)
    shown.push({
      path: formatKeyPath(key),
      key,
      ours: ours === undefined ? { action: 'removed', scope: null } : { action: 'set', scope: ours.scope },
      theirs: !('sealed' in theirs) ? { action: 'removed', scope: null } : { action: 'set', scope: theirs.scope },
    })
  }
  if (json) return writeJson(shown, 2)
  if (shown.length === 0) return printStatus(only === undefined ? 'no merge conflicts' : `${only} has no merge conflict`)
  const side = (s: ConflictSide): string => (s.action === 'set' ? `set (scope ${s.scope ?? '?'})` : 'removed')
  writeStdout(shown.map((c) => `${c.path}\tours: ${side(c.ours)}\ttheirs: ${side(c.theirs)}\n`).join(''))
  const [head, merging] = [lastChange(path, 'HEAD'), lastChange(path, 'MERGE_HEAD')]
  if (head !== undefined && merging !== undefined) printStatus(`ours is HEAD, last changed by ${head}; theirs is MERGE_HEAD, last changed by ${merging}`)
  const one = shown.length === 1 ? shown[0] : undefined
  if (only !== undefined && one !== undefined && isTerminal(1)) await showValues(path, one.key)
  else if (only !== undefined) printStatus(`values are shown only on a terminal: run \`sstash team resolve ${only} --show\` with stdout not piped or redirected`)
  else printStatus('to see both values of one key path, run `sstash team resolve <keypath> --show` on a terminal')
  printStatus('settle each with `sstash team resolve <keypath> --ours` (or --theirs), or `sstash set` a new value')
}

/** A value as one line a terminal shows as it is: quoted, with line breaks and control characters escaped. */
function shownValue(value: Uint8Array): string {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(value)
  } catch {
    return `(${value.length} bytes, not UTF-8 text; base64 ${Buffer.from(value).toString('base64')})`
  }
  // Quoted as JSON: C0 escaped by JSON itself, DEL, C1, bidi and separators by escapedJson.
  return escapedJson(text)
}

/** Prints both sides' values of the conflict at `key`, those this member's identity can open. */
async function showValues(path: string, key: string[]): Promise<void> {
  const [{ conflictValues }, { loadIdentities }] = await Promise.all([import('../../team/conflict-values.js'), import('../../unlock/identity-source.js')])
  const { member, ours, theirs } = await conflictValues(path, key, await loadIdentities())
  const line = (name: string, v: ConflictValue): string =>
    `${name}: ${v.state === 'value' ? shownValue(v.value) : v.state === 'removed' ? '(removed)' : `(${member} cannot open this side: ${v.why})`}\n`
  writeStdout(line('ours  ', ours) + line('theirs', theirs))
}
