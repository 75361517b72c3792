// Regenerates the test vectors in this folder: npm run build && node test/vectors/generate.mjs
// Good vectors carry every intermediate value another implementation needs to check itself;
// fail vectors are good ones changed in one way each, named by what is wrong.
import { writeFileSync, rmSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createStash, parseStash } from '../../dist/format/stash-file.js'
import { deriveKey } from '../../dist/format/kdf.js'
import { open, seal } from '../../dist/crypto/secretbox.js'
import { subkey } from '../../dist/crypto/primitives.js'
import { encodeTree } from '../../dist/tree/codec.js'
import { encodeTree as encodePythonTree } from '../../dist/format/python.js'
import { Tree } from '../../dist/tree/tree.js'

const here = import.meta.dirname
for (const name of readdirSync(here)) if (name.endsWith('.sstash')) rmSync(join(here, name))
const hex = (b) => Buffer.from(b).toString('hex')
const utf8 = (s) => new TextEncoder().encode(s)
const vectors = []

function sampleTree() {
  const tree = new Tree()
  tree.write(['project', 'SomeService', 'token1'], utf8('622324c09486bf30ed3a9213954a35c34de84535'))
  tree.write(['a', 'b'], utf8('interior value'))
  tree.write(['a', 'b', 'd'], utf8('bye'))
  tree.write(['empty'], new Uint8Array(0))
  tree.write(['binary'], Uint8Array.from({ length: 256 }, (_, i) => i))
  tree.write(['__proto__', 'with/slash', ''], utf8('snow ☃'))
  return tree
}

const listing = (tree) => tree.entries([]).map((e) => ({ key: e.key, value_hex: hex(e.value) }))

async function good(file, kdf, password, tree) {
  const fresh = await createStash(kdf, password)
  const bytes = fresh.seal(tree)
  writeFileSync(join(here, file), bytes)
  const locked = parseStash(bytes, file)
  const kek = await deriveKey(locked.kdf, password, locked.salt)
  const entry = { file, password, expect: 'ok', kdf, salt: hex(locked.salt), derived_key: hex(kek), values: listing(tree) }
  if (kdf.name === 'scrypt') {
    const header = JSON.parse(Buffer.from(bytes).toString('latin1').split('\n')[1])
    const fileKey = open(kek, new Uint8Array(Buffer.from(header.recipients[0].wrappedKey, 'base64')), file)
    Object.assign(entry, {
      file_key: hex(fileKey),
      header_mac_key: hex(subkey(fileKey, 'sstash/1 header')),
      body_key: hex(subkey(fileKey, 'sstash/1 body')),
      body_plaintext: hex(encodeTree(tree)),
    })
  } else {
    entry.body_plaintext = hex(encodePythonTree(tree))
  }
  vectors.push(entry)
  return bytes
}

// `code`, when given, is the SSError code a reader must give.
function fail(file, base, password, change, error, why, code) {
  const bytes = change(new Uint8Array(base))
  writeFileSync(join(here, file), bytes)
  vectors.push({ file, password, expect: error, why, ...(code ? { code } : {}) })
}

const scrypt = { name: 'scrypt', N: 1024, r: 8, p: 1 }
const pbkdf2 = { name: 'pbkdf2-sha512', iterations: 100 }
const native = await good('good_native_tree.sstash', scrypt, 'correct horse battery staple', sampleTree())
await good('good_native_empty.sstash', scrypt, '', new Tree())
await good('good_native_unicode_password.sstash', { name: 'scrypt', N: 2048, r: 4, p: 2 }, 'pässwörd 🔑', sampleTree())
const python = await good('good_python_tree.sstash', pbkdf2, 'correct horse battery staple', sampleTree())

const text = (bytes) => Buffer.from(bytes).toString('latin1')
const bytesOf = (s) => new Uint8Array(Buffer.from(s, 'latin1'))
const editHeader = (bytes, edit) => {
  const s = text(bytes)
  const nl = s.indexOf('\n', 9)
  const header = JSON.parse(s.slice(9, nl))
  edit(header)
  return bytesOf(s.slice(0, 9) + JSON.stringify(header) + s.slice(nl))
}
const flip = (index) => (b) => ((b[index < 0 ? b.length + index : index] ^= 1), b)
const pw = 'correct horse battery staple'
const headerEnd = text(native).indexOf('\n', 9)

