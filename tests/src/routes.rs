//! The webhook routes as the tests call them, and every webhook function
//! with its dependencies, so a test sends one request to any route.

use callhooks::auth::SharedSecret;
use callhooks::config_cache::NumberConfigCache;
use callhooks::runtime::Deadline;
use callhooks::signature::SigningKey;
use callhooks::store::Store;
use callhooks::time::Timestamp;
use lambda_http::{Body, Request, Response};
use std::time::Duration;

/// A webhook route of template.yaml, named after its function and path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// POST /zonitel/calls
    ZonitelCall,
    /// POST /zonitel/sms
    ZonitelSms,
    /// POST /salpre/events
    SalpreEvents,
    /// GET or POST /voxtelesys/{hook}, with the hook.
    Voxtelesys(&'static str),
    /// POST /retell/inbound
    RetellInbound,
    /// POST /retell/events (retell-inbound's second route)
    RetellEvents,
}

impl Route {
    pub fn path(self) -> String {
        match self {
            Route::ZonitelCall => "/zonitel/calls".into(),
            Route::ZonitelSms => "/zonitel/sms".into(),
            Route::SalpreEvents => "/salpre/events".into(),
            Route::Voxtelesys(hook) => format!("/voxtelesys/{hook}"),
            Route::RetellInbound => "/retell/inbound".into(),
            Route::RetellEvents => "/retell/events".into(),
        }
    }
}

/// Each webhook function's credential, as its `main.rs` reads it.
pub struct Credentials {
    pub zonitel: SharedSecret,
    pub salpre: SharedSecret,
    pub voxtelesys: SharedSecret,
    pub retell: SigningKey,
}

impl Credentials {
    /// No secret set: every check off, as in `make dev` without secrets.
    pub fn none() -> Self {
        Credentials {
            zonitel: SharedSecret::new(None),
            salpre: SharedSecret::new(None),
            voxtelesys: SharedSecret::new(None),
            retell: SigningKey::new(None),
        }
    }
}

/// Every webhook function with its dependencies.
pub struct Functions {
    pub zonitel_call: zonitel_call::Deps,
    pub zonitel_sms: zonitel_sms::Deps,
    pub salpre: salpre_events::Deps,
    pub voxtelesys: callhooks::routes::voxtelesys::Deps,
    pub retell: callhooks::routes::retell::Deps,
}

impl Functions {
    /// The functions as their `main.rs` files build them: `store` has the
    /// five-second providers' deadline, `retell_store` Retell's (the tests
    /// pass stores on the same table, or on an endpoint that is down).
    pub fn new(store: Store, retell_store: Store, credentials: Credentials) -> Self {
        let five = Deadline::FIVE_SECOND_PROVIDER;
        let config_cache = || NumberConfigCache::new(Duration::from_secs(30));
        Functions {
            zonitel_call: zonitel_call::Deps {
                store: store.clone(),
                secret: credentials.zonitel.clone(),
                retention_days: 30,
                deadline: five,
            },
            zonitel_sms: zonitel_sms::Deps {
                store: store.clone(),
                secret: credentials.zonitel,
                retention_days: 30,
                deadline: five,
            },
            salpre: salpre_events::Deps {
                store: store.clone(),
                secret: credentials.salpre,
                retention_days: 30,
                deadline: five,
            },
            voxtelesys: callhooks::routes::voxtelesys::Deps {
                store,
                secret: credentials.voxtelesys,
                retention_days: 30,
                deadline: five,
                config_cache: config_cache(),
                default_message: "Sorry.".into(),
                fallback: None,
            },
            retell: callhooks::routes::retell::Deps {
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
            Route::ZonitelCall => zonitel_call::handle(&self.zonitel_call, request, now).await,
            Route::ZonitelSms => zonitel_sms::handle(&self.zonitel_sms, request, now).await,
            Route::SalpreEvents => salpre_events::handle(&self.salpre, request, now).await,
            Route::Voxtelesys(_) => {
                callhooks::routes::voxtelesys::handle(&self.voxtelesys, request, now).await
            }
            Route::RetellInbound | Route::RetellEvents => {
                callhooks::routes::retell::handle(&self.retell, request, now).await
            }
        }
    }
}
