/**
 * `sstash git add <url>` and `sstash git ls`: a git credential stored where
 * git-credential-sstash looks for it (src/git/mapping.ts's layout: a hand-made key path such as
 * `git/https/example.net/alice/password`, without the `-` for "no path", is never found), and
 * the list of what is stored: hosts and user names, never a token.
 */
import type { CAC } from 'cac'
import { SSError } from '../../errors.js'
import { formatKeyPath, parseKeyPath } from '../../tree/key-path.js'
import type { TreeNode } from '../../tree/tree.js'
import { UsageError } from '../exit.js'
import { printHint, printStatus, writeJson } from '../print.js'
import { openFromOptions, optionText, readFromOptions, type GlobalOptions } from '../stash-options.js'
import { readStdin } from '../stdin.js'
import { writeStdout } from '../stdout.js'
import { isTerminal } from '../terminal.js'

type Options = GlobalOptions & Record<string, unknown>

const USAGE = 'e.g. `sstash git add https://alice@example.net`, or `sstash git ls`'

/** The token: stdin (one trailing newline dropped, as `echo` adds one), else a hidden prompt. */
async function readToken(where: string): Promise<string> {
  let token: string
  if (isTerminal(0)) {
    const { promptHidden } = await import('../../unlock/tty.js')
    const typed = await promptHidden(`Token (password) for ${where}: `)
    if (typed === undefined) throw new UsageError('no terminal to ask for the token', 'pipe it in: `printf %s "$TOKEN" | sstash git add <url>`')
    token = typed
  } else {
    const { decodeBytes } = await import('../../git/protocol.js')
    token = decodeBytes(await readStdin()).replace(/\r?\n$/, '')
  }
  if (token === '') throw new SSError('the token is empty; nothing was stored', 'BAD_INPUT')
  // git's credential protocol is line-based: such a token could never be handed to git.
  if (/[\r\n\0]/.test(token)) throw new SSError('the token holds a line break or a NUL, which git cannot be handed; nothing was stored', 'BAD_INPUT')
  return token
}

function prefixOf(options: Options): string[] | undefined {
  const typed = optionText(options.prefix)
  return typed === undefined ? undefined : parseKeyPath(typed)
}

/** `sstash git add <url>`: asks for the token and stores it as git's `store` would. */
async function add(url: string | undefined, options: Options): Promise<void> {
  if (url === undefined) throw new UsageError('git add needs a URL with a user name', USAGE)
  const [{ parseCredentialUrl, emptyCredential }, { storeCredential, credentialKey }] = await Promise.all([import('../../git/protocol.js'), import('../../git/mapping.js')])
  let parts
  try {
    parts = parseCredentialUrl(url)
  } catch {
    throw new UsageError(`${JSON.stringify(url)} is not a URL such as https://alice@example.net`, USAGE)
  }
  // The argument is in `ps` and the shell history: a token there is already leaked.
  if (parts.password !== undefined) throw new UsageError('the URL holds a password: never put a token on the command line', 'give https://user@host, and the token on stdin or at the prompt')
  if (parts.host === '') throw new UsageError(`${JSON.stringify(url)} has no host`, USAGE)
  if (parts.username === undefined) throw new UsageError(`${JSON.stringify(url)} has no user name`, 'git looks a token up by host and user: e.g. https://alice@example.net (GitHub takes any user name with a token)')
  const prefix = prefixOf(options)
  const where = `${parts.protocol}://${parts.username}@${parts.host}${parts.path === undefined ? '' : `/${parts.path}`}`
  const stash = await openFromOptions(options)
  const credential = { ...emptyCredential(), ...parts, password: await readToken(where) }
  const mapping = prefix === undefined ? {} : { prefix }
  await stash.update((tree) => {
    storeCredential(tree, credential, mapping)
  })
  printStatus(`stored the token for ${where} at ${formatKeyPath([...credentialKey(credential, mapping), 'password'])}`)
  if (parts.path !== undefined)
    printHint(`git sends a path only with credential.useHttpPath: \`git config --global credential.${parts.protocol}://${parts.host}.useHttpPath true\``)
}

/** One stored credential, as `git ls --json` prints it: never a field's value. */
export interface ListedCredential {
  url: string
  protocol: string
  host: string
  path: string | null
  username: string | null
  /** The fields stored (`password`, `oauth_refresh_token`, `password_expiry_utc`...), by name. */
  fields: string[]
}

/** Every credential in the layout below `root`, in key order; nodes that are not the layout's are skipped. */
async function listed(root: TreeNode): Promise<ListedCredential[]> {
  const [{ decodeSegment }, { CREDENTIAL_FIELDS }] = await Promise.all([import('../../git/segment.js'), import('../../git/mapping.js')])
  const sorted = (node: TreeNode): [string, TreeNode][] => [...node.children].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const out: ListedCredential[] = []
  for (const [p, protoNode] of sorted(root))
    for (const [h, hostNode] of sorted(protoNode))
      for (const [pa, pathNode] of sorted(hostNode))
        for (const [u, userNode] of sorted(pathNode)) {
          const [protocol, host, path, username] = [p, h, pa, u].map(decodeSegment)
          const fields = [...userNode.children.keys()].filter((f) => (CREDENTIAL_FIELDS as readonly string[]).includes(f)).sort()
          if (typeof protocol !== 'string' || typeof host !== 'string' || path === null || username === null || fields.length === 0) continue
          const user = username === undefined ? '' : `${encodeURIComponent(username)}@`
          const url = `${protocol}://${user}${host}${path === undefined ? '' : `/${path}`}`
          out.push({ url, protocol, host, path: path ?? null, username: username ?? null, fields })
        }
  return out
}

/** `sstash git ls [--json]`: hosts and user names, never a token. */
async function ls(options: Options): Promise<void> {
  const { DEFAULT_PREFIX } = await import('../../git/mapping.js')
  const prefix = prefixOf(options) ?? [...DEFAULT_PREFIX]
  const root = (await readFromOptions(options, [prefix])).find(prefix)
  const credentials = root === undefined ? [] : await listed(root)
  if (options.json === true) return writeJson(credentials, 2)
  if (credentials.length === 0) return printStatus(`no git credentials below ${formatKeyPath(prefix)}`)
  writeStdout(credentials.map((c) => `${c.url}\t${c.fields.join(',')}\n`).join(''))
}

/** Registers `sstash git add` and `sstash git ls`. */
export function registerGitCommands(cli: CAC): void {
  cli.command('git <action> [url]', '`git add <url>`: store a token where git-credential-sstash finds it; `git ls`: hosts and users')
    .option('--prefix <keypath>', 'the layout\'s prefix, as git-credential-sstash --prefix (default git)')
    .option('--json', 'ls: print JSON for programs')
    .example('  $ sstash git add https://alice@github.com          # asks for the token')
    .example('  $ printf %s "$TOKEN" | sstash git add https://alice@example.net/group/repo.git')
    .example('  $ sstash git ls')
    .action((action: string, url: string | undefined, options: Options) => {
      if (action === 'add') return add(url, options)
      if (action === 'ls') return ls(options)
      throw new UsageError(`unknown git command ${JSON.stringify(String(action))}`, USAGE)
    })
}
