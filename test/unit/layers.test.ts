/**
 * The import graph of src/: imports run down the order docs/DESIGN.md declares ("Layers"), and
 * no file imports itself back through others. Read from the sources, as a reviewer would.
 *
 * KNOWN_UP and KNOWN_CYCLES are what issue 20 found and has not yet moved: the list may only
 * shrink. A new upward import or a new cycle fails here; one that is gone must leave the list.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers.js'

const SRC = join(ROOT, 'src')

/** Layers from the top; a file may import its own layer's files and those of any lower layer. */
const LAYERS: readonly (readonly string[])[] = [
  ['index'],
  ['cli'],
  ['unlock'],
  ['agent'],
  ['store'],
  ['team'],
  ['stash'],
  ['guard'],
  ['format', 'env', 'git'],
  ['fs', 'crypto'],
  ['tree'],
  ['errors', 'locations', 'finding'],
]

const KNOWN_UP = new Set<string>([])

const KNOWN_CYCLES = new Set<string>([])

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return path.endsWith('.ts') ? [path] : []
  })
}

/** Every relative import of each file of src/ (static, type-only, re-exports and `import()`). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  const pattern = /(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s+['"](\.[^'"]+)['"]|import\s*\(\s*['"](\.[^'"]+)['"]\s*\)|^import\s+['"](\.[^'"]+)['"]/gm
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8')
    const targets = new Set<string>()
    for (const match of text.matchAll(pattern)) {
      const spec = match[1] ?? match[2] ?? match[3] ?? ''
      targets.add(relative(SRC, resolve(dirname(file), spec.replace(/\.js$/, '.ts'))))
    }
    graph.set(relative(SRC, file), [...targets])
  }
  return graph
}

/** A sub-path's entry file (`team/index.ts` is `sstash/team`) is public API, as src/index.ts is: the top layer. */
const partOf = (file: string): string => {
  if (file.endsWith('/index.ts')) return 'index'
  return file.includes('/') ? (file.split('/')[0] ?? file) : file.replace(/\.ts$/, '')
}
const rankOf = (file: string): number => {
  const rank = LAYERS.findIndex((layer) => layer.includes(partOf(file)))
  if (rank < 0) throw new Error(`${file}: its folder is in no layer of LAYERS (add it, and to docs/DESIGN.md)`)
  return rank
}

/** Strongly connected components of more than one file (Tarjan), each as sorted file names. */
function cycles(graph: Map<string, string[]>): string[] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const found: string[] = []
  const visit = (v: string): void => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0))
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0))
    }
    if (low.get(v) !== index.get(v)) return
    const component: string[] = []
    for (let w = stack.pop(); w !== undefined; w = w === v ? undefined : stack.pop()) component.push(w)
    if (component.length > 1) found.push(component.sort().join(' '))
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return found.sort()
}

describe('the import graph of src/', () => {
  const graph = importGraph()

  it('reads the imports of every file (the parser sees the graph)', () => {
    expect(graph.size).toBeGreaterThan(50)
    expect(graph.get('cli/sstash.ts')?.length).toBeGreaterThan(3)
  })

  it('has no import that runs up the declared layers, beyond the known ones issue 20 is moving', () => {
    const up: string[] = []
    for (const [file, targets] of graph) {
      for (const target of targets) {
        if (partOf(file) !== partOf(target) && rankOf(target) <= rankOf(file)) up.push(`${file} -> ${target}`)
      }
    }
    expect(up.filter((edge) => !KNOWN_UP.has(edge))).toEqual([])
    expect([...KNOWN_UP].filter((edge) => !up.includes(edge))).toEqual([])
  })

  it('has no import cycle, beyond the known ones issue 20 is breaking', () => {
    const found = cycles(graph)
    expect(found.filter((cycle) => !KNOWN_CYCLES.has(cycle))).toEqual([])
    expect([...KNOWN_CYCLES].filter((cycle) => !found.includes(cycle))).toEqual([])
  })

  it('finds a cycle and an upward import in a graph made to have them', () => {
    const made = new Map([
      ['tree/a.ts', ['tree/b.ts']],
      ['tree/b.ts', ['tree/a.ts', 'cli/x.ts']],
      ['cli/x.ts', []],
    ])
    expect(cycles(made)).toEqual(['tree/a.ts tree/b.ts'])
    expect(rankOf('cli/x.ts')).toBeLessThan(rankOf('tree/b.ts'))
    expect(rankOf('team/index.ts')).toBe(rankOf('index.ts'))
  })
})
