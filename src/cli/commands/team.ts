/**
 * `sstash identity` and `sstash team ...`: the team stash's commands, each a short action over
 * src/team. Everything under src/team is imported when one of these commands runs.
 */
import type { CAC } from 'cac'
import { writeFileSync } from 'node:fs'
import { READ_LIMITS, readNamedFile } from '../../fs/read.js'
import { SSCryptoError, SSError } from '../../errors.js'
import { stashPath } from '../../locations.js'
import { formatKeyPath, parseKeyPath } from '../../tree/key-path.js'
import { UsageError } from '../exit.js'
import { writeJson } from '../print.js'
import { optionText, type GlobalOptions } from '../stash-options.js'
import { writeStdout } from '../stdout.js'
import { requireTeamStash, teamHelp, teamStashPath } from './team-help.js'
import { showConflicts } from './team-resolve.js'

type Options = GlobalOptions & Record<string, unknown>

const note = (message: string): void => {
  process.stderr.write(`sstash: ${message}\n`)
}
const warn = (message: string): void => {
  process.stderr.write(`sstash: warning: ${message}\n`)
}
// mri turns repeated options into arrays, and number-like values into numbers.
const list = (value: unknown): string[] =>
  value === undefined || value === true ? [] : (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).filter((v) => v !== '')

const team = (): Promise<typeof import('../../team/membership.js')> => import('../../team/membership.js')

/** The team stash the options name (see team-help.ts): it must exist and be a team stash. */
async function existingStash(options: Options): Promise<string> {
  const [{ path, how }, { requireStash }] = await Promise.all([teamStashPath(options), import('../../unlock/open.js')])
  requireStash(path)
  await requireTeamStash(path, how)
  return path
}

async function open(options: Options): Promise<import('../../team/team-stash.js').TeamStash> {
  const { openTeamStash } = await import('../../unlock/open-team.js')
  return openTeamStash(await existingStash(options))
}

/** `sstash identity`: prints the member's public key, creating the identity on first use. */
async function identity(options: { import?: unknown; force?: boolean } = {}): Promise<void> {
  const file = optionText(options.import)
  if (file !== undefined) {
    const { importIdentity } = await import('../../unlock/import-identity.js')
    const imported = await importIdentity(file, options.force === true)
    if (!imported.unchanged) note(`kept the identity of ${file} in ${imported.where}`)
    return writeStdout(`${imported.recipient}\n`)
  }
  const { ensureIdentity } = await import('../../unlock/identity-source.js')
  const { recipient, created, where } = await ensureIdentity()
  if (created) note(`created a new identity in ${where}`)
  writeStdout(`${recipient}\n`)
}

function parseScopes(values: string[]): { name: string; prefix: string[] }[] {
  return values.map((spec) => {
    const eq = spec.indexOf('=')
    if (eq < 1) throw new UsageError(`--scope ${JSON.stringify(spec)} must be name=prefix`, 'e.g. --scope dev=dev/ --scope prod=prod/')
    return { name: spec.slice(0, eq), prefix: parseKeyPath(spec.slice(eq + 1)) }
  })
}

async function init(options: Options): Promise<void> {
  const as = optionText(options.as)
  if (as === undefined) throw new UsageError('team init needs --as <your member name>', 'e.g. `sstash --stash secrets.sstash team init --as alice`')
  const path = stashPath(optionText(options.stash))
  const scopes = parseScopes(list(options.scope))
  const [{ ensureIdentity }, { createTeam }] = await Promise.all([import('../../unlock/identity-source.js'), team()])
  const { recipient } = await ensureIdentity()
  await createTeam(path, as, recipient, scopes)
  note(`created team stash ${path} with member ${as} holding ${scopes.length > 0 ? `scopes ${scopes.map((s) => s.name).join(', ')}` : 'scope default'}`)
  note('run `sstash team git-setup` in each clone for readable diffs and merges')
}

