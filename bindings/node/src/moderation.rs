//! `Moderator`: the moderation engine (`wa-groups-moderation`) for Node.
//! Options, "exactly one of policy and decide", building the engine, its
//! start / stop lifecycle, the status JSON and the answer to a webhook
//! request live in the moderation crate's `host` module, shared with the
//! Python binding; this file converts JavaScript values and calls the
//! user's `decide`.
//!
//! `decide` is called on the JavaScript thread through a weak threadsafe
//! function; a returned Promise is awaited from Rust (napi attaches its
//! handlers, so a rejection is never unhandled). While the engine runs, a
//! strong threadsafe function keeps Node's event loop alive, as a listening
//! `http.Server` does; `stop()` lets it go.

use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::BoxFuture;
use napi::bindgen_prelude::{
    Buffer, Either, FnArgs, FromNapiValue as _, Function, JsObjectValue as _, Object, Promise,
    PromiseRaw, This, Unknown,
};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::{Env, Status, ValueType};
use napi_derive::napi;
use serde_json::Value;
use wa_groups_moderation::host::{
    Host, HostDecide, HostError, HostModerator, HostRequest, ModeratorOptions, host_decider,
};

use crate::call::{Call, Runner};
use crate::error::Failure;

/// One join request as `decide` sees it.
#[napi(object)]
pub struct ModerationRequest {
    /// The group.
    pub group_id: String,
    /// The join request.
    pub join_request_id: String,
    /// The requester's WhatsApp ID; absent for business-scoped users.
    pub wa_id: Option<String>,
    /// The business-scoped user ID, when there is one.
    pub user_id: Option<String>,
    /// The business-scoped username, when there is one.
    pub username: Option<String>,
    /// When the request was made (Unix seconds), when known.
    pub created_at: Option<i64>,
}

impl From<wa_groups_moderation::ModerationRequest> for ModerationRequest {
    fn from(r: wa_groups_moderation::ModerationRequest) -> Self {
        Self {
            group_id: r.group_id,
            join_request_id: r.join_request_id,
            wa_id: r.wa_id,
            user_id: r.user_id,
            username: r.username,
            created_at: r.created_at,
        }
    }
}

/// The engine's answer to one webhook request.
#[napi(object)]
pub struct WebhookResponse {
    /// The HTTP status.
    pub status: u32,
    /// The headers, as `[name, value]` pairs.
    #[napi(ts_type = "Array<[string, string]>")]
    pub headers: Vec<Vec<String>>,
    /// The body.
    pub body: Buffer,
}

/// The address `listen()` bound.
#[napi(object)]
pub struct ListenAddress {
    /// The IP address, such as `127.0.0.1`.
    pub host: String,
    /// The port.
    pub port: u32,
}

/// The largest webhook body `handle` checks and parses on the JavaScript
/// thread; a larger one is handled on the runtime's threads.
const HANDLE_HERE_MAX_BODY: usize = 64 * 1024;

type Answer = Either<String, Promise<String>>;
type DecideFn =
    ThreadsafeFunction<ModerationRequest, Answer, ModerationRequest, Status, false, true>;
type KeepAlive = ThreadsafeFunction<(), (), (), Status, false>;

/// The engine's side of `decide`: see the module documentation.
struct JsDecide(Arc<DecideFn>);

impl HostDecide for JsDecide {
    fn call(
        &self,
        req: wa_groups_moderation::ModerationRequest,
    ) -> BoxFuture<'static, Result<String, String>> {
        let f = Arc::clone(&self.0);
        Box::pin(async move {
            let returned = f
                .call_async_catch(req.into())
                .await
                .map_err(|e| format!("decide threw or returned a non-string: {}", e.reason))?;
            match returned {
                Either::A(answer) => Ok(answer),
                Either::B(promise) => promise.await.map_err(|e| {
                    format!(
                        "decide's Promise rejected or resolved to a non-string: {}",
                        e.reason
                    )
                }),
            }
        })
    }
}

fn invalid(name: &str, reason: &str) -> Failure {
    Failure::Moderation(HostError::invalid_argument(Host::Node, name, reason))
}

/// The options object as JSON for the options reader (which names the
/// option in any error), and its `decide` function.
fn read_options<'env>(
    env: &'env Env,
    options: Unknown<'env>,
) -> Result<(Value, Option<Function<'env, ModerationRequest, Answer>>), Failure> {
    let napi_err = |e: napi::Error| Failure::Internal(e.reason);
    if options.get_type().map_err(napi_err)? != ValueType::Object {
        return Err(invalid("options", "must be an object"));
    }
    let obj = Object::from_unknown(options).map_err(napi_err)?;
    let mut map = serde_json::Map::new();
    let mut decide = None;
    let keys: Vec<String> = env
        .from_js_value(obj.get_property_names().map_err(napi_err)?)
        .map_err(napi_err)?;
    for key in keys {
        let value: Unknown<'_> = obj.get_named_property(&key).map_err(napi_err)?;
        let kind = value.get_type().map_err(napi_err)?;
        if key == "decide" {
            match kind {
                ValueType::Undefined | ValueType::Null => {}
                ValueType::Function => {
                    decide = Some(Function::from_unknown(value).map_err(napi_err)?);
                }
                _ => return Err(invalid("decide", "must be a function or an async function")),
            }
            continue;
        }
        let json = match kind {
            ValueType::Undefined => continue,
            ValueType::Function | ValueType::Symbol | ValueType::BigInt | ValueType::External => {
                // Of the wrong type: the reader says which option.
                Value::Object(serde_json::Map::from_iter([(
                    "js_type".to_owned(),
                    Value::String(format!("{kind:?}")),
                )]))
            }
            _ => env
                .from_js_value(value)
                .map_err(|e| invalid(&key, &e.reason))?,
        };
        map.insert(key, json);
    }
    Ok((Value::Object(map), decide))
}

