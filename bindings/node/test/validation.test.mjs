// testdata/validation.json: every invalid value is an ERR_WA_INVALID_INPUT
// naming its field (camelCase) and sends nothing; every valid value passes
// validation.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { Client, Emulator, clientFor, readJson, testdata } from './helpers.mjs'

const { cases } = readJson(path.join(testdata, 'validation.json'))
const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase())

let emu
let group
before(async () => {
  emu = await Emulator.start()
  group = await emu.createGroup()
})
after(async () => {
  await emu.stop()
})

/** Runs one case; resolves to the error (or undefined when it passed validation). */
async function attempt(field, value) {
  const client = clientFor(emu)
  const settings = { accessToken: emu.accessToken }
  switch (field) {
    case 'access_token':
    case 'api_version':
    case 'user_agent':
    case 'base_url':
      try {
        new Client({ ...settings, [camel(field)]: value })
        return undefined
      } catch (e) {
        return e
      }
    case 'group_id':
      return client.listJoinRequests(value).then(
        () => undefined,
        (e) => e,
      )
    case 'join_request_id':
      return client.approveJoinRequests(group, [value]).then(
        () => undefined,
        (e) => e,
      )
    case 'limit':
    case 'after':
    case 'before':
      return client.listJoinRequests(group, { [field]: value }).then(
        () => undefined,
        (e) => e,
      )
    default:
      throw new Error(`validation.json has a field this test does not know: ${field}`)
  }
}

for (const c of cases) {
  const shown = typeof c.value === 'string' && c.value.length > 40 ? `${c.value.slice(0, 20)}…` : JSON.stringify(c.value)
  test(`${c.field} ${shown} (${c.why}) is ${c.valid ? 'valid' : 'invalid'}`, async () => {
    await emu.resetStats()
    const error = await attempt(c.field, c.value)
    if (c.valid) {
      assert.ok(error === undefined || error.code !== 'ERR_WA_INVALID_INPUT', error?.message)
    } else {
      assert.ok(error instanceof Error, 'expected an error')
      assert.equal(error.code, 'ERR_WA_INVALID_INPUT', error.message)
      assert.equal(error.field, camel(c.field))
      assert.equal((await emu.stats()).requests, 0, 'nothing sent')
    }
  })
}