/** `--key`: the key itself, or a file holding it (such as an id_ed25519.pub). */
function keyOption(value: unknown): string | undefined {
  const text = optionText(value)
  if (text === undefined || text.startsWith('age1') || text.startsWith('ssh-')) return text
  try {
    return Buffer.from(readNamedFile(text, { maxBytes: READ_LIMITS.key }).bytes).toString('utf8').split('\n').find((line) => line.trim() !== '' && !line.startsWith('#'))
  } catch {
    throw new SSError(`--key ${JSON.stringify(text)} is neither a key nor a readable file`, 'BAD_RECIPIENT', { hint: 'give age1..., "ssh-ed25519 AAAA...", or a file holding one' })
  }
}

async function add(name: string | undefined, options: Options): Promise<void> {
  if (name === undefined) throw new UsageError('team add needs a member name', 'e.g. `sstash team add bob --key ~/bob_id_ed25519.pub --scope dev`')
  const { addMember } = await team()
  const scopes = await addMember(await open(options), name, keyOption(options.key), list(options.scope), { admin: options.admin === true })
  note(`${name} holds ${scopes.length === 0 ? 'no scope' : `${scopes.length === 1 ? 'scope' : 'scopes'} ${scopes.join(', ')}`}${options.admin === true ? ' and is an admin' : ''}`)
}

async function remove(name: string | undefined, options: Options): Promise<void> {
  if (name === undefined) throw new UsageError('team rm needs a member name', '`sstash team ls` lists the members')
  const { removeMember } = await team()
  const { rotated, exposed, signingKey } = await removeMember(await open(options), name)
  const scopes = rotated.length === 0 ? 'they held no scope' : `new keys for ${rotated.length === 1 ? 'scope' : 'scopes'} ${rotated.join(', ')}, and their values encrypted again under them`
  note(`removed ${name}; ${scopes}${signingKey ? '; a new team signing key, endorsed by the old one' : ''}`)
  if (signingKey) note(`the team's signing key is now ${signingKey}: where CI pins it (team verify --signing-key), pin this one`)
  if (exposed.length > 0)
    warn(`${name} could read ${exposed.length} ${exposed.length === 1 ? 'value' : 'values'}, and old values stay in git history: rotate each secret where it was issued, then set it again (\`sstash team exposed\` lists them)`)
}

/**
 * Reads the file with no identity, verifies it, and checks it against what this clone pinned (an
 * old file is shown, with a warning), and against the signing key `--signing-key` pins, if given.
 */
async function verified(options: Options, allowOld = true): Promise<{ file: import('../../team/format.js').TeamFile; fingerprint: string; save: () => Promise<void> }> {
  const [{ readTeamFile, realPathOf }, { SeenStore }, { checkTrust }] = await Promise.all([import('../../team/team-stash.js'), import('../../team/seen.js'), import('../../team/trust.js')])
  const path = await existingStash(options)
  const file = readTeamFile(path)
  const pinned = optionText(options.signingKey)
  const signingKeyGen = pinned === undefined ? undefined : await checkSigningKey(file, pinned.trim().toLowerCase(), options)
  const seen = SeenStore.load()
  const trust = checkTrust(file, realPathOf(path), seen, path, { allowOld: allowOld || options.allowOld === true || process.env.SSTASH_ALLOW_OLD === '1', signingKeyGen })
  if (trust.old !== undefined) warn(trust.old)
  return { file, fingerprint: trust.fingerprint, save: () => seen.save() }
}

async function ls(options: Options): Promise<void> {
  const [{ file, fingerprint }, { listMembers, staleValues }, { signingKeyFingerprint }] = await Promise.all([verified(options), team(), import('../../team/signing.js')])
  const signingKey = signingKeyFingerprint(file)
  if (options.json === true) {
    const scopes = [...file.scopes.values()].map((s) => ({ name: s.name, prefix: formatKeyPath(s.prefix), generation: s.gen }))
    const setAgain = staleValues(file).map((v) => ({ path: formatKeyPath(v.path), scope: v.scope, generation: v.gen }))
    return writeJson({ fingerprint, signingKey, epoch: file.epoch, members: listMembers(file), scopes, setAgain }, 2)
  }
  const lines = [`team ${fingerprint} epoch ${file.epoch} signing-key ${signingKey}`]
  for (const m of listMembers(file)) lines.push(`member ${m.name} ${m.fingerprint} scopes ${m.scopes.join(',') || '-'}${m.admin ? ' admin' : ''}`)
  for (const s of file.scopes.values()) lines.push(`scope ${s.name} ${formatKeyPath(s.prefix)} generation ${s.gen}`)
  for (const v of staleValues(file)) lines.push(`set-again ${formatKeyPath(v.path)} scope ${v.scope} generation ${v.gen}`)
  writeStdout(`${lines.join('\n')}\n`)
  const stale = staleValues(file).length
  if (stale > 0) warn(`${stale} ${stale === 1 ? 'value was' : 'values were'} set under an old key and ${stale === 1 ? 'is' : 'are'} refused until set again (the set-again lines)`)
}

