//! `callhooks console`: a web console served from the operator's machine
//! on 127.0.0.1, reading the table with the operator's own credentials. It
//! opens no endpoint in AWS and stores nothing outside the table.
//!
//! Pages are HTML rendered here, charts SVG drawn here; there is no script
//! at all, nothing is loaded from elsewhere, and the Content-Security-Policy
//! says so ([`guard::CSP`]). Who may use it: [`guard`].

pub mod charts;
pub mod guard;
pub mod html;
pub mod pages;
pub mod reads;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use callhooks::alerts::ledger::Ledger;
use callhooks::alerts::stream::SnsPublisher;
use callhooks::store::Store;
use guard::{Guard, RequestFacts};
use pages::{Answer, Query};
use std::sync::Arc;

/// The default port.
pub const DEFAULT_PORT: u16 = 8787;

/// Everything a page needs.
pub struct Console {
    pub store: Store,
    pub ledger: Ledger,
    /// `None`: no alerts topic given, replay is not offered.
    pub publisher: Option<SnsPublisher>,
    pub guard: Guard,
    pub tz: jiff::tz::TimeZone,
}

/// Largest form the console takes (a number's configuration document).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// Binds 127.0.0.1:`port`, prints the URL with the token as the first line
/// of standard output (and opens it with `open`), then serves until stopped.
pub async fn serve(
    store: Store,
    publisher: Option<SnsPublisher>,
    port: u16,
    open: bool,
    tz: jiff::tz::TimeZone,
) -> Result<(), ConsoleError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|error| ConsoleError::Listen { port, error })?;
    let port = listener.local_addr().map_err(ConsoleError::Serve)?.port();
    let guard = Guard {
        port,
        token: guard::new_token()?,
    };
    let url = guard.url();
    let console = Arc::new(Console {
        ledger: Ledger::new(store.clone(), 400),
        store,
        publisher,
        guard,
        tz,
    });
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{url}");
        let _ = writeln!(out, "callhooks console on 127.0.0.1:{port} (Ctrl-C stops it); the URL above carries this run's token");
        let _ = out.flush();
    }
    if open {
        open_browser(&url);
    }
    let app = axum::Router::new().fallback(move |request: Request<Body>| {
        let console = console.clone();
        async move { dispatch(&console, request).await }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(ConsoleError::Serve)
}

/// Why the console stopped or never started.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("cannot listen on 127.0.0.1:{port}: {error}")]
    Listen { port: u16, error: std::io::Error },
    #[error(transparent)]
    Token(#[from] guard::NoRandomness),
    #[error("{0}")]
    Serve(std::io::Error),
}

/// The system's way to open a URL; a failure only means the operator opens
/// the printed URL themselves.
fn open_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(program).arg(url).spawn() {
        eprintln!("callhooks: could not open a browser ({program}: {e}); open the URL above");
    }
}

fn parse_form(bytes: &[u8]) -> Query {
    form_urlencoded::parse(bytes).into_owned().collect()
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn respond(
    status: StatusCode,
    content_type: &str,
    body: String,
    extra: &[(header::HeaderName, String)],
) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_TYPE, content_type.to_string()),
        (header::CONTENT_SECURITY_POLICY, guard::CSP.to_string()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
        (header::X_FRAME_OPTIONS, "DENY".into()),
        // Not `no-referrer`: with it a browser sends `Origin: null` on form posts.
        (header::REFERRER_POLICY, "same-origin".into()),
        (header::CACHE_CONTROL, "no-store".into()),
    ];
    for (name, value) in fixed.into_iter().chain(extra.iter().cloned()) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

fn html_status(status: StatusCode, title: &str, message: &str) -> Response<Body> {
    let body = html::page(
        title,
        "",
        &format!("<p class=\"error\">{}</p>", html::text(message)),
    );
    respond(status, "text/html; charset=utf-8", body, &[])
}

