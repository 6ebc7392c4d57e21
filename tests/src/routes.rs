//! The webhook routes as the tests call them, and every webhook function
//! with its dependencies, so a test sends one request to any route.

use callhooks::auth::SharedSecret;
use callhooks::config_cache::NumberConfigCache;
use callhooks::ingest::edge::handle_json;
use callhooks::providers::twilio::signature::AuthToken;
use callhooks::routes::twilio::TwilioDeps;
use callhooks::runtime::Deadline;
use callhooks::signature::SigningKey;
use callhooks::store::Store;
use callhooks::time::Timestamp;
use callhooks::webhook::WebhookDeps;
use lambda_http::{Body, Request, Response};
use std::time::Duration;

pub use callhooks::providers::voxtelesys::Hook;
/// The webhook routes: the route table's (`callhooks::route_table`).
pub use callhooks::route_table::Route;

/// Each webhook function's credential, as its `main.rs` reads it.
pub struct Credentials {
    pub zonitel: SharedSecret,
    pub salpre: SharedSecret,
    pub voxtelesys: SharedSecret,
    pub retell: SigningKey,
    pub twilio: AuthToken,
}

impl Credentials {
    /// No secret set: every check off, as in `make dev` without secrets.
    pub fn none() -> Self {
        Credentials {
            zonitel: SharedSecret::new(None),
            salpre: SharedSecret::new(None),
            voxtelesys: SharedSecret::new(None),
            retell: SigningKey::new(None),
            twilio: AuthToken::new(None),
        }
    }
}

/// Every webhook function with its dependencies.
pub struct Functions {
    pub zonitel_call: WebhookDeps,
    pub zonitel_sms: WebhookDeps,
    pub salpre: WebhookDeps,
    pub voxtelesys: callhooks::routes::voxtelesys::VoxtelesysDeps,
    pub retell: callhooks::routes::retell::RetellDeps,
    pub twilio: TwilioDeps,
}

impl Functions {
    /// The functions as their `main.rs` files build them: `store` has the
    /// five-second providers' deadline, `retell_store` Retell's (the tests
    /// pass stores on the same table, or on an endpoint that is down).
    pub fn new(store: Store, retell_store: Store, credentials: Credentials) -> Self {
        let five = Deadline::FIVE_SECOND_PROVIDER;
        let config_cache = || NumberConfigCache::new(Duration::from_secs(30));
        Functions {
            zonitel_call: WebhookDeps {
                store: store.clone(),
                secret: credentials.zonitel.clone(),
                retention_days: 30,
                deadline: five,
            },
            zonitel_sms: WebhookDeps {
                store: store.clone(),
                secret: credentials.zonitel,
                retention_days: 30,
                deadline: five,
            },
            salpre: WebhookDeps {
                store: store.clone(),
                secret: credentials.salpre,
                retention_days: 30,
                deadline: five,
            },
            voxtelesys: callhooks::routes::voxtelesys::VoxtelesysDeps {
                store: store.clone(),
                secret: credentials.voxtelesys,
                retention_days: 30,
                deadline: five,
                config_cache: config_cache(),
                default_message: "Sorry.".into(),
                fallback: None,
            },
            twilio: TwilioDeps {
                store,
                token: credentials.twilio,
                public_base: None,
                retention_days: 30,
                deadline: five,
                config_cache: config_cache(),
                default_message: "Sorry.".into(),
                fallback: None,
            },
            retell: callhooks::routes::retell::RetellDeps {
                store: retell_store.clone(),
                key: credentials.retell,
                retention_days: 30,
                deadline: Deadline::CALLER_WAITING,
                events_store: retell_store,
                events_deadline: Deadline::CALL_EVENTS,
                config_cache: config_cache(),
            },
        }
    }

    /// `request` through the function that serves `route`, at `now`.
    pub async fn call(&self, route: Route, request: Request, now: Timestamp) -> Response<Body> {
        match route {
            Route::ZonitelCall => handle_json(route, &self.zonitel_call, request, now).await,
            Route::ZonitelSms => handle_json(route, &self.zonitel_sms, request, now).await,
            Route::SalpreEvents => handle_json(route, &self.salpre, request, now).await,
            Route::Voxtelesys(_) => {
                callhooks::routes::voxtelesys::handle(&self.voxtelesys, request, now).await
            }
            Route::RetellInbound | Route::RetellEvents => {
                callhooks::routes::retell::handle(&self.retell, request, now).await
            }
            Route::Twilio(_) => callhooks::routes::twilio::handle(&self.twilio, request, now).await,
        }
    }
}

/// The JSON routes' functions, as their `main.rs` serve them: the
/// pipeline's [`handle_json`] with the route, for tests that call one.
macro_rules! json_function {
    ($name:ident, $route:ident) => {
        pub mod $name {
            use super::*;

            pub async fn handle(
                deps: &WebhookDeps,
                request: Request,
                now: Timestamp,
            ) -> Response<Body> {
                handle_json(Route::$route, deps, request, now).await
            }
        }
    };
}
json_function!(zonitel_call, ZonitelCall);
json_function!(zonitel_sms, ZonitelSms);
json_function!(salpre_events, SalpreEvents);
