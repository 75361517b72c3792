/**
 * The agent's `credential` request: git-credential-sstash's `get`, answered in this warm process
 * from the tree it holds, so that the helper started by each git fetch loads a few kilobytes
 * (src/cli/git-credential-get.ts): no credential parser, no mapping rules, no tree decoding.
 *
 * It answers only what the helper itself would answer without a word on stderr. Anything else
 * (a malformed request, a bad `--prefix`, mapping rules that cannot be read or parsed, a stash
 * it cannot serve) is "not held", and the helper's own path runs and says what is wrong, in its
 * own words: the request is only ever a faster way to the same lines.
 */
import { SSError } from '../errors.js'
import { answerGet } from '../git/answer.js'
import { DEFAULT_PREFIX } from '../git/mapping.js'
import { parseMappingRules, type MappingRule } from '../git/mapping-rules.js'
import { formatCredential, parseCredential, type Credential } from '../git/protocol.js'
import { readRegularFile } from '../fs/read.js'
import { parseKeyPath } from '../tree/key-path.js'
import type { Held, UnlockedStashes } from './unlocked-stashes.js'
import { NOT_HELD, notServed } from './not-served.js'
import type { AgentResponse, CredentialRequest } from './protocol.js'

/** The largest mapping-rules file the agent reads for a client; a larger one is left to the helper. */
const MAX_RULES_BYTES = 1024 * 1024

/** The rules file's rules; none when it does not exist. Read without blocking (a FIFO is refused, not waited on). */
function loadRules(path: string): MappingRule[] {
  const bytes = readRegularFile(path, MAX_RULES_BYTES)
  return bytes === undefined ? [] : parseMappingRules(Buffer.from(bytes).toString('utf8'), path)
}

/** What the request asks, parsed as the helper parses it; undefined when the helper would say something about it. */
function parse({ prefix, rules, request }: CredentialRequest): { asked: Credential; keyPrefix: readonly string[]; mapping: MappingRule[] } | undefined {
  try {
    const keyPrefix = prefix === undefined ? DEFAULT_PREFIX : parseKeyPath(prefix)
    const asked = parseCredential(new Uint8Array(Buffer.from(request, 'base64')))
    return { asked, keyPrefix, mapping: loadRules(rules) }
  } catch (error) {
    if (error instanceof SSError) return undefined
    throw error
  }
}

/**
 * Answers a `credential` request from the stash `entry` holds.
 * @returns `answer`, the lines to print (base64, empty when nothing matches), or "not held"
 */
export async function credential(request: CredentialRequest, context: { unlocked: UnlockedStashes; changed(): void }, entry: Held): Promise<AgentResponse> {
  const parsed = parse(request)
  if (parsed === undefined) return NOT_HELD
  const { asked, keyPrefix, mapping } = parsed
  // As the helper: a request without a protocol or a host is answered with nothing.
  if (asked.protocol === undefined || asked.host === undefined) return { ok: true, found: true, answer: '' }
  try {
    const stash = await context.unlocked.opened(entry)
    return await stash.peek((tree): AgentResponse => {
      const answer = answerGet(tree, asked, keyPrefix, mapping)
      return { ok: true, found: true, answer: answer ? Buffer.from(formatCredential(answer)).toString('base64') : '' }
    })
  } catch (error) {
    return notServed(context, entry, error)
  }
}
