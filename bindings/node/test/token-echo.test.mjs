// A 200 response that echoes the access token (a hostile or buggy server)
// never shows it in a result: the Rust core scrubs every string from the
// server, and the binding surfaces the clean values.
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { after, before, test } from 'node:test'

import { Emulator, clientFor } from './helpers.mjs'

// Holds `/`, `"` and `\` so that its JSON-escaped forms differ from it.
const TOKEN = 'EAAB/echo"token\\0123456789'
const ENCODED = JSON.stringify(TOKEN).slice(1, -1)

let emu
let group

before(async () => {
  emu = await Emulator.start({ accessToken: TOKEN })
  group = await emu.createGroup()
})
after(async () => {
  await emu.stop()
})

function assertClean(value) {
  const text = `${inspect(value, { depth: 10 })}\n${JSON.stringify(value)}`
  assert.ok(!text.includes(TOKEN), text)
  assert.ok(!text.includes(ENCODED), text)
  assert.ok(!text.includes('echo'), text)
}

test('an approve response echoing the token is scrubbed', async () => {
  const body = JSON.stringify({
    messaging_product: 'whatsapp',
    approved_join_requests: ['JR1'],
    failed_join_requests: [
      {
        join_request_id: 'JR2',
        errors: [{ code: 131213, title: `bad ${TOKEN}`, message: `token=${TOKEN}`, error_data: { details: TOKEN } }],
      },
    ],
    errors: [{ code: 131000, title: TOKEN, message: `saw: ${TOKEN}` }],
  })
  await emu.injectFault({ kind: 'response', status: 200, body })
  const outcome = await clientFor(emu, { maxRetries: 0 }).approveJoinRequests(group, ['JR1', 'JR2'])
  assert.deepEqual(outcome.approved, ['JR1'])
  assert.deepEqual(outcome.failed.map((f) => f.joinRequestId), ['JR2'])
  assertClean(outcome)
})

test('a list response echoing the token is scrubbed', async () => {
  const body = JSON.stringify({
    data: [{ join_request_id: 'JR1', wa_id: TOKEN, username: `@${TOKEN}`, creation_timestamp: 1755548877 }],
  })
  await emu.injectFault({ kind: 'response', status: 200, body })
  const page = await clientFor(emu, { maxRetries: 0 }).listJoinRequests(group)
  assert.deepEqual(page.data.map((r) => r.joinRequestId), ['JR1'])
  assertClean(page)
})
