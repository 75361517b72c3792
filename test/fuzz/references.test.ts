/**
 * Time-bounded fuzzing of the reference-file and template parsers (see parsers.test.ts for the
 * bound): whatever the input, they return or throw one of our errors, never anything else.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SSError } from '../../src/errors.js'
import { parseReferenceFile } from '../../src/env/references.js'
import { resolveReferences } from '../../src/env/reference-resolve.js'
import { parseTemplate, renderTemplate } from '../../src/env/template.js'
import { Tree } from '../../src/tree/tree.js'

const FUZZ_MS = Number(process.env.SSTASH_FUZZ_MS ?? 2_000)
const BOUNDED = { numRuns: 1_000_000, interruptAfterTimeLimit: FUZZ_MS, markInterruptAsFailure: false } as const
const TIMEOUT = FUZZ_MS * 4 + 20_000

function onlyOurErrors(fn: () => unknown): void {
  try {
    fn()
  } catch (error) {
    if (!(error instanceof SSError)) throw error
  }
}

const PIECES = ['A=', 'B =', 'export C=', '\n', '\r\n', '"', "'", '`', '#', ' ', '\\', 'sstash:', 'sstash://', 'SSTASH://', '/', '\\e', '\\x', '\\x4', '\\/', 'a', '{{', '}}', '{{ ', ' }}', '\u2028', '\0', 'é', '😀', '\ud800']
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((p) => p.join('')))
const bytes = fc.oneof(fc.uint8Array({ maxLength: 200 }), text.map((t) => new TextEncoder().encode(t)))

describe('fuzzing references and templates', () => {
  const tree = new Tree()
  tree.write(['a'], new Uint8Array([0xff]))
  tree.write(['a', 'b'], new TextEncoder().encode('v'))

  it('reference files: any text or bytes parse and resolve, or fail with our error', () => {
    fc.assert(fc.property(fc.oneof(text, bytes), (input) => void onlyOurErrors(() => resolveReferences(parseReferenceFile(input, 'f').entries, tree))), BOUNDED)
    expect(true).toBe(true)
  }, TIMEOUT)

  it('templates: any text or bytes parse and render, or fail with our error', () => {
    fc.assert(fc.property(fc.oneof(text, bytes), (input) => void onlyOurErrors(() => renderTemplate(parseTemplate(input, 't'), tree))), BOUNDED)
    expect(true).toBe(true)
  }, TIMEOUT)
})
