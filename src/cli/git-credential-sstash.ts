/**
 * git-credential-sstash: git's credential helper protocol over the stash.
 *
 *   git-credential-sstash [--stash <path>] [--prefix <keypath>] get|store|erase|capability
 *
 * stdin belongs to git: it carries the request and never the stash password. stdout carries
 * protocol lines only. When the stash is missing or no password is available, the helper
 * prints one `sstash: hint:` line and exits 0 with no output, so git moves on to its next
 * helper or its own prompt. A `get` for a stash the agent holds never gets here: the small
 * half (./git-credential-get.ts) has the agent answer it, and hands this file everything else.
 */
import { formatCredential, parseCredential, type Credential } from '../git/protocol.js'
import { eraseCredentials, fieldsToStore, storeCredential, DEFAULT_PREFIX } from '../git/mapping.js'
import { findByRules, loadMappingRules, type MappingRule } from '../git/mapping-rules.js'
import { answerGet, SERVED_STATE } from '../git/answer.js'
import { SSError } from '../errors.js'
import { parseKeyPath } from '../tree/key-path.js'
import { stashPath } from '../locations.js'
import type { AgentSaid } from '../agent/request.js'
import type { SecureStash } from '../store/secure-stash.js'
import type { Tree } from '../tree/tree.js'
import { openStash, readStash, type OpenedStash, type OpenStashOptions } from '../unlock/open.js'
import { reportError, runMain, UsageError } from './exit.js'
import { printHint, printWarning } from './print.js'
import { readStdin } from './stdin.js'
import { writeStdout } from './stdout.js'
import { parseArgv, type OptionSpec } from './argv.js'
import { blankLineScanner, MAX_INPUT_BYTES, type PendingRequest } from './credential-request.js'

/** The `state[]` value this helper hands git with a credential it served. */
export { SERVED_STATE }

const USAGE = 'usage: git-credential-sstash [--stash <path>] [--prefix <keypath>] get|store|erase|capability'

interface Options {
  stash?: string
  prefix: readonly string[]
  action?: string
}

const SPEC: readonly OptionSpec[] = [
  { names: ['stash'], takesValue: true },
  { names: ['prefix'], takesValue: true },
  { names: ['h', 'help'], takesValue: false },
]

function parseArgs(argv: string[]): Options {
  const { options, args, rest } = parseArgv(argv, SPEC, { unknown: 'error', usage: USAGE })
  const words = [...args, ...(rest ?? [])]
  const value = (name: 'stash' | 'prefix'): string | undefined => {
    const given = options[name]
    const last = Array.isArray(given) ? given.at(-1) : undefined
    if (last === '') throw new UsageError(`option --${name} needs a value`, USAGE)
    return last
  }
  if (words.length > 1) throw new UsageError(`unexpected argument ${words[1]}`, USAGE)
  const prefix = value('prefix')
  return {
    stash: value('stash'),
    prefix: prefix === undefined ? DEFAULT_PREFIX : parseKeyPath(prefix),
    action: options.help === true ? 'help' : words[0],
  }
}

/**
 * Git's request: what the small helper read already (`pending`, see ./git-credential-get.ts),
 * then stdin up to a blank line, EOF or {@link MAX_INPUT_BYTES}, without splitting anything.
 */
async function readRequest(pending?: PendingRequest): Promise<Uint8Array> {
  let total = 0
  const ended = blankLineScanner()
  const complete = (chunk: Uint8Array): boolean => {
    total += chunk.length
    if (total > MAX_INPUT_BYTES) throw new SSError(`the credential request is larger than ${MAX_INPUT_BYTES} bytes`, 'BAD_INPUT')
    return ended(chunk)
  }
  if (pending === undefined) return readStdin(complete)
  if (complete(pending.bytes) || pending.complete) return pending.bytes
  return new Uint8Array(Buffer.concat([pending.bytes, await readStdin(complete)]))
}

type Unlocked<T> = { ok: true; stash: T } | { ok: false; code: number }
type Opener<T> = (path: string, how: OpenStashOptions) => Promise<T>

const openForWriting: Opener<OpenedStash> = (path, how) => openStash(path, how)

