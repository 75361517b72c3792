/**
 * locations.ts says every default path is resolved there and only there; the README says a
 * program can do whatever the binaries do. Both are held here.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as env from '../../src/env/index.js'
import * as team from '../../src/team/index.js'
import { defaultStashPath, gitCredentialStoreFiles, gitRulesPath, teamSeenPath } from '../../src/locations.js'
import { ROOT } from '../helpers.js'

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : []
  })
}

describe('default paths', () => {
  it('are resolved in locations.ts only: no other module joins a name onto one of its directories', () => {
    const found: string[] = []
    for (const path of sourceFiles(join(ROOT, 'src'))) {
      const rel = relative(ROOT, path)
      if (rel === 'src/locations.ts') continue
      const source = readFileSync(path, 'utf8')
      for (const m of source.matchAll(/join\(\s*(dataDir|configDir|stateDir|agentDir|homedir)\(/g)) found.push(`${rel}: ${m[0]}`)
      if (/\.git-credentials'|'git\.json'|'team-seen'|'stash\.sstash'/.test(source)) found.push(`${rel}: a default file name`)
    }
    expect(found).toEqual([])
  })

  it('follow XDG for the stash, the seen generations, the git rules and git-credential-store\'s files', () => {
    const env = { XDG_DATA_HOME: '/d', XDG_STATE_HOME: '/s', XDG_CONFIG_HOME: '/c', HOME: '/h' }
    expect(defaultStashPath(env)).toBe(process.platform === 'darwin' ? expect.any(String) : '/d/sstash/stash.sstash')
    expect(teamSeenPath(env)).toMatch(/\/sstash\/team-seen$/)
    expect(gitRulesPath(env)).toMatch(/\/sstash\/git\.json$/)
    expect(gitCredentialStoreFiles(env)).toEqual(['/h/.git-credentials', '/c/git/credentials'])
  })
})

describe('the package entry points', () => {
  it('export what the binaries are built on: running a command, importing a .env (sstash/env), setting up git for a team stash (sstash/team)', () => {
    expect(typeof env.runCommand).toBe('function')
    expect(typeof env.importDotenv).toBe('function')
    expect(typeof team.gitSetup).toBe('function')
    expect(env.importDotenv('A=1\n', { into: ['app'] }).vars.get('A')).toBe('1')
  })
})
