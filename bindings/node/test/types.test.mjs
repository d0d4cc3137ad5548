// What issue 15 asked of the package's types and shape, checked on the
// built addon and the generated index.d.ts: `ErrorCode` is exactly what
// `isWaGroupsError` accepts; a readonly list of IDs is taken; the README's
// Node example is the one `tsc -p types` compiles; `Client` shows where it
// sends calls (never the token); the iterator has Node's method names.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { inspect } from 'node:util'
import { after, before, test } from 'node:test'

import { Emulator, clientFor, packageDir, rejection, repoRoot, wa } from './helpers.mjs'

const dts = readFileSync(path.join(packageDir, 'index.d.ts'), 'utf8')

let emu
before(async () => {
  emu = await Emulator.start()
})
after(async () => {
  await emu.stop()
})

/** The string literals of `export type ErrorCode = ...` in index.d.ts. */
function declaredCodes() {
  const decl = dts.slice(dts.indexOf('export type ErrorCode'))
  const body = decl.slice(0, decl.search(/\n\s*\n|\nexport /))
  return [...body.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1])
}

test('ErrorCode lists exactly the codes isWaGroupsError accepts', () => {
  const codes = declaredCodes()
  assert.ok(codes.includes('ERR_WA_EMULATOR'), codes.join())
  assert.ok(codes.includes('ERR_WA_INTERNAL'), codes.join())
  for (const code of codes) assert.ok(wa.isWaGroupsError(Object.assign(new Error('x'), { code })), code)
  // A code the type does not list is not one of ours.
  for (const code of ['ERR_WA_BOGUS', 'ERR_WA_', 'ABORT_ERR', 'err_wa_api']) {
    assert.equal(wa.isWaGroupsError(Object.assign(new Error('x'), { code })), false, code)
  }
})

test('the errors the package raises carry a declared ErrorCode', async () => {
  const codes = declaredCodes()
  const stopped = new Emulator()
  let emulatorError
  try {
    void stopped.baseUrl
  } catch (e) {
    emulatorError = e
  }
  assert.equal(emulatorError?.code, 'ERR_WA_EMULATOR')
  const invalid = await rejection(clientFor(emu).listJoinRequests(''), 'ERR_WA_INVALID_INPUT')
  const missing = await rejection(clientFor(emu).listJoinRequests('999999'), 'ERR_WA_NOT_FOUND')
  for (const e of [emulatorError, invalid, missing]) {
    assert.ok(wa.isWaGroupsError(e))
    assert.ok(codes.includes(e.code), e.code)
  }
})

test('approve and reject take a frozen (readonly) list of IDs', async () => {
  const client = clientFor(emu)
  const group = await emu.createGroup()
  const ids = Object.freeze(await emu.addJoinRequests(group, 2))
  assert.match(dts, /approveJoinRequests\(groupId: string, ids: readonly string\[\]/)
  assert.match(dts, /rejectJoinRequests\(groupId: string, ids: readonly string\[\]/)
  assert.deepEqual((await client.approveJoinRequests(group, ids.slice(0, 1))).approved, [ids[0]])
  assert.deepEqual((await client.rejectJoinRequests(group, Object.freeze([ids[1]]))).rejected, [ids[1]])
})

/** The part of `file` (in types/) between the README markers. */
function checkedExample(file) {
  const checked = readFileSync(path.join(packageDir, 'types', file), 'utf8')
  const begin = '// README example begin\n'
  const start = checked.indexOf(begin)
  const end = checked.indexOf('// README example end\n')
  assert.ok(start >= 0 && end > start, `${file} has no README markers`)
  return checked.slice(start + begin.length, end)
}

/** The first ```js block of `markdown` after `heading` (or from the top). */
function jsBlock(markdown, heading) {
  const from = heading ? markdown.indexOf(heading) : 0
  assert.ok(from >= 0, `no ${heading}`)
  const block = /```js\n([\s\S]*?)```/.exec(markdown.slice(from))?.[1]
  assert.ok(block, `no js block after ${heading ?? 'the top'}`)
  return block
}

test("the READMEs' Node examples are the ones tsc -p types compiles under strict", () => {
  const root = readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
  assert.equal(checkedExample('readme.mts'), jsBlock(root, '\n## Node\n'))
  const own = readFileSync(path.join(packageDir, 'README.md'), 'utf8')
  assert.equal(checkedExample('package-readme.mts'), jsBlock(own))
  const tsconfig = JSON.parse(readFileSync(path.join(packageDir, 'types', 'tsconfig.json'), 'utf8'))
  assert.ok(tsconfig.files.includes('readme.mts'))
  assert.ok(tsconfig.files.includes('package-readme.mts'))
  assert.equal(tsconfig.compilerOptions.strict, true)
})

test('console.log of a Client shows its base URL and API version, never the token', () => {
  const token = 'EAAG-secret-token-1234567890'
  const client = new wa.Client({ accessToken: token, baseUrl: emu.baseUrl, userAgent: 'myapp/1.2.3' })
  const shown = inspect(client)
  assert.ok(shown.startsWith('Client {'), shown)
  assert.ok(shown.includes(emu.baseUrl), shown)
  assert.ok(shown.includes('v23.0'), shown)
  assert.ok(shown.includes('myapp/1.2.3'), shown)
  assert.ok(!shown.includes('secret'), shown)
  assert.equal(client.baseUrl, emu.baseUrl)
  assert.equal(client.apiVersion, 'v23.0')
  // Only the symbol key: no stray string-named method on the prototype.
  assert.deepEqual(
    Object.getOwnPropertyNames(wa.Client.prototype).filter((n) => n.startsWith('_')),
    [],
  )
})

test('the joinRequests iterator has next, return and Symbol.asyncIterator only', async () => {
  const client = clientFor(emu)
  const group = await emu.createGroup()
  await emu.addJoinRequests(group, 1)
  const it = client.joinRequests(group)
  assert.equal(it[Symbol.asyncIterator](), it)
  const proto = Object.getPrototypeOf(it)
  assert.deepEqual(Object.getOwnPropertyNames(proto).sort(), ['constructor', 'next', 'return'])
  assert.equal(typeof proto[Symbol.asyncIterator], 'function')
  const step = await it.next()
  assert.equal(step.done, false)
  assert.equal(typeof step.value.joinRequestId, 'string')
  assert.deepEqual(await it.next(), { done: true })
  assert.doesNotMatch(dts, /JoinRequestStep/)
  assert.match(dts, /\[Symbol\.asyncIterator\]\(\): this/)
})

test('every package npm ci installs accepts this Node (no EBADENGINE warning)', async () => {
  // semver is in the tree already (a dependency of @napi-rs/cli).
  const { default: semver } = await import('semver')
  const lock = JSON.parse(readFileSync(path.join(packageDir, 'package-lock.json'), 'utf8'))
  const refused = Object.entries(lock.packages)
    .filter(([, p]) => p.engines?.node && !semver.satisfies(process.versions.node, p.engines.node))
    .map(([name, p]) => `${name}@${p.version} wants node ${p.engines.node}`)
  assert.deepEqual(refused, [])
  // The lock names versions and integrity only, never a registry URL.
  assert.ok(!Object.values(lock.packages).some((p) => 'resolved' in p))
})
