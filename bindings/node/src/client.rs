//! `Client`: the transport's client, its methods returning Promises.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::future::Abortable;
use futures_util::lock::Mutex;
use futures_util::stream::{Stream, StreamExt};
use napi::UnknownRef;
use napi::bindgen_prelude::{Function, Object, ObjectFinalize, PromiseRaw, This, Unknown};
use napi::{Env, JsValue};
use napi_derive::napi;
use wa_groups::{Field, InvalidInput};

use crate::args;
use crate::call::{Call, Runner, guard, type_error};
use crate::error::Failure;
use crate::types::{
    ApproveOutcome, JoinRequestPage, JoinRequestStep, RejectOutcome, join_request_step,
};

/// The Node version, for the user agent's runtime segment.
fn node_version(env: &Env) -> napi::Result<String> {
    let process: Object<'_> = env.get_global()?.get_named_property("process")?;
    let versions: Object<'_> = process.get_named_property("versions")?;
    versions.get_named_property("node")
}

/// The call options bag (`{ signal }`, plus a list call's own options).
fn options_bag<'env>(
    env: &Env,
    value: Option<Unknown<'env>>,
) -> napi::Result<Option<Object<'env>>> {
    let Some(value) = value else { return Ok(None) };
    match value.get_type()? {
        napi::ValueType::Undefined | napi::ValueType::Null => Ok(None),
        napi::ValueType::Object => Ok(Some(Object::from_unknown(value)?)),
        _ => Err(type_error(
            env,
            "The \"options\" argument must be an object",
        )),
    }
}

/// Starts a call: its signal, or the rejection for options that are not
/// an options bag.
fn start<'env>(
    env: &'env Env,
    value: Option<Unknown<'env>>,
) -> napi::Result<(Call, Option<Object<'env>>)> {
    let opts = options_bag(env, value)?;
    Ok((Call::start(env, opts.as_ref())?, opts))
}

/// A Promise already rejected with `error` (a bad options bag or signal):
/// the methods never throw.
fn rejected<'env, V: napi::bindgen_prelude::ToNapiValue + 'static>(
    env: &'env Env,
    error: napi::Error,
) -> napi::Result<PromiseRaw<'env, V>> {
    let (deferred, promise) = env.create_deferred::<V, fn(Env) -> napi::Result<V>>()?;
    deferred.reject(error);
    Ok(PromiseRaw::new(env.raw(), promise.raw()))
}

/// A client of the WhatsApp Business Cloud API's group join requests.
///
/// Every method returns a Promise; every error, invalid input included,
/// is a rejection with an `Error` whose `code` is one of `ErrorCode`. Each
/// method takes `{ signal }` last to cancel it.
#[napi]
pub struct Client {
    inner: wa_groups::Client,
}

#[napi]
impl Client {
    /// A client with these settings, validated now: an invalid one throws
    /// an `ERR_WA_INVALID_INPUT` error naming it (in camelCase). No
    /// request is made until a method is called.
    #[napi(constructor, ts_args_type = "options: ClientOptions")]
    pub fn new(env: Env, options: Unknown<'_>) -> napi::Result<Self> {
        guard(&env, || {
            build(&env, options).map_err(|f| f.into_napi(&env, None))
        })
    }