async function exposed(options: Options): Promise<void> {
  const [{ file }, { exposedValues }, { exposedTo }] = await Promise.all([verified(options), team(), import('../../team/listing.js')])
  const values = exposedValues(file)
  if (options.json === true)
    return writeJson(values.map((v) => ({ path: formatKeyPath(v.path), key: v.path, scope: v.scope, exposedTo: exposedTo(file, v) })), 2)
  if (values.length === 0) return note('nothing is exposed: every value was set after the last removal')
  const who = (v: import('../../team/format.js').ValueRecord): string => exposedTo(file, v).map((r) => `${r.member} (removed ${r.date})`).join(', ')
  writeStdout(`${values.map((v) => `${formatKeyPath(v.path)}\tscope ${v.scope}\texposed to ${who(v)}`).join('\n')}\n`)
  warn('removed members could read these values, and old values stay in git history: rotate each secret where it was issued, then `sstash set` it')
}

/**
 * `team verify [--fingerprint F] [--signing-key K]`: the file verifies, is the team this clone
 * pinned, has fingerprint F, and holds the signing key K (the one `team ls` printed when K was
 * pinned; a newer one descends from it); prints the fingerprint.
 */
async function verify(options: Options): Promise<void> {
  const { file, fingerprint, save } = await verified(options, false)
  const expected = optionText(options.fingerprint)
  if (expected !== undefined && expected.trim().toLowerCase() !== fingerprint)
    throw new SSCryptoError(`${await existingStash(options)} holds team ${fingerprint}, not ${expected}`, 'TEAM_REPLACED', { hint: 'the file is not the team you expect: check where it came from' })
  await save()
  writeStdout(`${fingerprint}\n`)
}

/** The file holds the signing key pinned as `gen:xxxx-...`; a warning when it has been replaced since. @returns its generation */
async function checkSigningKey(file: import('../../team/format.js').TeamFile, pinned: string, options: Options): Promise<number> {
  const { signingKeyFingerprint } = await import('../../team/signing.js')
  const gen = /^(\d{1,9}):[0-9a-f]{4}(-[0-9a-f]{4}){4}$/.exec(pinned)?.[1]
  if (gen === undefined) throw new UsageError(`--signing-key takes what \`team ls\` prints after "signing-key" (generation:xxxx-xxxx-xxxx-xxxx-xxxx), not ${JSON.stringify(pinned)}`)
  if (signingKeyFingerprint(file, Number(gen)) !== pinned)
    throw new SSCryptoError(`${await existingStash(options)} does not hold the team's signing key ${pinned}: it may be a removed admin's forgery, or a file older than that key`, 'TEAM_REPLACED', {
      hint: 'merge the branch that made the key, or check where the file came from',
    })
  if (Number(gen) < file.signKeys.size)
    warn(`the team's signing key was replaced since ${pinned} (an admin was removed): pin ${signingKeyFingerprint(file)} instead`)
  return Number(gen)
}

