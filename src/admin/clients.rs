//! The Clients tab: who is online (with the hostname from DHCP leases), data used and rate now,
//! kick, add time, give free time to any device, and the trusted devices from the config. Every
//! change goes through `Sessions`, so the kernel follows at once.

use super::auth::Notice;
use super::{html, leases, value, Admin, Answer, Ctx, Failure};
use crate::html::Html;
use crate::mac::Mac;
use crate::owner::{self, Speed, MAX_MINUTES};
use crate::store::packages::Package;
use crate::units::{ByteCount, Kbps};
use hyper::StatusCode;

/// What the grant form sent back, to show again with its errors.
#[derive(Default)]
struct GrantForm {
    mac: String,
    minutes: String,
    speed: String,
    errors: Vec<(&'static str, String)>,
}

pub async fn show(a: &Admin, cx: &Ctx) -> Answer {
    render(a, cx, GrantForm::default()).await
}

async fn render(a: &Admin, cx: &Ctx, g: GrantForm) -> Answer {
    let online = a.sessions.online().await?;
    let usage = a.usage.open().await?;
    let packages = a.store.call(crate::store::packages::all).await?;
    let leases = {
        let path = cx.settings.config.dhcp_leases.clone();
        tokio::task::spawn_blocking(move || leases::read(&path))
            .await
            .unwrap_or_default()
    };
    let csrf = &cx.session.csrf;
    let rows: Vec<Vec<Html>> = online
        .iter()
        .map(|s| {
            let lease = leases.get(&s.mac);
            let host = lease
                .and_then(|l| l.hostname.as_deref())
                .map_or(Html::new(), |h| html!("<br><span class=\"muted\">{}</span>", h));
            let ip = s.ip.or(lease.map(|l| l.ip)).map_or("—".into(), |i| i.to_string());
            let package = match s.package_id.and_then(|id| packages.iter().find(|p| p.id == id)) {
                Some(p) => Html::text(&p.name),
                None => html!("<span class=\"muted\">gift</span>"),
            };
            let mac = s.mac.to_string();
            let extend = html!(
                "<form method=\"post\" action=\"/clients/extend\">{}<input type=\"hidden\" name=\"mac\" value=\"{}\"><input type=\"number\" name=\"minutes\" value=\"60\" min=\"1\" max=\"{}\" aria-label=\"minutes to add for {}\"> min <button class=\"cbi-button cbi-button-small\" type=\"submit\">Add time</button></form>",
                html::csrf_field(csrf),
                mac,
                MAX_MINUTES,
                mac
            );
            let kick = html::post_button(
                "/clients/kick",
                csrf,
                &[("mac", &mac)],
                "Kick",
                "cbi-button-negative cbi-button-small",
                Some(&format!("Disconnect {mac} now? Its remaining time is lost.")),
            );
            vec![
                html::mono(&mac) + host,
                html::mono(ip),
                package,
                Html::text(&html::duration(s.seconds_left(cx.now))),
                html!("{} ↓ / {} ↑", html::speed(s.down), html::speed(s.up)),
                data_used(s, usage.get(&s.mac).copied().unwrap_or_default()),
                Html::text(&format!("{:?}", s.source).to_lowercase()),
                extend + kick,
            ]
        })
        .collect();
    let mut body = html::section(
        &format!("Online now ({})", online.len()),
        &html::table(
            &[
                "Device",
                "IP address",
                "Package",
                "Time left",
                "Speed",
                "Data used",
                "Paid by",
                "",
            ],
            &rows,
            "Nobody is online.",
        ),
    );
    body += grant_section(csrf, &packages, &g);
    let trusted: Vec<Vec<Html>> = cx
        .settings
        .config
        .trusted
        .iter()
        .map(|m| {
            let host = leases
                .get(m)
                .and_then(|l| l.hostname.clone())
                .unwrap_or_default();
            vec![html::mono(m), Html::text(&host)]
        })
        .collect();
    body += html::section(
        "Trusted devices",
        &html!(
            "<p class=\"cbi-section-descr\">Never captive, and the only devices on the captive network that may open this page. Edit the list under <a href=\"/settings\">Settings</a>.</p>{}",
            html::table(&["MAC address", "Hostname"], &trusted, "No trusted devices.")
        ),
    );
    let status = if g.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(a.page_with(
        cx,
        status,
        "/clients",
        "Clients",
        html!(
            "Devices with time left. Kicking cuts a device off at once, open connections included."
        ),
        &body,
    ))
}

/// Bytes moved each way since the session began, the rate over the last second, and what is
/// left of a data allowance.
fn data_used(s: &crate::store::sessions::Session, u: crate::usage::Seen) -> Html {
    let rate = u.rate.total().saturating_mul(8) / 1000;
    let left = match (s.data_left(u.used), s.data_limit) {
        (Some(left), Some(limit)) => html!(
            "<br><span class=\"muted\">{} of {} left</span>",
            ByteCount(left),
            ByteCount(limit)
        ),
        _ => Html::new(),
    };
    html!(
        "{} ↓ / {} ↑<br><span class=\"muted\">now {}</span>{}",
        ByteCount(u.used.down),
        ByteCount(u.used.up),
        Kbps(u32::try_from(rate).unwrap_or(u32::MAX)),
        left
    )
}

fn grant_section(csrf: &str, packages: &[Package], g: &GrantForm) -> Html {
    let err = |f: &str| {
        g.errors
            .iter()
            .find(|(k, _)| *k == f)
            .map(|(_, m)| m.as_str())
    };
    let mut speeds = vec![("unlimited".to_string(), "Unlimited".to_string())];
    speeds.extend(packages.iter().map(|p| {
        (
            p.id.to_string(),
            format!("As {}: {} ↓ / {} ↑", p.name, p.down, p.up),
        )
    }));
    let form = html!(
        "<form method=\"post\" action=\"/clients/grant\">{}{}{}{}<div class=\"cbi-page-actions\"><button class=\"cbi-button cbi-button-apply\" type=\"submit\">Give time</button></div></form>",
        html::csrf_field(csrf),
        html::field(
            "mac",
            "MAC address",
            &html::input("text", "mac", &g.mac, &html!("placeholder=\"aa:bb:cc:dd:ee:ff\" required")),
            &html!("A device already online gets the time added."),
            err("mac"),
        ),
        html::field(
            "minutes",
            "Minutes",
            &html::input(
                "number",
                "minutes",
                if g.minutes.is_empty() { "60" } else { &g.minutes },
                &html!("min=\"1\" max=\"{}\" required", MAX_MINUTES),
            ),
            &html!("1 minute to a year ({}).", MAX_MINUTES),
            err("minutes"),
        ),
        html::field("speed", "Speed", &html::select("speed", &speeds, &g.speed), &Html::new(), err("speed")),
    );
    html::section("Give free time", &form)
}

fn parse_minutes(v: &str) -> Result<u32, String> {
    v.parse::<u32>()
        .ok()
        .and_then(|m| owner::minutes(m).ok())
        .ok_or_else(|| format!("Minutes must be a whole number from 1 to {MAX_MINUTES}."))
}

fn parse_mac(v: &str) -> Result<Mac, Failure> {
    v.parse::<Mac>()
        .map_err(|e| Failure::BadRequest(e.to_string()))
}

/// `POST /clients/kick` (mac).
pub async fn kick(a: &Admin, cx: &Ctx, form: &[(String, String)]) -> Answer {
    let mac = parse_mac(&value(form, "mac"))?;
    let notice = match owner::disconnect(&a.sessions, mac).await? {
        Some(_) => {
            log::info!("admin: kicked mac={mac}");
            Notice::Done(format!("{mac} was disconnected."))
        }
        None => Notice::Warning(format!("{mac} was not online.")),
    };
    Ok(a.done(cx, notice, "/clients"))
}

/// `POST /clients/extend` (mac, minutes): more time at the device's current speed.
pub async fn extend(a: &Admin, cx: &Ctx, form: &[(String, String)]) -> Answer {
    let mac = parse_mac(&value(form, "mac"))?;
    let minutes = match parse_minutes(&value(form, "minutes")) {
        Ok(m) => m,
        Err(e) => return Ok(a.done(cx, Notice::Warning(e), "/clients")),
    };
    let Some(s) = owner::add_time(&a.sessions, mac, minutes).await? else {
        return Ok(a.done(
            cx,
            Notice::Warning(format!("{mac} is no longer online; give it time below.")),
            "/clients",
        ));
    };
    log::info!("admin: added {minutes} min for mac={mac}");
    let left = html::duration(s.seconds_left(cx.now));
    Ok(a.done(
        cx,
        Notice::Done(format!("Added {minutes} min for {mac}: {left} left.")),
        "/clients",
    ))
}

/// `POST /clients/grant` (mac, minutes, speed): free time for any device.
pub async fn grant(a: &Admin, cx: &Ctx, form: &[(String, String)]) -> Answer {
    let mut g = GrantForm {
        mac: value(form, "mac"),
        minutes: value(form, "minutes"),
        speed: value(form, "speed"),
        errors: vec![],
    };
    let mac = g
        .mac
        .parse::<Mac>()
        .map_err(|e| g.errors.push(("mac", e.to_string())));
    let minutes = parse_minutes(&g.minutes).map_err(|e| g.errors.push(("minutes", e)));
    let choose = "Choose a speed from the list.";
    let speed = match g.speed.as_str() {
        "unlimited" | "" => Ok(Speed::Unlimited),
        id => id
            .parse()
            .map(Speed::Package)
            .map_err(|_| g.errors.push(("speed", choose.into()))),
    };
    let (Ok(mac), Ok(minutes), Ok(speed)) = (mac, minutes, speed) else {
        return render(a, cx, g).await;
    };
    let ip = {
        let path = cx.settings.config.dhcp_leases.clone();
        tokio::task::spawn_blocking(move || leases::read(&path).get(&mac).map(|l| l.ip))
            .await
            .ok()
            .flatten()
    };
    let s = match owner::give(&a.sessions, &a.store, mac, ip, minutes, speed).await {
        Ok(s) => s,
        Err(owner::Error::Refused { input, why }) => {
            g.errors.push(match input {
                owner::Input::Minutes => ("minutes", why),
                _ => ("speed", choose.into()),
            });
            return render(a, cx, g).await;
        }
        Err(e) => return Err(e.into()),
    };
    log::info!("admin: gave {minutes} min to mac={mac}");
    let left = html::duration(s.seconds_left(cx.now));
    Ok(a.done(
        cx,
        Notice::Done(format!("{mac} is online: {left} left.")),
        "/clients",
    ))
}
