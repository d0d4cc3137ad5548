// One client of `cargo xtask bench bindings` (the harness is
// crates/transport/examples/bindings_bench.rs): approves the join requests
// it is given, one ID a call, WA_BENCH_IN_FLIGHT calls at a time, with this
// package's Client against the harness's emulator, and prints
// {"rate": calls per second, "cpu_us": CPU µs per call} for the measured
// part (the IDs after the first WA_BENCH_WARMUP).
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

import { Client } from 'wa-groups'

const env = process.env
const ids = readFileSync(env.WA_BENCH_IDS, 'utf8').split('\n')
const warmup = Number(env.WA_BENCH_WARMUP)
const inFlight = Number(env.WA_BENCH_IN_FLIGHT)
const group = env.WA_BENCH_GROUP
const client = new Client({ accessToken: env.WA_BENCH_TOKEN, baseUrl: env.WA_BENCH_BASE_URL })

async function approveAll(list) {
  let next = 0
  const lane = async () => {
    while (next < list.length) {
      const id = list[next++]
      const out = await client.approveJoinRequests(group, [id])
      if (out.approved.length !== 1 || out.approved[0] !== id) throw new Error(`not approved: ${JSON.stringify(out)}`)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane))
}

await approveAll(ids.slice(0, warmup))
const measured = ids.slice(warmup)
const cpu = process.cpuUsage()
const t0 = performance.now()
await approveAll(measured)
const secs = (performance.now() - t0) / 1000
const used = process.cpuUsage(cpu)
console.log(JSON.stringify({ rate: measured.length / secs, cpu_us: (used.user + used.system) / measured.length }))
