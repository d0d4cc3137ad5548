// The golden webhook vectors of testdata/webhooks (see its README).
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'

import { readJson, testdata, wa } from './helpers.mjs'

const dir = path.join(testdata, 'webhooks')
const vectors = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f, readJson(path.join(dir, f))])

const snake = (k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
/** Keys whose values are raw JSON as received: not renamed. */
const RAW = new Set(['value', 'otherFields', 'fields'])

/** The parsed payload in the vectors' snake_case `expected` shape. */
function toExpectedShape(v) {
  if (Array.isArray(v)) return v.map(toExpectedShape)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [snake(k), RAW.has(k) ? x : toExpectedShape(x)]))
}

describe('parseWebhook', () => {
  for (const [name, v] of vectors.filter(([, v]) => v.kind === 'parse')) {
    test(name, () => {
      const body = Buffer.from(JSON.stringify(v.payload))
      const parsed = wa.parseWebhook(body)
      assert.deepEqual(toExpectedShape(parsed), v.expected)
      // A string body and a Uint8Array give the same.
      assert.deepEqual(wa.parseWebhook(body.toString('utf8')), parsed)
      assert.deepEqual(wa.parseWebhook(new Uint8Array(body)), parsed)
      // events(): every group event, flattened, with where it came from,
      // in order (what Python's `payload.events()` gives).
      const flat = v.expected.entries.flatMap((entry) =>
        entry.changes
          .filter((c) => c.kind === 'group')
          .flatMap((c) =>
            c.events.map((e) => ({
              ...e,
              waba_id: entry.id,
              field: c.field,
              phone_number_id: c.phone_number_id,
              display_phone_number: c.display_phone_number,
            })),
          ),
      )
      assert.deepEqual(toExpectedShape(parsed.events()), flat)
      assert.ok(!Object.keys(parsed).includes('events'))
      assert.deepEqual(JSON.parse(JSON.stringify(parsed)), parsed)
    })
  }

  for (const [name, v] of vectors.filter(([, v]) => v.kind === 'parse_error')) {
    test(name, () => {
      assert.throws(() => wa.parseWebhook(Buffer.from(v.raw_body, 'utf8')), (e) => {
        assert.ok(e instanceof Error)
        assert.equal(e.code, 'ERR_WA_DECODE')
        for (const m of v.error_mentions) assert.ok(e.message.includes(m), `${e.message} lacks ${m}`)
        return true
      })
    })
  }

  test('a body that is not bytes is a TypeError', () => {
    assert.throws(() => wa.parseWebhook(42), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
  })
})

describe('verifySignature', () => {
  for (const [name, v] of vectors.filter(([, v]) => v.kind === 'signature')) {
    test(name, () => {
      const body = Buffer.from(v.raw_body, 'utf8')
      if (v.valid) {
        assert.equal(wa.verifySignature(v.app_secret, body, v.header), undefined)
        assert.equal(wa.signWebhook(v.app_secret, body), v.header.toLowerCase())
      } else {
        assert.throws(() => wa.verifySignature(v.app_secret, body, v.header), (e) => {
          assert.ok(e instanceof Error)
          assert.equal(e.code, 'ERR_WA_INVALID_INPUT')
          assert.equal(e.field, v.error === 'empty_secret' ? 'appSecret' : 'signature')
          if (v.app_secret) assert.ok(!e.message.includes(v.app_secret), 'secret in message')
          return true
        })
      }
    })
  }

  test('a missing header (undefined) is refused', () => {
    assert.throws(() => wa.verifySignature('secret', Buffer.from('{}'), undefined), { field: 'signature' })
  })
})