    /// One page of the group's pending join requests.
    #[napi(
        ts_args_type = "groupId: string, options?: ListOptions",
        ts_return_type = "Promise<JoinRequestPage>"
    )]
    pub fn list_join_requests<'env>(
        &self,
        env: &'env Env,
        group_id: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, JoinRequestPage>> {
        guard(env, || {
            let (call, opts) = match start(env, options) {
                Ok(started) => started,
                Err(e) => return rejected(env, e),
            };
            let input = list_input(group_id, opts.as_ref());
            let client = self.inner.clone();
            call.run_on(
                env,
                Runner::Driver,
                async move {
                    let (group, list) = input?;
                    Ok(client.list_join_requests(&group, list).await?)
                },
                |_, page| Ok(JoinRequestPage::from(page)),
            )
        })
    }

    /// Every pending join request of the group, page after page, as an
    /// async iterator (`for await (const r of client.joinRequests(g))`).
    /// Each page is fetched when the previous one is used up; an error
    /// (invalid input included) rejects the `next()` that meets it.
    #[napi(
        ts_args_type = "groupId: string, options?: ListOptions",
        ts_return_type = "AsyncIterableIterator<JoinRequest>"
    )]
    pub fn join_requests<'env>(
        &self,
        env: &'env Env,
        group_id: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> napi::Result<JoinRequestIterator> {
        guard(env, || {
            let (opts, bad_options) = match options_bag(env, options) {
                Ok(opts) => (opts, None),
                Err(e) => (None, Some(e)),
            };
            let signal = match opts
                .as_ref()
                .map(|o| o.get::<Unknown<'_>>("signal"))
                .transpose()
            {
                Ok(signal) => signal.flatten().map(|s| s.create_ref()).transpose()?,
                Err(e) => return Err(e),
            };
            let input = list_input(group_id, opts.as_ref());
            let stream: PageStream = match input {
                Ok((group, list)) => Box::pin(self.inner.join_requests_with(&group, list)),
                // Invalid input is the first `next()`'s rejection, as a bad
                // setting met by the transport's own stream would be.
                Err(e) => Box::pin(futures_util::stream::once(async move {
                    Err(wa_groups::Error::from(e))
                })),
            };
            Ok(JoinRequestIterator {
                stream: Arc::new(Mutex::new(Some(stream))),
                signal,
                bad_options,
            })
        })
    }

    /// Approves `ids` in the group: chunks of `maxIdsPerRequest`,
    /// `maxConcurrency` at a time, merged in input order; duplicates are
    /// sent once. Partial failure is a result (`failed`), not a rejection.
    #[napi(
        ts_args_type = "groupId: string, ids: readonly string[], options?: CallOptions",
        ts_return_type = "Promise<ApproveOutcome>"
    )]
    pub fn approve_join_requests<'env>(
        &self,
        env: &'env Env,
        group_id: Unknown<'env>,
        ids: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, ApproveOutcome>> {
        guard(env, || {
            let (call, _) = match start(env, options) {
                Ok(started) => started,
                Err(e) => return rejected(env, e),
            };
            let input = group_and_ids(group_id, ids);
            let client = self.inner.clone();
            call.run_on(
                env,
                Runner::Driver,
                async move {
                    let (group, ids) = input?;
                    Ok(client.approve_join_requests(&group, &ids).await?)
                },
                |_, o| Ok(ApproveOutcome::from(o)),
            )
        })
    }

    /// Rejects `ids` in the group, like `approveJoinRequests`.
    #[napi(
        ts_args_type = "groupId: string, ids: readonly string[], options?: CallOptions",
        ts_return_type = "Promise<RejectOutcome>"
    )]
    pub fn reject_join_requests<'env>(
        &self,
        env: &'env Env,
        group_id: Unknown<'env>,
        ids: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, RejectOutcome>> {
        guard(env, || {
            let (call, _) = match start(env, options) {
                Ok(started) => started,
                Err(e) => return rejected(env, e),
            };
            let input = group_and_ids(group_id, ids);
            let client = self.inner.clone();
            call.run_on(
                env,
                Runner::Driver,
                async move {
                    let (group, ids) = input?;
                    Ok(client.reject_join_requests(&group, &ids).await?)
                },
                |_, o| Ok(RejectOutcome::from(o)),
            )
        })
    }

    /// Approves every join request pending when the call starts: lists
    /// every page first, then approves in chunks.
    #[napi(
        ts_args_type = "groupId: string, options?: CallOptions",
        ts_return_type = "Promise<ApproveOutcome>"
    )]
    pub fn approve_all<'env>(
        &self,
        env: &'env Env,
        group_id: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, ApproveOutcome>> {
        guard(env, || {
            let (call, _) = match start(env, options) {
                Ok(started) => started,
                Err(e) => return rejected(env, e),
            };
            let group = args::string(group_id, Field::GroupId);
            let client = self.inner.clone();
            call.run_on(
                env,
                Runner::Driver,
                async move { Ok(client.approve_all(&group?).await?) },
                |_, o| Ok(ApproveOutcome::from(o)),
            )
        })
    }

    /// Rejects every join request pending when the call starts, like
    /// `approveAll`.
    #[napi(
        ts_args_type = "groupId: string, options?: CallOptions",
        ts_return_type = "Promise<RejectOutcome>"
    )]
    pub fn reject_all<'env>(
        &self,
        env: &'env Env,
        group_id: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, RejectOutcome>> {
        guard(env, || {
            let (call, _) = match start(env, options) {
                Ok(started) => started,
                Err(e) => return rejected(env, e),
            };
            let group = args::string(group_id, Field::GroupId);
            let client = self.inner.clone();
            call.run_on(
                env,
                Runner::Driver,
                async move { Ok(client.reject_all(&group?).await?) },
                |_, o| Ok(RejectOutcome::from(o)),
            )
        })
    }

    /// The user agent the client sends, such as
    /// `wa-groups/0.1.0;node=20.20.2 myapp/1.2.3`.
    #[napi(getter)]
    pub fn user_agent(&self) -> String {
        self.inner.endpoint().user_agent().to_string()
    }

    /// The API's base URL, such as `https://graph.facebook.com`.
    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.inner.endpoint().base_url().as_str().to_owned()
    }

    /// The Graph API version, such as `v23.0`.
    #[napi(getter)]
    pub fn api_version(&self) -> String {
        self.inner.endpoint().api_version().as_str().to_owned()
    }

    /// What `console.log` and `util.inspect` show: the settings that say
    /// where calls go, never the token. Moved to
    /// `Symbol.for('nodejs.util.inspect.custom')` by [`install_symbols`].
    #[napi(js_name = "__inspect", skip_typescript)]
    pub fn inspect(&self) -> String {
        let endpoint = self.inner.endpoint();
        format!(
            "Client {{ baseUrl: {:?}, apiVersion: {:?}, userAgent: {:?} }}",
            endpoint.base_url().as_str(),
            endpoint.api_version().as_str(),
            endpoint.user_agent().to_string(),
        )
    }
}

