/**
 * One Selection from package.json to the runner: how the command line goes over a package.json's
 * field, and how the field is read as a selection.
 */
import { describe, expect, it } from 'vitest'
import { selectionOver } from '../../../src/env/selection.js'
import { selectionOfConfig } from '../../../src/env/project-config.js'

describe('Selection', () => {
  it('takes the field of package.json as a selection: one key path as a list, files and stash relative to the package.json', () => {
    const found = { config: { keys: 'app', envFile: '.env.sstash', stash: '../s.sstash', override: true }, dir: '/p/app', file: '/p/app/package.json' }
    expect(selectionOfConfig(found)).toEqual({ keys: ['app'], envFiles: ['/p/app/.env.sstash'], stash: '/p/s.sstash', override: true, prefix: undefined, mask: undefined, allow: undefined })
  })

  it('puts the command line over the field: its prefix and stash, either side\'s override and mask, both allow lists (the field\'s first)', () => {
    const field = { keys: ['app'], envFiles: [], prefix: 'F_', override: true, mask: false, allow: ['LD_A'], stash: '/f' }
    expect(selectionOver({ prefix: 'C_', mask: true, allow: ['NODE_OPTIONS'] }, field)).toEqual({
      keys: ['app'],
      envFiles: [],
      prefix: 'C_',
      override: true,
      mask: true,
      allow: ['LD_A', 'NODE_OPTIONS'],
      stash: '/f',
    })
  })

  it('takes the command line\'s key paths and files instead of the field\'s when it names any', () => {
    const field = { keys: ['app'], envFiles: ['/f/.env.sstash'], override: false, mask: false, allow: [] }
    expect(selectionOver({ envFiles: ['.env.local.sstash'] }, field)).toMatchObject({ keys: [], envFiles: ['.env.local.sstash'] })
    expect(selectionOver({}, {})).toEqual({ keys: [], envFiles: [], prefix: undefined, override: false, mask: false, allow: [], stash: undefined })
  })
})