fail('fail_native_wrong_password.sstash', native, 'Correct horse battery staple', (b) => b, 'SSCryptoError', 'the password differs in one letter')
fail('fail_native_header_mac.sstash', native, pw, flip(headerEnd + 1), 'SSCryptoError', 'one bit of the header MAC is flipped')
fail('fail_native_body_bit.sstash', native, pw, flip(-1), 'SSCryptoError', 'one bit of the ciphertext is flipped')
fail('fail_native_header_space.sstash', native, pw, (b) => bytesOf(text(b).replace('{"recipients":', '{ "recipients":')), 'SSCryptoError', 'a space was added to the header JSON: the MAC covers every header byte')
fail('fail_native_truncated.sstash', native, pw, (b) => b.subarray(0, b.length - 20), 'SSError|SSCryptoError', 'the file is cut short')
fail('fail_native_trailing_byte.sstash', native, pw, (b) => new Uint8Array([...b, 0]), 'SSCryptoError', 'a byte is appended')
fail('fail_native_version_2.sstash', native, pw, (b) => bytesOf(text(b).replace('sstash/1', 'sstash/2')), 'SSError', 'an unknown version')
fail('fail_native_unknown_recipient.sstash', native, pw, (b) => editHeader(b, (h) => (h.recipients[0].type = 'x25519')), 'SSError', 'a recipient type this version does not know')
fail('fail_native_two_recipients.sstash', native, pw, (b) => editHeader(b, (h) => h.recipients.push(h.recipients[0])), 'SSError', 'version 1 has exactly one recipient')
fail('fail_native_extra_field.sstash', native, pw, (b) => editHeader(b, (h) => (h.recipients[0].extra = 1)), 'SSError', 'an unexpected field')
fail('fail_native_missing_salt.sstash', native, pw, (b) => editHeader(b, (h) => delete h.recipients[0].salt), 'SSError', 'a missing field')
fail('fail_native_short_salt.sstash', native, pw, (b) => editHeader(b, (h) => (h.recipients[0].salt = h.recipients[0].salt.slice(0, 20))), 'SSError', 'a salt of the wrong size')
fail('fail_native_n_not_power_of_two.sstash', native, pw, (b) => editHeader(b, (h) => (h.recipients[0].N = 1000)), 'SSError', 'scrypt N must be a power of two')
fail('fail_native_n_huge.sstash', native, pw, (b) => editHeader(b, (h) => (h.recipients[0].N = 2 ** 30)), 'SSError', 'scrypt N beyond the bounds: refused before deriving')
fail('fail_native_r_negative.sstash', native, pw, (b) => editHeader(b, (h) => (h.recipients[0].r = -8)), 'SSError', 'a negative parameter')
fail('fail_native_n_string.sstash', native, pw, (b) => editHeader(b, (h) => (h.recipients[0].N = '1024')), 'SSError', 'a parameter of the wrong type')

const outer = JSON.parse(text(python))
const pythonWith = (edit) => () => {
  const o = { ...outer }
  edit(o)
  return bytesOf(JSON.stringify(o))
}
fail('fail_python_wrong_password.sstash', python, 'correct horse battery stapler', (b) => b, 'SSCryptoError', 'a wrong password')
fail('fail_python_blob_bit.sstash', python, pw, pythonWith((o) => (o.enc_blob = o.enc_blob.slice(0, -1) + (o.enc_blob.endsWith('0') ? '1' : '0'))), 'SSCryptoError', 'one bit of the ciphertext is flipped')
fail('fail_python_sha256.sstash', python, pw, pythonWith((o) => (o.hash = 'sha256')), 'SSError', 'an unsupported hash')
fail('fail_python_uppercase_salt.sstash', python, pw, pythonWith((o) => (o.salt = o.salt.toUpperCase())), 'SSError', 'the package writes lowercase hex')
fail('fail_python_iterations_huge.sstash', python, pw, pythonWith((o) => (o.iterations = 2 ** 40)), 'SSError', 'iterations beyond the bounds: refused before deriving')
fail('fail_python_iterations_zero.sstash', python, pw, pythonWith((o) => (o.iterations = 0)), 'SSError', 'zero iterations')
fail('fail_python_missing_blob.sstash', python, pw, pythonWith((o) => delete o.enc_blob), 'SSError', 'a missing field')
fail('fail_python_extra_field.sstash', python, pw, pythonWith((o) => (o.version = 2)), 'SSError', 'an unexpected field')
// A plaintext sealed under the right key, so that only the tree inside is wrong.
const pythonKey = await deriveKey(pbkdf2, pw, new Uint8Array(Buffer.from(outer.salt, 'hex')))
const pythonPlaintext = (json) => pythonWith((o) => (o.enc_blob = hex(seal(pythonKey, utf8(json)))))
fail('fail_python_duplicate_name.sstash', python, pw, pythonPlaintext('{"a": {"children": {}, "value": "01"}, "a": {"children": {}, "value": "02"}}'), 'SSError', 'a name appears twice among siblings: JSON.parse and json.loads keep the last, a reader refuses it', 'CORRUPT_CONTENT')
fail('fail_not_json.sstash', python, pw, () => bytesOf('I am not a stash file!'), 'SSError', 'not a stash at all')
fail('fail_empty.sstash', python, pw, () => new Uint8Array(0), 'SSError', 'an empty file')

writeFileSync(join(here, 'vectors.json'), JSON.stringify(vectors, null, 1) + '\n')
console.log(`wrote ${vectors.length} vectors`)