/// The moderation engine: webhook deliveries in, every join request
/// decided by your policy file or your `decide` function and applied
/// exactly once.
///
/// ```js
/// const moderator = new Moderator({
///   accessToken, appSecret, verifyToken,
///   decide: async (req) => (req.waId?.startsWith('44') ? 'approve' : 'hold'),
/// })
/// const { port } = await moderator.listen(8080)   // or: await moderator.start() and mount requestListener()
/// ```
///
/// A `decide` that throws, rejects, answers anything but `'approve'`,
/// `'reject'` or `'hold'`, or takes longer than `deciderTimeoutMs` leaves
/// its request `held` (rule `decider_panicked` or `decider_timeout`, with
/// the error or the timeout as its `reason`).
#[napi]
pub struct Moderator {
    host: Arc<HostModerator>,
    keep_alive: Arc<Mutex<Option<KeepAlive>>>,
}

impl Moderator {
    /// A strong threadsafe function: it keeps the event loop alive while
    /// the engine runs.
    fn keep_alive(env: &Env) -> napi::Result<KeepAlive> {
        let noop =
            env.create_function_from_closure::<(), (), _>("waGroupsModeratorRunning", |_| Ok(()))?;
        noop.build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .build()
    }

    fn run<'env, V>(
        &self,
        env: &'env Env,
        listen: Option<String>,
        convert: impl FnOnce(Option<std::net::SocketAddr>) -> V + 'static,
    ) -> napi::Result<PromiseRaw<'env, V>>
    where
        V: napi::bindgen_prelude::ToNapiValue + 'static,
    {
        let host = Arc::clone(&self.host);
        let keep_alive = Self::keep_alive(env)?;
        let slot = Arc::clone(&self.keep_alive);
        Call::unwatched().spawn(
            env,
            async move {
                host.start(listen.as_deref())
                    .await
                    .map_err(Failure::Moderation)
            },
            move |_, addr| {
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(keep_alive);
                Ok(convert(addr))
            },
        )
    }
}

#[napi]
impl Moderator {
    /// A moderator with these options (the store is opened, and created,
    /// now). Give exactly one of `policy` (the path of a TOML policy file)
    /// and `decide`. A bad option throws `ERR_WA_INVALID_INPUT` naming it.
    #[napi(constructor, ts_args_type = "options: ModeratorOptions")]
    pub fn new(env: Env, options: Unknown<'_>) -> napi::Result<Self> {
        crate::call::guard(&env, || {
            let build = || -> Result<HostModerator, Failure> {
                let (value, decide) = read_options(&env, options)?;
                let options =
                    ModeratorOptions::from_value(value, Host::Node).map_err(Failure::Moderation)?;
                let decider = match decide {
                    None => None,
                    Some(f) => {
                        let tsfn: DecideFn = f
                            .build_threadsafe_function::<ModerationRequest>()
                            .callee_handled::<false>()
                            .weak::<true>()
                            .build()
                            .map_err(|e| Failure::Internal(e.reason))?;
                        Some(host_decider(JsDecide(Arc::new(tsfn))))
                    }
                };
                napi::bindgen_prelude::block_on(options.build(decider)).map_err(Failure::Moderation)
            };
            match build() {
                Ok(host) => Ok(Self {
                    host: Arc::new(host),
                    keep_alive: Arc::new(Mutex::new(None)),
                }),
                Err(f) => Err(f.into_napi(&env, None)),
            }
        })
    }

    /// Serves the webhook path, `/healthz` and `/metrics` on `host:port`
    /// (port 0, the default, picks a free one) and runs the workers;
    /// resolves to the bound address. Rejects with `ERR_WA_MODERATION` when
    /// it is already running, the address is taken, or another engine
    /// holds the store.
    #[napi(ts_return_type = "Promise<ListenAddress>")]
    pub fn listen<'env>(
        &self,
        env: &'env Env,
        port: Option<u32>,
        host: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, ListenAddress>> {
        let host = host.unwrap_or_else(|| "127.0.0.1".to_owned());
        let port = port.unwrap_or(0);
        let Ok(port) = u16::try_from(port) else {
            let failure = invalid("port", "must be 0 to 65535");
            return Call::unwatched().spawn(
                env,
                async move { Err::<ListenAddress, _>(failure) },
                |_, v| Ok(v),
            );
        };
        let listen = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        self.run(env, Some(listen), |addr| {
            let addr = addr.unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
            ListenAddress {
                host: addr.ip().to_string(),
                port: u32::from(addr.port()),
            }
        })
    }

