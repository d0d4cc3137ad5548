// The `(req, res)` handler `Moderator.requestListener()` returns, for
// node:http, Express and Fastify (its raw request and reply). Compiled once
// per call by the addon (src/moderation.rs) and given the moderator and the
// body cap. It only moves bytes: the method, URL, raw headers and raw body
// go to `moderator.handle` (the engine, in Rust), its answer comes back.
;(function makeRequestListener(moderator, maxBodyBytes) {
  'use strict'
  const TEXT = 'text/plain; charset=utf-8'
  const CONSUMED =
    'wa-groups: the webhook needs the raw request body (its X-Hub-Signature-256 covers the exact bytes), ' +
    'but a body parser already consumed it. Mount the listener before any JSON body parser, ' +
    "or with express.raw({ type: '*/*' }) so that req.body is a Buffer.\n"

  function plain(res, status, text) {
    res.statusCode = status
    res.setHeader('content-type', TEXT)
    res.end(text)
  }

  function answer(res, r) {
    res.statusCode = r.status
    for (const [name, value] of r.headers) res.setHeader(name, value)
    res.end(r.body)
  }

  function failed(res) {
    // Never an unhandled rejection: the engine's own failures are answers
    // already (500 when the store failed), so this is a closed socket or a
    // defect; answer if there is still someone to answer.
    try {
      if (!res.headersSent) plain(res, 500, 'internal error\n')
      else res.end()
    } catch {}
  }

  function run(req, res, body) {
    moderator
      .handle(req.method ?? 'GET', req.url ?? '/', req.rawHeaders ?? [], body)
      .then((r) => answer(res, r))
      .catch(() => failed(res))
  }

  return function requestListener(req, res) {
    const parsed = req.body
    if (parsed !== undefined) {
      // express.raw() (or a Fastify buffer parser) left the raw bytes.
      if (Buffer.isBuffer(parsed) || parsed instanceof Uint8Array) return run(req, res, Buffer.from(parsed))
      return plain(res, 500, CONSUMED)
    }
    if (req.readableEnded) return plain(res, 500, CONSUMED)
    const chunks = []
    let size = 0
    req.on('data', (chunk) => {
      // Past the cap only its first byte is kept: the engine answers 413.
      if (size > maxBodyBytes) return
      const room = maxBodyBytes + 1 - size
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk
      chunks.push(part)
      size += part.length
    })
    req.on('end', () => run(req, res, Buffer.concat(chunks, size)))
    // A client that went away has no one to answer.
    req.on('error', () => {})
  }
})
