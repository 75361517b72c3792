/**
 * Whether the leak guard is on for this user, and the hook a stash write calls. Kept apart from
 * the fingerprinting so that a write, when the guard is off, costs one `stat` and loads nothing.
 */
import type { Tree } from '../tree/tree.js'
import { guardActive } from './state.js'

/**
 * Called by SecureStash and TeamStash after each write, with the tree just written: refreshes
 * that stash's fingerprints when the guard is on. Never throws (see sources.ts).
 * @param stash - the stash's real path
 */
export async function afterWrite(stash: string, kind: 'personal' | 'team', tree: Tree): Promise<void> {
  if (!guardActive()) return
  try {
    const { refreshAfterWrite } = await import('./sources.js')
    refreshAfterWrite(stash, kind, tree)
  } catch {
    // A guard that cannot refresh must not fail the write; the next scan says it is behind.
  }
}
