// The Node example of the root README.md (its "## Node" section), verbatim
// between the markers (test/readme.test.mjs checks it still is), compiled
// by `tsc -p types` under `strict`: the README's example type-checks as
// users will paste it. `groupId` is the one name the README leaves to the
// reader.
declare const groupId: string

// README example begin
import { Client, isWaGroupsError } from 'wa-groups'

const accessToken = process.env.WHATSAPP_ACCESS_TOKEN
if (!accessToken) throw new Error('set WHATSAPP_ACCESS_TOKEN')
const client = new Client({ accessToken, userAgent: 'myapp/1.2.3' })
for await (const request of client.joinRequests(groupId)) console.log(request.joinRequestId)
const { approved, failed } = await client.approveAll(groupId, { signal: AbortSignal.timeout(60_000) })
for (const f of failed) console.log(f.joinRequestId, f.errors[0]?.code)
try {
  await client.rejectJoinRequests(groupId, ['MTY0NjcwNDM1OTU6...'])
} catch (e) {
  if (isWaGroupsError(e) && e.code === 'ERR_WA_RATE_LIMITED') console.log('throttled, retry in', e.retryAfterMs, 'ms')
}
// README example end

export {}
