// The example at the top of bindings/node/README.md, verbatim between the
// markers (test/types.test.mjs checks it still is), compiled by
// `tsc -p types` under `strict`.

// README example begin
import { Client, isWaGroupsError } from 'wa-groups' // or: const { Client } = require('wa-groups')

const accessToken = process.env.WHATSAPP_ACCESS_TOKEN // string | undefined
if (!accessToken) throw new Error('set WHATSAPP_ACCESS_TOKEN')
const client = new Client({ accessToken, userAgent: 'myapp/1.2.3' })
const group = 'Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUZD'

const page = await client.listJoinRequests(group, { limit: 50 }) // { data, after, before }
for await (const request of client.joinRequests(group)) console.log(request.joinRequestId, request.waId)

const outcome = await client.approveJoinRequests(group, page.data.map((r) => r.joinRequestId))
for (const { joinRequestId, errors } of outcome.failed) console.warn(joinRequestId, errors[0]?.code)
await client.rejectAll(group, { signal: AbortSignal.timeout(60_000) })

try {
  await client.approveAll(group)
} catch (e) {
  if (isWaGroupsError(e) && e.code === 'ERR_WA_RATE_LIMITED') console.log('retry in', e.retryAfterMs, 'ms')
  else throw e
}
// README example end

export {}
