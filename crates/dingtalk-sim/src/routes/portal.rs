//! `/portal/`: the demo frontend, embedded in the binary (`portal/index.html`, `app.js`,
//! `style.css`), and `/portal/config.json` telling it where the cloud and the edge are.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

const INDEX_HTML: &str = include_str!("../../portal/index.html");
const APP_JS: &str = include_str!("../../portal/app.js");
const STYLE_CSS: &str = include_str!("../../portal/style.css");

/// Where the portal's browser code sends its requests.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// The cloud-gateway's public URL.
    pub cloud_url: Option<String>,
    /// The edge-service's URL.
    pub edge_url: Option<String>,
    /// `<sim base>/portal`, the edge's redirect prefix.
    pub redirect_prefix: String,
}

/// `GET /portal`, `/portal/`, `/portal/{file or page}`.
pub async fn serve(req: HttpRequest, config: web::Data<PortalConfig>) -> HttpResponse {
    let tail = req.match_info().get("tail").unwrap_or("");
    match tail {
        "config.json" => HttpResponse::Ok()
            .insert_header(("cache-control", "no-store"))
            .json(json!({
                "cloud_url": config.cloud_url,
                "edge_url": config.edge_url,
                "redirect_prefix": config.redirect_prefix,
            })),
        "app.js" => HttpResponse::Ok()
            .content_type("application/javascript; charset=utf-8")
            .body(APP_JS),
        "style.css" => HttpResponse::Ok()
            .content_type("text/css; charset=utf-8")
            .body(STYLE_CSS),
        _ => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(INDEX_HTML),
    }
}