/** `team trust --fingerprint F`: accepts, knowingly, the team the file holds now (after a deliberate replacement). */
async function trust(options: Options): Promise<void> {
  const expected = optionText(options.fingerprint)
  if (expected === undefined) throw new UsageError('team trust needs --fingerprint <the team\'s fingerprint>', 'compare it with your team out of band first')
  const [{ readTeamFile, realPathOf }, { SeenStore }, { remember }, { teamFingerprint }] = await Promise.all([
    import('../../team/team-stash.js'), import('../../team/seen.js'), import('../../team/trust.js'), import('../../team/signing.js'),
  ])
  const path = await existingStash(options)
  const file = readTeamFile(path)
  const fingerprint = teamFingerprint(file)
  if (expected.trim().toLowerCase() !== fingerprint) throw new SSCryptoError(`${path} holds team ${fingerprint}, not ${expected}`, 'TEAM_REPLACED')
  // A replacement taken knowingly is still no file its history shows signed by a replaced or forked key.
  const { checkHistory } = await import('../../team/history.js')
  const paths = realPathOf(path)
  checkHistory(file, paths, 0, path)
  const seen = SeenStore.load()
  seen.reset(file.teamId)
  remember(file, paths, seen, fingerprint)
  await seen.save()
  note(`this clone now trusts team ${fingerprint} at ${path}`)
}

async function resolve(keypath: string | undefined, options: Options): Promise<number | void> {
  if (options.show === true) return showConflicts(await existingStash(options), keypath, options.json === true)
  if (keypath === undefined) {
    const [{ readTeamFile }, { conflictList }] = await Promise.all([import('../../team/team-stash.js'), import('../../team/merge.js')])
    const conflicts = conflictList(readTeamFile(await existingStash(options)))
    if (conflicts.length === 0) return note('no merge conflicts')
    return writeStdout(`${conflicts.join('\n')}\n`)
  }
  const side = options.ours === true ? 'ours' : options.theirs === true ? 'theirs' : undefined
  if (side === undefined) throw new UsageError('team resolve needs --ours or --theirs', 'or `sstash set` a new value at the key path')
  const { resolveConflict } = await team()
  await resolveConflict(await open(options), parseKeyPath(keypath), side)
  note(`kept ${side === 'ours' ? 'our' : 'their'} value of ${keypath}`)
}

async function textconv(file: string | undefined): Promise<void> {
  if (file === undefined) throw new UsageError('team textconv needs a file')
  const [{ textconv: render }, { READ_LIMITS, readRegularFile }] = await Promise.all([import('../../team/textconv.js'), import('../../fs/read.js')])
  // Written a mebibyte at a time: the rendering of a file near the size limit is more than one string can hold.
  let chunk = ''
  for (const piece of render(readRegularFile(file, READ_LIMITS.stash) ?? new Uint8Array(0), file)) {
    chunk += piece
    if (chunk.length < 1024 * 1024) continue
    writeStdout(chunk)
    chunk = ''
  }
  writeStdout(chunk)
}

async function mergeFile(args: string[]): Promise<number> {
  const [base, ours, theirs, shown] = args
  if (base === undefined || ours === undefined || theirs === undefined) throw new UsageError('team merge-file needs %O %A %B [%P]')
  const what = shown ?? ours
  const [{ mergeTeamFiles }, { identitiesFromEnvironment, loadIdentities }, { SeenStore }, { realPathOf }] = await Promise.all([
    import('../../team/merge.js'),
    import('../../unlock/identity-source.js'),
    import('../../team/seen.js'),
    import('../../team/team-stash.js'),
  ])
  const read = (path: string): Uint8Array => readNamedFile(path, { maxBytes: READ_LIMITS.stash }).bytes
  const [baseBytes, oursBytes, theirsBytes] = [read(base), read(ours), read(theirs)]
  // An identity is needed only to merge membership changed on both sides (an admin's).
  const needs = (): Promise<import('../../team/age-file.js').Identity[] | undefined> => identitiesFromEnvironment().then((found) => found ?? loadIdentities().catch(() => undefined))
  const seen = SeenStore.load()
  const merge = (identities?: import('../../team/age-file.js').Identity[]) => mergeTeamFiles(baseBytes, oursBytes, theirsBytes, what, identities, seen, realPathOf(what))
  let result
  try {
    result = merge()
  } catch (error) {
    if (!(error instanceof SSError) || error.code !== 'TEAM_CONFLICT' || !/needs an admin/.test(error.message)) throw error
    result = merge(await needs())
  }
  writeFileSync(ours, result.bytes)
  if (result.membership) note(`${what}: merged the membership both branches changed, signed with your admin key`)
  if (result.conflicts.length === 0) return 0
  process.stderr.write(`sstash: error: ${what}: ${result.conflicts.length} key ${result.conflicts.length === 1 ? 'path was' : 'paths were'} changed on both sides: ${result.conflicts.map(formatKeyPath).join(', ')}\n`)
  process.stderr.write(`sstash: hint: \`sstash --stash ${what} team resolve <keypath> --ours\` (or --theirs), then \`git add ${what}\`\n`)
  return 1
}