/// The group and the list options of a list call.
fn list_input(
    group_id: Unknown<'_>,
    o: Option<&Object<'_>>,
) -> Result<(String, wa_groups::ListOptions), InvalidInput> {
    let group = args::string(group_id, Field::GroupId)?;
    let limit = match args::prop(o, "limit", Field::Limit)? {
        Some(v) => args::opt_whole::<u32>(v, Field::Limit)?,
        None => None,
    };
    let after = match args::prop(o, "after", Field::After)? {
        Some(v) => args::opt_string(v, Field::After)?,
        None => None,
    };
    let before = match args::prop(o, "before", Field::Before)? {
        Some(v) => args::opt_string(v, Field::Before)?,
        None => None,
    };
    Ok((
        group,
        wa_groups::ListOptions {
            limit,
            after,
            before,
        },
    ))
}

fn group_and_ids(
    group_id: Unknown<'_>,
    ids: Unknown<'_>,
) -> Result<(String, Vec<String>), InvalidInput> {
    let group = args::string(group_id, Field::GroupId)?;
    let ids = args::string_list(ids, Field::JoinRequestIds, Field::JoinRequestId)?;
    Ok((group, ids))
}

/// Builds the transport client from the options bag: the transport's
/// builder validates every setting.
fn build(env: &Env, options: Unknown<'_>) -> Result<Client, Failure> {
    let opts = args::opt_object(options, Field::AccessToken)?;
    let o = opts.as_ref();
    let string = |key: &str, field: Field| -> Result<Option<String>, InvalidInput> {
        args::prop(o, key, field)?.map_or(Ok(None), |v| args::opt_string(v, field))
    };
    let number = |key: &str, field: Field| -> Result<Option<f64>, InvalidInput> {
        args::prop(o, key, field)?.map_or(Ok(None), |v| args::opt_number(v, field))
    };
    let count = |key: &str, field: Field| -> Result<Option<i64>, InvalidInput> {
        args::prop(o, key, field)?.map_or(Ok(None), |v| args::opt_integer(v, field))
    };
    let mut builder = wa_groups::Client::builder();
    // Required: a missing one is refused by the builder, which names it.
    if let Some(v) = args::prop(o, "accessToken", Field::AccessToken)? {
        builder = builder.access_token(args::string(v, Field::AccessToken)?);
    }
    if let Some(v) = string("apiVersion", Field::ApiVersion)? {
        builder = builder.api_version(v);
    }
    if let Some(v) = string("baseUrl", Field::BaseUrl)? {
        builder = builder.base_url(v);
    }
    if let Some(v) = string("userAgent", Field::UserAgent)? {
        builder = builder.user_agent(v);
    }
    if let Some(ms) = number("timeoutMs", Field::Timeout)? {
        builder = builder.timeout_secs(ms / 1000.0);
    }
    if let Some(ms) = number("totalTimeoutMs", Field::TotalTimeout)? {
        builder = builder.total_timeout_secs(ms / 1000.0);
    }
    if let Some(n) = count("maxRetries", Field::MaxRetries)? {
        builder = builder.max_retries(n);
    }
    if let Some(n) = count("maxIdsPerRequest", Field::MaxIdsPerRequest)? {
        builder = builder.max_ids_per_request(n);
    }
    if let Some(n) = count("maxConcurrency", Field::MaxConcurrency)? {
        builder = builder.max_concurrency(n);
    }
    // The hidden `retryBaseDelayMs` lets the package's own tests retry
    // without waiting half a second; it is not part of the typed surface.
    if let Some(ms) = number("retryBaseDelayMs", Field::MaxRetries)? {
        let delay = std::time::Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| {
            InvalidInput::new(
                Field::MaxRetries,
                "retryBaseDelayMs must be a non-negative number",
            )
        })?;
        builder = builder.retry_base_delay(delay);
    }
    let version = node_version(env).unwrap_or_else(|_| "0.0.0".to_owned());
    let inner = builder.runtime("node", version).build()?;
    Ok(Client { inner })
}

