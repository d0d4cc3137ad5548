// The golden response and error vectors of testdata/, fed through the real
// client by the emulator's canned-response fault: Node parses every body
// exactly as the Rust tests say it must.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'

import { Emulator, clientFor, readJson, rejection, testdata } from './helpers.mjs'

const responses = readJson(path.join(testdata, 'responses.json')).cases
const errors = readJson(path.join(testdata, 'errors.json')).cases

const CODES = {
  auth: 'ERR_WA_AUTH',
  rate_limited: 'ERR_WA_RATE_LIMITED',
  not_found: 'ERR_WA_NOT_FOUND',
  api: 'ERR_WA_API',
  decode: 'ERR_WA_DECODE',
}

const joinRequest = (r) => ({
  join_request_id: r.joinRequestId,
  wa_id: r.waId,
  creation_timestamp: r.creationTimestamp,
  user_id: r.userId,
  parent_user_id: r.parentUserId,
  username: r.username,
})
const detail = (d) => ({ code: d.code, title: d.title, message: d.message, details: d.details })

/** The IDs a decide call must send for the vector's response to answer. */
function asked(c) {
  const key = c.operation === 'approve' ? 'approved' : 'rejected'
  return [...c.expected[key], ...c.expected.failed.map((f) => f.join_request_id)]
}

for (const c of responses) {
  test(`response vector: ${c.name}`, async () => {
    const emu = await Emulator.start()
    try {
      const group = await emu.createGroup()
      await emu.injectFault({ kind: 'response', status: c.status, body: c.body })
      const client = clientFor(emu, { maxRetries: 0 })
      if (c.operation === 'list') {
        const page = await client.listJoinRequests(group)
        assert.deepEqual(
          { data: page.data.map(joinRequest), after: page.after, before: page.before },
          c.expected,
        )
        return
      }
      const ids = asked(c)
      const key = c.operation === 'approve' ? 'approved' : 'rejected'
      const call = c.operation === 'approve' ? client.approveJoinRequests : client.rejectJoinRequests
      const outcome = await call.call(client, group, ids.length ? ids : ['x'])
      const want = { ...c.expected }
      delete want.request_id // not part of the Node outcome
      const got = {
        [key]: outcome[key],
        failed: outcome.failed.map((f) => ({ join_request_id: f.joinRequestId, errors: f.errors.map(detail) })),
        errors: outcome.errors.map(detail),
      }
      if (!ids.length) {
        // A call must send an ID; one the response leaves out is reported as
        // failed with one "unreported" error carrying the first call-level
        // code (the call-level errors stay in `errors`, never copied per ID).
        const code = want.errors.length ? want.errors[0].code : 0
        want.failed = [{ join_request_id: 'x', errors: [{ code, title: 'unreported' }] }]
        for (const f of got.failed) {
          for (const e of f.errors) {
            assert.match(e.message, /did not mention this join request/)
            assert.equal(e.details, null)
            delete e.message
            delete e.details
          }
        }
      }
      assert.deepEqual(got, want)
    } finally {
      await emu.stop()
    }
  })
}

for (const c of errors) {
  test(`error vector: ${c.name}`, async () => {
    const emu = await Emulator.start()
    try {
      const group = await emu.createGroup()
      await emu.injectFault({ kind: 'response', status: c.status, headers: c.headers, body: c.body })
      const client = clientFor(emu, { maxRetries: 0 })
      const want = c.expected
      const e = await rejection(client.listJoinRequests(group), CODES[want.kind])
      assert.equal(e.status, want.status)
      if (want.kind === 'decode') return
      assert.deepEqual(
        {
          code: e.graphCode,
          subcode: e.subcode,
          type: e.type,
          title: e.title,
          details: e.details,
          fbtrace_id: e.fbtraceId,
          is_transient: e.isTransient,
          retry_after_seconds: e.retryAfterMs === null ? null : e.retryAfterMs / 1000,
        },
        {
          code: want.code,
          subcode: want.subcode,
          type: want.type,
          title: want.title,
          details: want.details,
          fbtrace_id: want.fbtrace_id,
          is_transient: want.is_transient,
          retry_after_seconds: want.retry_after_seconds,
        },
      )
      assert.ok(e.message.includes(want.message), `${e.message} should include ${want.message}`)
    } finally {
      await emu.stop()
    }
  })
}
