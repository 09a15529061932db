//! `portcullis route-password`: a short-lived password for oneself, to type as the hub's `/W/`
//! password in an SAP route string (`docs/remote-connections.md`, "Route passwords").

use anyhow::Result;
use time::OffsetDateTime;

use super::{fields, span, when};
use crate::output::OutputArgs;
use portcullis_client::requests::NewRoutePassword;
use portcullis_client::ApiClient;

/// The route string to type into SAP GUI, with the hub's `/W/` password filled in. The password
/// guards the hub (the first SAProuter), so it sits in the hub's substring, as SAP writes route
/// strings; the hub's NI port is not known to the CLI.
pub fn route_hint(hub_host: &str, password: &str) -> String {
    format!(
        "/H/{hub_host}/S/<the hub's NI port>/W/{password}/H/<type>.<SID>.<company>.portcullis/S/<port>"
    )
}

/// Asks the hub for a route password for the caller (`ttl_minutes`: the hub's default, an
/// hour, when `None`) and prints it with its expiry and how to use it.
pub async fn run(c: &ApiClient, ttl_minutes: Option<i64>, out: OutputArgs) -> Result<()> {
    let r = c
        .create_route_password(&NewRoutePassword { ttl_minutes })
        .await?;
    eprintln!(
        "The route password is shown only now. It is a connection password: the REST API refuses it."
    );
    out.print_answer(&r, |r| {
        let left = r.expires_at - OffsetDateTime::now_utc();
        let mut s = fields(&[
            ("PASSWORD", r.password.expose().clone()),
            (
                "EXPIRES",
                format!("{} (in {})", when(r.expires_at), span(left)),
            ),
            ("TOKEN ID", r.id.to_string()),
            ("USER", r.user.clone()),
        ]);
        s.push_str(&format!(
            "Route string: {}\n",
            route_hint(c.host(), r.password.expose())
        ));
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_puts_the_password_on_the_hubs_hop() {
        assert_eq!(
            route_hint("hub.example.com", "pct_0123456789ab_00112233445566778899aabbccddeeff"),
            "/H/hub.example.com/S/<the hub's NI port>/W/pct_0123456789ab_00112233445566778899aabbccddeeff\
             /H/<type>.<SID>.<company>.portcullis/S/<port>"
        );
    }
}