type PageStream = Pin<Box<dyn Stream<Item = wa_groups::Result<wa_groups::JoinRequest>> + Send>>;

/// The async iterator of `joinRequests`: pages are fetched as it is
/// consumed. Iterate it with `for await`.
#[napi(custom_finalize)]
pub struct JoinRequestIterator {
    stream: Arc<Mutex<Option<PageStream>>>,
    /// The `signal` of the options, watched by every `next()`.
    signal: Option<UnknownRef>,
    /// Options that were not an options bag: every `next()` rejects.
    bad_options: Option<napi::Error>,
}

impl ObjectFinalize for JoinRequestIterator {
    fn finalize(self, env: Env) -> napi::Result<()> {
        if let Some(signal) = self.signal {
            signal.unref(&env)?;
        }
        Ok(())
    }
}

#[napi]
impl JoinRequestIterator {
    /// The next join request, or `{ done: true }` after the last one.
    #[napi(ts_return_type = "Promise<IteratorResult<JoinRequest, undefined>>")]
    pub fn next<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, JoinRequestStep>> {
        guard(env, || {
            if let Some(e) = &self.bad_options {
                return rejected(env, e.try_clone()?);
            }
            // A finished iteration stays finished, whatever its signal says now.
            if self.stream.try_lock().is_some_and(|slot| slot.is_none()) {
                return Call::unwatched()
                    .spawn(env, async { Ok(()) }, |_, ()| Ok(join_request_step(None)));
            }
            let signal = self.signal.as_ref().map(|s| s.get_value(env)).transpose()?;
            let mut call = match Call::watch(env, signal) {
                Ok(call) => call,
                Err(e) => return rejected(env, e),
            };
            let registration = call.take_registration();
            let stream = Arc::clone(&self.stream);
            call.run_on(
                env,
                Runner::Driver,
                async move {
                    let mut slot = stream.lock().await;
                    let Some(s) = slot.as_mut() else {
                        return Ok(None);
                    };
                    let item = match registration {
                        Some(reg) => Abortable::new(s.next(), reg).await,
                        None => Ok(s.next().await),
                    };
                    // An abort drops the page being fetched, and the iteration
                    // with it.
                    let Ok(item) = item else {
                        *slot = None;
                        return Err(Failure::Aborted);
                    };
                    match item {
                        Some(Ok(item)) => Ok(Some(item)),
                        Some(Err(e)) => {
                            *slot = None;
                            Err(Failure::from(e))
                        }
                        None => {
                            *slot = None;
                            Ok(None)
                        }
                    }
                },
                |_, item| Ok(join_request_step(item)),
            )
        })
    }