fn percent_decoded(segment: &str) -> String {
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn dispatch(console: &Console, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let query: Query = parse_form(parts.uri.query().unwrap_or("").as_bytes());
    let changes = parts.method == Method::POST;
    let form: Query = if changes {
        match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(bytes) => parse_form(&bytes),
            Err(_) => {
                return html_status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Too large",
                    "the form is too large",
                )
            }
        }
    } else {
        Query::new()
    };
    let facts = RequestFacts {
        host: header_str(&parts.headers, header::HOST),
        query_token: query.get("token").map(String::as_str),
        cookie: header_str(&parts.headers, header::COOKIE),
        origin: header_str(&parts.headers, header::ORIGIN),
        form_token: form.get("csrf").map(String::as_str),
        changes,
    };
    if let Err(refusal) = console.guard.check(&facts) {
        let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
        return respond(
            status,
            "text/plain; charset=utf-8",
            format!("{}\n", refusal.message()),
            &[],
        );
    }
    let path = parts.uri.path().to_string();
    // The token came in the URL: keep it in the cookie and take it out of
    // the address bar (and of the history).
    if query.contains_key("token") {
        let mut rest: Vec<String> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "token")
            .map(|(k, v)| format!("{}={}", html::q(k), html::q(v)))
            .collect();
        rest.sort();
        let location = if rest.is_empty() {
            path.clone()
        } else {
            format!("{path}?{}", rest.join("&"))
        };
        return respond(
            StatusCode::SEE_OTHER,
            "text/plain; charset=utf-8",
            String::new(),
            &[
                (header::LOCATION, location),
                (header::SET_COOKIE, console.guard.set_cookie()),
            ],
        );
    }
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decoded)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let saved = query.contains_key("saved");
    let answer = match (&parts.method, segments.as_slice()) {
        (&Method::GET, ["console.css"]) => {
            return respond(
                StatusCode::OK,
                "text/css; charset=utf-8",
                html::CSS.to_string(),
                &[],
            );
        }
        (&Method::GET, ["favicon.svg"] | ["favicon.ico"]) => {
            return respond(
                StatusCode::OK,
                "image/svg+xml",
                html::FAVICON.to_string(),
                &[],
            );
        }
        (&Method::GET, [""]) => pages::overview(console, &query).await,
        (&Method::GET, ["calls"]) => pages::calls(console, &query).await,
        (&Method::GET, ["call", provider, id]) => pages::call(console, provider, id).await,
        (&Method::GET, ["caller", number]) => pages::caller(console, number, &query).await,
        (&Method::GET, ["sms"]) => pages::sms(console, &query).await,
        (&Method::GET, ["alerts"]) => pages::alerts(console, &query).await,
        (&Method::GET, ["alerts", "replay"]) => pages::replay_confirm(console, &query).await,
        (&Method::POST, ["alerts", "replay"]) => pages::replay(console, &form).await,
        (&Method::GET, ["unrecognized"]) => pages::unrecognized(console).await,
        (&Method::GET, ["unrecognized", provider, id]) => {
            pages::unrecognized_one(console, provider, id).await
        }
        (&Method::GET, ["numbers"]) => pages::numbers(console).await,
        (&Method::GET, ["numbers", "new"]) => match query.get("number").map(|n| n.trim()) {
            Some(n) if !n.is_empty() => Answer::Redirect(format!("/numbers/{}", html::seg(n))),
            _ => Answer::Redirect("/numbers".into()),
        },
        (&Method::GET, ["numbers", number]) => pages::number_edit(console, number, saved).await,
        (&Method::POST, ["numbers", number]) => pages::number_save(console, number, &form).await,
        (&Method::GET, ["contacts"]) => pages::contacts(&query).await,
        (&Method::GET, ["contacts", number]) => pages::contact_edit(console, number, saved).await,
        (&Method::POST, ["contacts", number]) => pages::contact_save(console, number, &form).await,
        (&Method::GET, ["dry-run"]) => pages::dry_run(console, &query).await,
        (method, _) if method != Method::GET && method != Method::POST => {
            return html_status(
                StatusCode::METHOD_NOT_ALLOWED,
                "Not allowed",
                "GET or POST only",
            );
        }
        _ => Answer::NotFound(format!("no page {path}")),
    };
    match answer {
        Answer::Html(body) => respond(StatusCode::OK, "text/html; charset=utf-8", body, &[]),
        Answer::Redirect(location) => respond(
            StatusCode::SEE_OTHER,
            "text/plain; charset=utf-8",
            String::new(),
            &[(header::LOCATION, location)],
        ),
        Answer::NotFound(message) => html_status(StatusCode::NOT_FOUND, "Not found", &message),
        Answer::BadRequest(message) => {
            html_status(StatusCode::BAD_REQUEST, "Not understood", &message)
        }
    }
}
