// Approve calls against the in-process emulator: this package's Client
// vs global `fetch` and `undici.request` making the same HTTP calls (same
// body, headers and JSON parsing of the answer), 64 in flight and one at a
// time. Rounds alternate between the clients; the median round counts.
//
// Usage: node bench/approve.mjs [out.json]
// Writes {"rows": [{mode, baseline, ours, theirs}]} (calls per second).
import { writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

import { request } from 'undici'
import { Client, Emulator } from 'wa-groups'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const MODES = [
  { name: '64 in flight', inFlight: 64, calls: Number(process.env.BENCH_CALLS ?? 4000) },
  { name: 'sequential', inFlight: 1, calls: Number(process.env.BENCH_SEQ_CALLS ?? 1000) },
]

const emu = await Emulator.start()
const group = await emu.createGroup({ participantCap: 10_000_000 })
const needed = MODES.reduce((n, m) => n + m.calls * 3 * (ROUNDS + 1), 0)
const ids = []
for (let left = needed; left > 0; left -= 10_000) ids.push(...(await emu.addJoinRequests(group, Math.min(left, 10_000))))
let next = 0
const takeId = () => ids[next++]

const client = new Client({ accessToken: emu.accessToken, baseUrl: emu.baseUrl })
const url = `${emu.baseUrl}/v23.0/${group}/join_requests`
const headers = {
  authorization: `Bearer ${emu.accessToken}`,
  'content-type': 'application/json',
  'user-agent': client.userAgent,
}
const body = (id) => JSON.stringify({ messaging_product: 'whatsapp', join_requests: [id] })

const contenders = {
  'wa-groups': async (id) => {
    const out = await client.approveJoinRequests(group, [id])
    if (out.approved.length !== 1) throw new Error(`not approved: ${JSON.stringify(out)}`)
  },
  fetch: async (id) => {
    const res = await fetch(url, { method: 'POST', headers, body: body(id) })
    const json = await res.json()
    if (res.status !== 200 || json.approved_join_requests?.length !== 1) throw new Error(`fetch: ${res.status}`)
  },
  'undici.request': async (id) => {
    const res = await request(url, { method: 'POST', headers, body: body(id) })
    const json = await res.body.json()
    if (res.statusCode !== 200 || json.approved_join_requests?.length !== 1) throw new Error(`undici: ${res.statusCode}`)
  },
}

/** Calls per second of `calls` calls, `inFlight` at a time. */
async function measure(call, calls, inFlight) {
  let started = 0
  const worker = async () => {
    while (started < calls) {
      started += 1
      await call(takeId())
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: inFlight }, worker))
  return calls / ((performance.now() - t0) / 1000)
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const rows = []
for (const mode of MODES) {
  const rates = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
  // A warm-up round (connections, JIT), then the measured rounds.
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, call] of Object.entries(contenders)) {
      const rate = await measure(call, mode.calls, mode.inFlight)
      if (round > 0) rates[name].push(rate)
    }
  }
  const ours = median(rates['wa-groups'])
  for (const baseline of ['fetch', 'undici.request']) {
    const theirs = median(rates[baseline])
    rows.push({ mode: mode.name, baseline, ours, theirs })
    console.log(`${mode.name}: wa-groups ${ours.toFixed(0)}/s, ${baseline} ${theirs.toFixed(0)}/s, ratio ${(ours / theirs).toFixed(2)}`)
  }
}

await emu.stop()
if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify({ rows }, null, 2))