    /// Stops the iteration (what `break` in `for await` calls).
    #[napi(
        js_name = "return",
        ts_return_type = "Promise<IteratorResult<JoinRequest, undefined>>"
    )]
    pub fn finish<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, JoinRequestStep>> {
        guard(env, || {
            let stream = Arc::clone(&self.stream);
            Call::unwatched().spawn(
                env,
                async move {
                    stream.lock().await.take();
                    Ok(())
                },
                |_, ()| Ok(join_request_step(None)),
            )
        })
    }

    /// The iterator itself, so that `for await` takes it.
    // Defined under this string name (which the generated declaration
    // prints as the computed key it is in TypeScript), then moved to the
    // `Symbol.asyncIterator` key by `install_symbols`.
    #[napi(js_name = "[Symbol.asyncIterator]", ts_return_type = "this")]
    pub fn async_iterator<'env>(&self, this: This<'env>) -> This<'env> {
        this
    }
}

/// Moves the methods `#[napi]` can only name by a string to their symbol
/// keys: `JoinRequestIterator`'s `[Symbol.asyncIterator]` (so `for await`
/// takes it) and `Client`'s `util.inspect.custom`. The string-named
/// properties are deleted, so only the Node-convention names remain.
pub(crate) fn install_symbols(env: &Env, exports: &Object<'_>) -> napi::Result<()> {
    let symbol_ctor: Function<'_, (), ()> = env.get_global()?.get_named_property("Symbol")?;
    let async_iterator: Unknown<'_> = symbol_ctor.get_named_property("asyncIterator")?;
    move_to_symbol(
        exports,
        "JoinRequestIterator",
        "[Symbol.asyncIterator]",
        async_iterator,
    )?;
    let symbol_for: Function<'_, String, Unknown<'_>> = symbol_ctor.get_named_property("for")?;
    let inspect = symbol_for.call("nodejs.util.inspect.custom".to_owned())?;
    move_to_symbol(exports, "Client", "__inspect", inspect)
}

fn move_to_symbol(
    exports: &Object<'_>,
    class: &str,
    name: &str,
    symbol: Unknown<'_>,
) -> napi::Result<()> {
    let class: Function<'_, (), ()> = exports.get_named_property(class)?;
    let mut proto: Object<'_> = class.get_named_property("prototype")?;
    let method: Unknown<'_> = proto.get_named_property(name)?;
    proto.set_property(symbol, method)?;
    proto.delete_named_property(name)?;
    Ok(())
}

use napi::bindgen_prelude::FromNapiValue as _;
use napi::bindgen_prelude::JsObjectValue as _;
