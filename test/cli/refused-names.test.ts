/**
 * Every name of the refused-name table (src/env/dangerous-names.ts, docs/RUN.md), one by one,
 * through every path that sets variables: sstash-run with -k and with --env-file, and sstash
 * export in each format (`--format shell` is what `eval` and direnv's `.envrc` run). An attacker
 * who can write the stash or push the reference file chooses the names; none of these may
 * reach a process or a shell. Prefixes are tried with a name the tool does not have yet.
 */
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DANGEROUS_FAMILIES, isDangerousName } from '../../src/env/dangerous-names.js'
import { parseReferenceFile } from '../../src/env/references.js'
import { makeStash, runBin, tempDir } from '../helpers.js'

const dir = tempDir()
const PASSWORD = 'refused names password'
const passwordFile = join(dir, 'password')
writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })

// The names of the hostile review, which got through before: they must be refused too.
const REPORTED = ['MAILPATH', 'RPROMPT', 'RPS1', 'GNUPGHOME', 'KUBE_EDITOR', 'HGRCPATH', 'TF_CLI_CONFIG_FILE', 'HISTFILE', 'PROMPT_COMMAND', 'ENV', 'BASH_ENV', 'ZDOTDIR']
/** Every refused name, a new name under every refused prefix, and the reported ones, upper-cased as in the table. */
const REFUSED = [
  ...new Set([...DANGEROUS_FAMILIES.flatMap((family) => [...family.names, ...family.prefixes.map((prefix) => `${prefix}SSTASH_NEXT_YEAR`)]), ...REPORTED]),
].filter((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
const EXCEPTIONS = DANGEROUS_FAMILIES.flatMap((family) => family.except ?? [])
// A value a shell would run at its next prompt, if the name got through.
const VALUE = '.git/index?$(touch /tmp/sstash-pwned)'

const env = { SSTASH_PASSWORD_FILE: passwordFile }
let stash = ''
async function theStash(): Promise<string> {
  if (stash !== '') return stash
  stash = join(dir, 'names.sstash')
  const values: Record<string, string> = {}
  for (const name of [...REFUSED, ...EXCEPTIONS]) {
    values[`project/upper/${name}`] = VALUE
    values[`project/lower/${name.toLowerCase()}`] = VALUE
  }
  await makeStash(stash, PASSWORD, values)
  return stash
}

/** Every name of `names` that stderr does not name as refused. */
const notRefused = (stderr: string, names: readonly string[], spelled: (name: string) => string): string[] => names.filter((name) => !stderr.includes(spelled(name)))

describe('the refused-name table, name by name', () => {
  it('holds the names of the report: shell prompts and start-up files, editors, VCS, Terraform, GnuPG', () => {
    expect(REFUSED.length).toBeGreaterThan(250)
    for (const name of REPORTED) expect(isDangerousName(name), name).toBe(true)
  })

  it.each(['upper', 'lower'])('is refused by sstash-run -k in %s case, every name at once, and the command never starts', async (which) => {
    const file = await theStash()
    const names = REFUSED.map((n) => (which === 'lower' ? n.toLowerCase() : n))
    const marker = join(dir, `started-${which}`)
    const run = await runBin('run', ['-k', `project/${which}`, '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`], { env: { ...env, SSTASH_FILE: file } })
    expect(run.code).toBe(1)
    expect(notRefused(run.stderr, names, (n) => `gives the variable ${n}, one of`)).toEqual([])
    expect(run.stderr).not.toContain(VALUE)
    expect(run.stdout).toBe('')
    expect(existsSync(marker)).toBe(false)
  })

  it.each(['shell', 'dotenv', 'json'])('is refused by sstash export --format %s, which prints nothing', async (format) => {
    const file = await theStash()
    const run = await runBin('sstash', ['export', 'project/upper', '--format', format], { env: { ...env, SSTASH_FILE: file } })
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(notRefused(run.stderr, REFUSED, (n) => `gives the variable ${n}, one of`)).toEqual([])
  })

  it('is refused from a reference file, by sstash-run --env-file and by sstash export --env-file --format shell', async () => {
    const file = await theStash()
    const refs = join(dir, 'names.env.sstash')
    writeFileSync(refs, [...REFUSED, ...REFUSED.map((n) => n.toLowerCase())].map((n) => `${n}=sstash://project/upper/PATH\n`).join(''))
    const all = [...REFUSED, ...REFUSED.map((n) => n.toLowerCase())]
    for (const args of [['run', '--env-file', refs, '--', 'true'], ['sstash', 'export', '--env-file', refs, '--format', 'shell']]) {
      const [bin, ...rest] = args as [string, ...string[]]
      const run = await runBin(bin as 'run' | 'sstash', rest, { env: { ...env, SSTASH_FILE: file } })
      expect(run.code, args.join(' ')).toBe(1)
      expect(run.stdout).toBe('')
      // The message lists the first problems and counts the rest; each name is checked alone below.
      expect(run.stderr).toMatch(/can make programs run other code/)
    }
    for (const name of all) expect(() => parseReferenceFile(`${name}=plain\n`, 'f'), name).toThrow(/can make programs run other code/)
  })

  it('lets each exception through, and each refused name with --allow of that name', async () => {
    const file = await theStash()
    const sample = ['MAILPATH', 'RPROMPT', 'KUBECONFIG', 'GNUPGHOME']
    const keys = DANGEROUS_FAMILIES.flatMap((family) => family.except ?? [])
    const allowed = await runBin('sstash', ['export', 'project/upper', '--format', 'json', '--allow', REFUSED.join(',')], { env: { ...env, SSTASH_FILE: file } })
    expect(allowed.code).toBe(0)
    const out = JSON.parse(allowed.stdout) as Record<string, string>
    for (const name of [...sample, ...keys]) expect(out[name], name).toBe(VALUE)
  })
})