async function gitSetupAction(options: Options): Promise<void> {
  const [{ gitSetup, selfCommand }, { resolveStashPath }] = await Promise.all([import('../../team/git-setup.js'), import('../../fs/read.js')])
  const path = resolveStashPath(await existingStash(options))
  const { attributes, added } = gitSetup(path, selfCommand())
  note(`${added ? 'added the drivers to' : 'the drivers were already in'} ${attributes}; configured them in this clone's .git/config`)
  if (added) note(`commit ${attributes} so that every clone uses them`)
}

const ACTIONS = 'init, add, rm, ls, exposed, verify, trust, resolve, git-setup'

async function teamCommand(action: string | undefined, args: string[], options: Options): Promise<number | void> {
  const [first] = args
  switch (action) {
    case undefined:
      writeStdout(teamHelp() as string)
      return 2
    case 'init': return init(options)
    case 'add': return add(first, options)
    case 'rm': return remove(first, options)
    case 'ls': return ls(options)
    case 'exposed': return exposed(options)
    case 'verify': return verify(options)
    case 'trust': return trust(options)
    case 'resolve': return resolve(first, options)
    case 'git-setup': return gitSetupAction(options)
    case 'textconv': return textconv(first)
    case 'merge-file': return mergeFile(args)
    default: throw new UsageError(`unknown team command ${JSON.stringify(String(action))}`, `the team commands are ${ACTIONS}`)
  }
}

/** Registers `sstash identity` and `sstash team <action>`. */
export function registerTeamCommands(cli: CAC): void {
  cli.command('identity', 'print your public key (age1...); on first use, create your identity in your personal stash')
    .option('--import <file>', 'keep this key (an ssh key a team added you with, an age identity) in your personal stash')
    .option('--force', 'with --import: replace a different identity')
    .example('  $ sstash identity')
    .example('  $ sstash identity --import ~/.ssh/id_ed25519')
    .action((options: { import?: unknown; force?: boolean }) => identity(options))

  cli.command('team [action] [...args]', `a team stash shared in git: ${ACTIONS} (docs/TEAM.md)`)
    .option('--as <name>', 'init: your member name')
    .option('--scope <scope>', 'init: name=prefix (repeatable); add: a scope name (repeatable)')
    .option('--key <key>', 'add: age1..., "ssh-ed25519 AAAA...", or a file holding one')
    .option('--admin', 'add: make the member an admin (who may change members and scopes)')
    .option('--fingerprint <fingerprint>', 'verify, trust: the team fingerprint `team ls` prints')
    .option('--signing-key <key>', 'verify: the signing key `team ls` prints (generation:fingerprint), pinned by CI')
    .option('--allow-old', 'ls, verify: read a membership older than this clone has seen (also SSTASH_ALLOW_OLD=1)')
    .option('--ours', 'resolve: keep our value')
    .option('--theirs', 'resolve: take their value')
    .option('--show', 'resolve: list the conflicts with what each side did')
    .option('--json', 'ls, exposed, resolve --show: print JSON for programs')
    .example('  $ sstash --stash secrets.sstash team init --as alice --scope dev=dev/ --scope prod=prod/')
    .example('  $ sstash --stash secrets.sstash team add bob --key ~/bob_id_ed25519.pub --scope dev')
    .example('  $ sstash --stash secrets.sstash team rm bob')
    .action((action: string | undefined, args: string[], options: Options) => teamCommand(action, args.map(String), options))
}
