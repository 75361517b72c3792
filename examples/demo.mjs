// `npm run demo`: sstash's main job end to end, on a throwaway stash, with no input and no
// network. Every step runs the real binaries (and real git) the way a user would.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const bin = (name) => join(root, 'bin', `${name}.cjs`)
const node = process.execPath
const dir = mkdtempSync(join(tmpdir(), 'sstash-demo-'))
const stash = join(dir, 'demo.sstash')
const passwordFile = join(dir, 'password')

// Isolated from the user's own git config, stash and agent: only what this demo sets applies.
const env = {
  PATH: process.env.PATH ?? '',
  HOME: dir,
  SSTASH_FILE: stash,
  SSTASH_PASSWORD_FILE: passwordFile,
  XDG_RUNTIME_DIR: dir,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: join(dir, 'gitconfig'),
  GIT_TERMINAL_PROMPT: '0',
}

let step = 0
const say = (text) => console.log(`\n${++step}. ${text}`)
const show = (text) => console.log(text.trimEnd().replace(/^/gm, '   | '))

function run(command, args, input) {
  try {
    return execFileSync(command, args, { env, input: input ?? '', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 })
  } catch (error) {
    const detail = `${error.stderr ?? ''}${error.stdout ?? ''}`.trim() || error.message
    throw new Error(`${[command === node ? 'node' : command, ...args].join(' ')} failed:\n${detail}`)
  }
}
const sstash = (...args) => run(node, [bin('sstash'), ...args])

const shellQuote = (s) => `'${s.replaceAll("'", "'\\''")}'`
// An empty helper first drops any helper configured elsewhere; git runs a `!` helper through sh.
const helper = ['-c', 'credential.helper=', '-c', `credential.helper=!${[node, bin('git-credential-sstash'), '--stash', stash].map(shellQuote).join(' ')}`]
const git = (args, input) => run('git', [...helper, ...args], input)

try {
  console.log(`sstash demo: a throwaway stash in ${dir}`)
  console.log('(its key derivation is deliberately cheap, scrypt N=1024, so the demo runs in seconds;')
  console.log(' `sstash init` uses scrypt N=2^17 unless told otherwise)')

  say('Create an encrypted stash. The password comes from a file, so nothing asks for input.')
  writeFileSync(passwordFile, 'demo password, never reuse\n', { mode: 0o600 })
  sstash('init', '--kdf', 'scrypt:N=1024,r=8,p=1')
  show(`sstash init --kdf scrypt:N=1024,r=8,p=1   -> ${stash} (mode ${(statSync(stash).mode & 0o777).toString(8)})`)

  say('git stores a credential through `git credential approve`, as it does after a successful push.')
  const token = 'ghp_demoToken0123456789abcdef'
  git(['credential', 'approve'], `protocol=https\nhost=git.example.com\nusername=alice\npassword=${token}\n\n`)
  show('git -c credential.helper=\'!git-credential-sstash --stash ...\' credential approve')
  if (readFileSync(stash).includes(token)) throw new Error('the token is readable in the stash file')
  show('the stash file does not contain the token in plain text; it is encrypted, stored here:')
  show(sstash('tree'))

  say('git asks for it again through `git credential fill`, as it does before a fetch.')
  const filled = git(['credential', 'fill'], 'protocol=https\nhost=git.example.com\n\n')
  const fields = Object.fromEntries(filled.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))
  if (fields.username !== 'alice' || fields.password !== token) throw new Error(`git credential fill returned something else:\n${filled}`)
  show(`username=${fields.username}`)
  show(`password=${'*'.repeat(8)}  (the same ${token.length} characters that were stored)`)

  say('A look-alike host gets nothing (no prefix matching), so git would ask the user instead.')
  let refusal = ''
  try {
    refusal = `the helper answered:\n${git(['credential', 'fill'], 'protocol=https\nhost=git.example.com.evil.example\n\n')}`
  } catch (error) {
    // git found no credential and, with prompts disabled, gave up: the expected outcome.
    if (!error.message.includes('terminal prompts disabled')) refusal = error.message
  }
  if (refusal) throw new Error(`a look-alike host was not refused as expected: ${refusal}`)
  show('git.example.com.evil.example: no credential (git would prompt; the demo disabled prompts)')

  say('Import a small .env file into the stash, then delete the plain-text file.')
  const dotenv = join(dir, '.env')
  writeFileSync(dotenv, 'API_TOKEN=demo-api-token-123\nDATABASE_URL="postgres://app:demo-db-pass@localhost/app"\n')
  run(node, [bin('sstash'), 'import', dotenv, '--into', 'demo/myapp'])
  rmSync(dotenv)
  show(`sstash import .env --into demo/myapp   (.env deleted: ${existsSync(dotenv) ? 'no' : 'yes'})`)
  show(sstash('ls', 'demo/myapp'))

  say('Run a program through `sstash-run --mask`: it receives the variables; its output is masked.')
  const child = [
    'for (const name of ["API_TOKEN", "DATABASE_URL"])',
    '  console.log(`${name}=${process.env[name]}  (${process.env[name].length} characters received)`);',
    'console.log(`SSTASH_PASSWORD_FILE in the child: ${process.env.SSTASH_PASSWORD_FILE === undefined ? "removed" : "present"}`)',
  ].join('\n')
  const output = run(node, [bin('sstash-run'), '--stash', stash, '-k', 'demo/myapp', '--mask', '--', node, '-e', child])
  if (output.includes('demo-api-token-123') || output.includes('demo-db-pass')) throw new Error(`--mask let a value through:\n${output}`)
  show(`sstash-run -k demo/myapp --mask -- node -e '...'`)
  show(output)

  console.log('\nDone: git and the program got their secrets; neither the token nor the .env values were left on disk in plain text.')
} catch (error) {
  console.error(`\nsstash demo: error: ${error.message}`)
  process.exitCode = 1
} finally {
  rmSync(dir, { recursive: true, force: true })
  console.log(`Cleaned up ${dir}.`)
}
