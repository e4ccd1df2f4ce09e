//! The Settings tab's Backup section: how long details are kept, and "Download backup", a
//! consistent copy of the whole database taken while Lango runs.
//! Touches: the store (a copy in a temporary file, read and removed). Never: SQL, the kernel.

use super::{Admin, Answer, Ctx, Failure};
use crate::clock::{eat_date, eat_day};
use crate::html::Html;
use crate::server::Response;
use hyper::header::{HeaderValue, CONTENT_DISPOSITION, CONTENT_TYPE};
use hyper::StatusCode;

/// The Backup section, as HTML.
pub fn section(cx: &Ctx) -> Html {
    let r = &cx.settings.config.retention;
    let b = &cx.settings.config.backup;
    let nightly = match &b.dir {
        Some(d) => html!(
            "Every night a copy goes to <code>{}</code> (the last {} are kept).",
            d.display().to_string(),
            b.keep
        ),
        None => html!("No nightly copy is set up (<code>config backup</code>, option <code>dir</code>: a USB stick, for example)."),
    };
    super::html::section(
        "Backup",
        &html!(
            "<p class=\"cbi-section-descr\">Daily totals per package are kept forever. Payment details are kept for {} days, the event log for {} days and ended sessions for {} days (<code>config retention</code>); older details leave in the nightly copy and the Payments CSV before they are pruned. {}</p><div class=\"cbi-page-actions\"><a class=\"cbi-button cbi-button-apply\" href=\"/backup\" download>Download backup</a></div>",
            r.payments_days,
            r.events_days,
            r.sessions_days,
            nightly
        ),
    )
}

/// `GET /backup`: the database as one SQLite file, `lango restore FILE` takes it back.
pub async fn download(a: &Admin, cx: &Ctx) -> Answer {
    let tmp = std::env::temp_dir().join(format!("lango-download-{}.db", crate::random::hex::<8>()));
    let store = a.store.clone();
    let path = tmp.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let copied = store.backup_to(&path).and_then(|_| {
            std::fs::read(&path).map_err(|e| crate::store::Error::Backup {
                path: path.display().to_string(),
                why: e.to_string(),
            })
        });
        let _ = std::fs::remove_file(&path);
        copied
    })
    .await
    .map_err(|e| Failure::Internal(e.to_string()))??;
    log::info!("admin: backup downloaded ({} bytes)", bytes.len());
    let mut r: Response = crate::server::text(StatusCode::OK, bytes);
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.sqlite3"),
    );
    let name = format!("lango-backup-{}.db", eat_date(eat_day(cx.now)));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
