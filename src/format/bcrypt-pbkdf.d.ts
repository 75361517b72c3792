// The `bcrypt-pbkdf` package ships no types; this is the one function src/format/openssh-key.ts uses.
declare module 'bcrypt-pbkdf' {
  export function pbkdf(pass: Uint8Array, passlen: number, salt: Uint8Array, saltlen: number, key: Uint8Array, keylen: number, rounds: number): number
}
