//! HTTP for the owner. Until the owner's page lands, this listener answers with a LuCI-style
//! page pointing to the command line. Touches: nothing but its listener.

use crate::server::{self, Peer, Request, Response};
use hyper::StatusCode;
use std::sync::Arc;

const PAGE: &str = include_str!("../../www/admin-placeholder.html");

pub async fn handle(site: Arc<String>, _req: Request, _peer: Peer) -> Response {
    server::html(
        StatusCode::OK,
        crate::portal::fill(PAGE, &[("site", &server::escape(&site))]),
    )
}
