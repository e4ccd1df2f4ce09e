//! The Password tab: change the owner's password (the current one first). Every other
//! session is logged out.

use super::auth::Notice;
use super::{html, login, Admin, Answer, Ctx};
use crate::html::Html;
use crate::server::{self, Response};
use hyper::StatusCode;

/// Which field an error belongs to, and what it says.
type FieldError<'a> = (&'a str, &'a str);

pub fn show(a: &Admin, cx: &Ctx, error: Option<FieldError>) -> Response {
    let err = |f: &str| error.filter(|(field, _)| *field == f).map(|(_, m)| m);
    let form = html!(
        "<form method=\"post\" action=\"/password\">{}{}{}<div class=\"cbi-page-actions\"><button class=\"cbi-button cbi-button-apply\" type=\"submit\">Change password</button></div></form>",
        html::csrf_field(&cx.session.csrf),
        html::field(
            "current",
            "Current password",
            &html::input("password", "current", "", &html!("autocomplete=\"current-password\" required")),
            &Html::new(),
            err("current"),
        ),
        html::new_password_fields(error, false),
    );
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    a.page_with(
        cx,
        status,
        "/password",
        "Password",
        html!("The password of this page. Over SSH, <code>lango passwd</code> sets it too."),
        &html::section("Change the owner's password", &form),
    )
}

pub async fn change(a: &Admin, cx: &Ctx, form: &[(String, String)]) -> Answer {
    let get = |k| server::form_value(form, k).unwrap_or_default();
    let (current, pw, repeat) = (get("current"), get("password"), get("repeat"));
    let stored = a.password_hash().await?.unwrap_or_default();
    if !a.verify(current, stored).await {
        return Ok(show(
            a,
            cx,
            Some(("current", "That is not the current password.")),
        ));
    }
    if let Err(e) = crate::password::check_new(&pw) {
        let msg = e.to_string();
        return Ok(show(a, cx, Some(("password", &msg))));
    }
    if pw != repeat {
        return Ok(show(a, cx, Some(("repeat", "The two passwords differ."))));
    }
    let hash = a.hash(pw).await?;
    crate::owner::set_password(&a.store, hash, crate::owner::PasswordBy::OwnersPage, cx.now)
        .await?;
    log::info!("admin: password changed; other sessions logged out");
    Ok(login::restart_session(
        a,
        cx,
        Notice::Done("Password changed. Every other browser was logged out.".into()),
    ))
}