/** Opens the stash with `open`, or says in one hint line why not (exit 0: git falls back). */
async function unlock<T>(options: Options, open: Opener<T>): Promise<Unlocked<T>> {
  const path = stashPath(options.stash)
  try {
    // A missing stash is reported (STASH_NOT_FOUND) before any password source is asked.
    const stash = await open(path, { prompt: process.env.GIT_TERMINAL_PROMPT !== '0', create: false })
    return { ok: true, stash }
  } catch (error) {
    if (error instanceof SSError && error.code === 'STASH_NOT_FOUND') {
      printHint(`no stash at ${path}: create one with \`sstash init\`, or pass --stash <path>`)
      return { ok: false, code: 0 }
    }
    if (error instanceof SSError && (error.code === 'NO_PASSWORD' || error.code === 'CANCELLED')) {
      const { passwordVariablesSet } = await import('../unlock/password.js')
      // A password variable that is set but failed is worth its own words; none set, one line.
      if (error.code === 'NO_PASSWORD' && passwordVariablesSet().length > 0) {
        printWarning(error.message)
        if (error.hint) printHint(error.hint)
      } else printHint(`no password for ${path}: run \`sstash unlock\` first, or set SSTASH_PASSWORD_FILE`)
      return { ok: false, code: 0 }
    }
    throw error
  }
}

async function get(options: Options, request: Credential, rules: readonly MappingRule[], said: AgentSaid): Promise<number> {
  if (request.protocol === undefined || request.host === undefined) return 0
  // Only the subtrees get can look at: the helper's prefix and the rules' keys.
  const keys = [[...options.prefix], ...rules.map((rule) => rule.key)]
  const opened = await unlock<Tree>(options, (path, how) => readStash(path, keys, { ...how, ...said }))
  if (!opened.ok) return opened.code
  const answer = answerGet(opened.stash, request, options.prefix, rules)
  if (answer) writeStdout(formatCredential(answer))
  return 0
}

async function store(options: Options, request: Credential, rules: readonly MappingRule[]): Promise<number> {
  if (!fieldsToStore(request)) return 0
  // A credential this helper just served comes back unchanged: no need to unlock again.
  if (request.capability.includes('state') && request.state.includes(SERVED_STATE)) return 0
  const opened = await unlock(options, openForWriting)
  if (!opened.ok) return opened.code
  // Loaded already, by the open.
  const { UNCHANGED } = (await import('../store/secure-stash.js')).SecureStash
  // One decryption; an unchanged credential costs no write.
  await opened.stash.update((tree) => {
    const ruled = findByRules(tree, request, rules)
    // A token a mapping rule already serves needs no second copy.
    if (ruled && ruled.password === request.password && (ruled.username ?? request.username) === request.username) return UNCHANGED
    return storeCredential(tree, request, options) ? undefined : UNCHANGED
  })
  return 0
}

async function erase(options: Options, request: Credential): Promise<number> {
  if (request.protocol === undefined || request.host === undefined) return 0
  const opened = await unlock(options, openForWriting)
  if (!opened.ok) return opened.code
  const { UNCHANGED } = (await import('../store/secure-stash.js')).SecureStash
  // Nothing to erase costs no write.
  await opened.stash.update((tree) => (eraseCredentials(tree, request, options) > 0 ? undefined : UNCHANGED))
  return 0
}

/**
 * Runs git-credential-sstash.
 * @param argv - the arguments after the program name
 * @param pending - what ./git-credential-get.ts read of git's request before it handed over
 *   (only for `get`; stdin holds the rest, if any)
 * @param said - what ./git-credential-get.ts learnt from the agent
 */
export async function main(argv: string[], pending?: PendingRequest, said: AgentSaid = {}): Promise<void> {
  await runMain(async () => {
    // Node replaced the bad bytes of an argument that was not UTF-8: such a --stash or --prefix names something else.
    if (argv.some((arg) => arg.includes('\ufffd'))) {
      const { invalidArgument } = await import('../unlock/utf8.js')
      const bad = invalidArgument(argv)
      if (bad >= 0) throw new UsageError(`argument ${bad + 1} (${JSON.stringify(argv[bad])}) is not valid UTF-8`, USAGE)
    }
    const options = parseArgs(argv)
    switch (options.action) {
      case undefined:
        throw new UsageError('no action given', USAGE)
      case 'help':
        writeStdout(`${USAGE}\n`)
        return 0
      case 'capability':
        writeStdout('version 0\ncapability authtype\ncapability state\n')
        return 0
      case 'get':
      case 'store':
      case 'erase':
        break
      default:
        // git's rule: a helper ignores actions it does not know.
        return 0
    }
    let request: Credential
    try {
      request = parseCredential(await readRequest(pending))
    } catch (error) {
      return reportError(error)
    }
    const rules = options.action === 'erase' ? [] : loadMappingRules()
    if (options.action === 'get') return get(options, request, rules, said)
    if (options.action === 'store') return store(options, request, rules)
    return erase(options, request)
  })
}
