// CommonJS `require` of the package, as older code loads it.
const assert = require('node:assert/strict')
const { test } = require('node:test')

const wa = require('wa-groups')

test('require gives the client, the emulator and the webhook functions', async () => {
  const { Client, Emulator, parseWebhook, verifySignature } = wa
  assert.equal(typeof parseWebhook, 'function')
  assert.equal(typeof verifySignature, 'function')
  const emu = await Emulator.start()
  try {
    const client = new Client({ accessToken: emu.accessToken, baseUrl: emu.baseUrl })
    const group = await emu.createGroup()
    const [id] = await emu.addJoinRequests(group, 1)
    assert.deepEqual((await client.approveAll(group)).approved, [id])
  } finally {
    await emu.stop()
  }
})
