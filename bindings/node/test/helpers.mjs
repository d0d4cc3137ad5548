// Shared by the test files: the built addon (through the package's own
// name, as users import it), an in-process emulator, and clients on it.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

import * as wa from 'wa-groups'

export { wa }
export const { Client, Emulator } = wa

export const here = path.dirname(fileURLToPath(import.meta.url))
export const packageDir = path.resolve(here, '..')
export const repoRoot = path.resolve(packageDir, '..', '..')
export const testdata = path.join(repoRoot, 'testdata')

export function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'))
}

/** A client on `emu`; `options` override the defaults. Retries wait 1 ms. */
export function clientFor(emu, options = {}) {
  return new Client({
    accessToken: emu.accessToken,
    baseUrl: emu.baseUrl,
    retryBaseDelayMs: 1,
    ...options,
  })
}

/** Asserts that `promise` rejects with an error of `code`; returns it. */
export async function rejection(promise, code) {
  let error
  await promise.then(
    (value) => {
      throw new Error(`expected a ${code} rejection, got ${JSON.stringify(value)}`)
    },
    (e) => {
      error = e
    },
  )
  if (!(error instanceof Error)) throw new Error(`rejected with a non-Error: ${error}`)
  if (error.code !== code) {
    throw new Error(`expected ${code}, got ${error.code}: ${error.message}`, { cause: error })
  }
  return error
}