    /// Runs the workers only, for a server of your own that mounts
    /// `requestListener()`. Rejects as `listen()` does.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn start<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        self.run(env, None, |_| ())
    }

    /// Stops the engine: no new deliveries, the calls in flight finish and
    /// are recorded, the store and the port are released. Resolves at
    /// once when it is not running.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let host = Arc::clone(&self.host);
        let slot = Arc::clone(&self.keep_alive);
        Call::unwatched().spawn(
            env,
            async move { host.stop().await.map_err(Failure::Moderation) },
            move |_, ()| {
                slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                Ok(())
            },
        )
    }

    /// Counts by state, in total and per group, and every record: the JSON
    /// `wa-groups moderate status --json` prints.
    #[napi(ts_return_type = "Promise<ModerationStatus>")]
    pub fn status<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Value>> {
        let host = Arc::clone(&self.host);
        Call::unwatched().spawn(
            env,
            async move { host.status().await.map_err(Failure::Moderation) },
            |_, value| Ok(value),
        )
    }

    /// Answers one webhook request: `method`, `url` (path and query), the
    /// raw headers (`[name, value, name, value...]`, as
    /// `IncomingMessage.rawHeaders`) and the raw body. The engine checks
    /// the signature and parses a body of up to 64 KiB on this thread
    /// (microseconds for a delivery's few kilobytes), a larger one on its
    /// own threads; the Promise settles once the store has committed the
    /// delivery, or has failed to (503).
    #[napi(ts_return_type = "Promise<WebhookResponse>")]
    pub fn handle<'env>(
        &self,
        env: &'env Env,
        method: String,
        url: String,
        raw_headers: Vec<String>,
        body: Buffer,
    ) -> napi::Result<PromiseRaw<'env, WebhookResponse>> {
        let host = Arc::clone(&self.host);
        let mut raw = raw_headers.into_iter();
        let mut headers = Vec::with_capacity(raw.len() / 2);
        // A name without a value (an odd-length list) is left out.
        while let (Some(name), Some(value)) = (raw.next(), raw.next()) {
            headers.push((name, value.into_bytes()));
        }
        let request = HostRequest {
            method,
            target: url,
            headers,
            body: bytes::Bytes::copy_from_slice(&body),
        };
        // A delivery's few kilobytes are checked and parsed on this thread,
        // in microseconds, then the call waits on the store, whose commit
        // wakes this thread directly (see `Runner::Here`); a large body's
        // check and parse (milliseconds) go to the runtime instead.
        let runner = if request.body.len() <= HANDLE_HERE_MAX_BODY {
            Runner::Here
        } else {
            Runner::Runtime
        };
        Call::unwatched().run_on(
            env,
            runner,
            async move { Ok::<_, Failure>(host.handle(request).await) },
            |_, r| {
                Ok(WebhookResponse {
                    status: u32::from(r.status),
                    headers: r
                        .headers
                        .into_iter()
                        .map(|(k, v)| vec![k, String::from_utf8_lossy(&v).into_owned()])
                        .collect(),
                    body: r.body.to_vec().into(),
                })
            },
        )
    }

    /// A `(req, res)` handler for `node:http`, Express and Fastify (its
    /// `request.raw`, `reply.raw`): it reads the raw body itself and
    /// answers Meta's handshake and deliveries. The workers run while the
    /// moderator is started (`start()`). When a body parser has already
    /// consumed the body it answers 500 saying the raw bytes are needed
    /// (mount it with `express.raw({ type: '*/*' })`, which is accepted).
    #[napi(
        ts_return_type = "(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void"
    )]
    pub fn request_listener<'env>(
        &self,
        env: &'env Env,
        this: This<'env>,
    ) -> napi::Result<Unknown<'env>> {
        let factory: Function<'env, FnArgs<(Object<'env>, u32)>, Unknown<'env>> =
            env.run_script(include_str!("request_listener.js"))?;
        let max = u32::try_from(wa_groups_moderation::MAX_BODY_BYTES).unwrap_or(u32::MAX);
        factory.call(FnArgs::from((this.object, max)))
    }

    /// The bound `{ host, port }` while `listen()` serves, else `null`.
    #[napi(getter)]
    pub fn address(&self) -> Option<ListenAddress> {
        self.host.address().map(|a| ListenAddress {
            host: a.ip().to_string(),
            port: u32::from(a.port()),
        })
    }

    /// Whether the engine runs (after `listen()` or `start()`, before
    /// `stop()`).
    #[napi(getter)]
    pub fn running(&self) -> bool {
        self.host.is_running()
    }
}
