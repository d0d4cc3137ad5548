// The Node side of `cargo xtask conformance` (see docs/conformance.md).
//
// Drives every call of the built addon (bindings/node) against Prism, a
// validating mock of Meta's spec (testdata/spec/join-requests.openapi.yaml).
// Every call must succeed: Prism answers a request that breaks the spec
// with a 4xx, which the client turns into a rejection.
//
//     node conformance/drive_node.mjs http://127.0.0.1:4010
//
// The bindings send JSON bodies only; the form and multipart encodings are
// driven from Rust (crates/transport/examples/conformance.rs).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { Client } = require('../bindings/node/index.js')

const TOKEN = 'EAAConformance0123456789abcdefZZ'
const GROUPS = ['Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUZD', 'a-b.c_d~e+f=g0']
const CURSORS = ['QVFIUmxtY2N6RTZAxZA2dYNFhOZAFZA5dGZADdHlkb0tqRmxo', 'a/b+c=d&e?f#g%h']
const IDS = ['MTY0NjcwNDM1OTU6MTIwMzYzNDA0Njk0MjMzODIw', 'ab/cd+ef==', 'ïd-ünïcødé', 'x'.repeat(1024)]

let calls = 0
const failures = []

async function check(what, fn) {
  calls += 1
  try {
    await fn()
  } catch (e) {
    failures.push(`${what}: ${e.code ?? e.name}: ${e.message}`)
  }
}

// Prism's example page always has a next page with the same cursor: the
// iterator sends two requests (the second with `after`, which Prism
// validates), yields the first page's item, then ends the listing with a
// paging-cycle ERR_WA_DECODE. Anything else is a failure.
async function untilCycle(what, iterator) {
  const out = []
  try {
    for await (const item of iterator) {
      out.push(item)
      if (out.length > 1) break
    }
  } catch (e) {
    if (e.code === 'ERR_WA_DECODE' && /paging cycle/.test(e.message) && out.length === 1) return
    failures.push(`${what}: ${out.length} items, then ${e.code ?? e.name}: ${e.message}`)
    return
  }
  failures.push(`${what}: ${out.length} items and no paging cycle`)
}

async function drive(label, c) {
  for (const g of GROUPS) {
    const p = `[${label}] ${g}`
    await check(`${p}: list`, () => c.listJoinRequests(g))
    await check(`${p}: list limit=1`, () => c.listJoinRequests(g, { limit: 1 }))
    await check(`${p}: list limit=1000`, () => c.listJoinRequests(g, { limit: 1000 }))
    for (const cur of CURSORS) {
      await check(`${p}: list after`, () => c.listJoinRequests(g, { after: cur, limit: 50 }))
      await check(`${p}: list before`, () => c.listJoinRequests(g, { before: cur }))
    }
    await check(`${p}: joinRequests`, () => untilCycle(`${p}: joinRequests`, c.joinRequests(g)))
    await check(`${p}: joinRequests limit`, () => untilCycle(`${p}: joinRequests limit`, c.joinRequests(g, { limit: 25 })))
    for (const ids of [IDS.slice(0, 1), IDS]) {
      await check(`${p}: approve ${ids.length}`, () => c.approveJoinRequests(g, ids))
      await check(`${p}: reject ${ids.length}`, () => c.rejectJoinRequests(g, ids))
    }
  }
  const many = Array.from({ length: 250 }, (_, i) => `MTox${String(i).padStart(6, '0')}`)
  await check(`[${label}] chunked approve`, () => c.approveJoinRequests(GROUPS[0], many))
  await check(`[${label}] chunked reject`, () => c.rejectJoinRequests(GROUPS[0], many))
}

const base = process.argv[2]
if (!base) {
  console.error('usage: drive_node.mjs BASE_URL')
  process.exit(2)
}
const started = performance.now()
const common = { accessToken: TOKEN, baseUrl: base, maxRetries: 0, timeoutMs: 10000 }
await drive('Client', new Client(common))
await drive('Client, user agent', new Client({ ...common, userAgent: 'myapp/1.2.3', apiVersion: 'v22.0' }))
console.log(
  `conformance (node, static): ${calls} calls in ${((performance.now() - started) / 1000).toFixed(1)}s, ${failures.length} failed`,
)
if (failures.length > 0) {
  console.error(`calls that failed against the spec:\n  ${failures.join('\n  ')}`)
  process.exit(1)
}
