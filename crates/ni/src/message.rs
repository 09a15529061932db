//! One NI payload, classified by its eye catcher (sap-reference §1.4, §1.5.3 step 2).
//!
//! A router reads one message after accepting a connection and dispatches on it:
//! `NI_ROUTE` sets up a route, `NI_RTERR` with a non-zero opcode is a control message,
//! `ROUTER_ADM` an administration request. Keep-alives are recognised only as the exact
//! 8-byte payloads, as Wireshark does; anything else is [`Message::Other`].

use crate::admin::{AdminRequest, ROUTER_ADM};
use crate::error::NiError;
use crate::frame::{NI_PING, NI_PONG};
use crate::route::{RouteRequest, NI_ROUTE};
use crate::rterr::{RtErr, NI_RTERR};

/// A decoded NI payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `NI_PING\0`: answer with [`Message::Pong`].
    Ping,
    /// `NI_PONG\0`: keep-alive answer, or "route accepted".
    Pong,
    /// `NI_ROUTE`: a route request.
    Route(RouteRequest),
    /// `NI_RTERR`: error information or a control message.
    RtErr(RtErr),
    /// `ROUTER_ADM`: an administration request.
    Admin(AdminRequest),
    /// Anything else (application data in MSG mode, niping buffers, …), kept as received.
    Other(Vec<u8>),
}

impl Message {
    /// Classifies and decodes a payload. A payload that starts with a known eye catcher but
    /// is malformed is an error (with the return code a router answers it with), not `Other`.
    pub fn parse(payload: &[u8]) -> Result<Message, NiError> {
        if payload == NI_PING {
            Ok(Message::Ping)
        } else if payload == NI_PONG {
            Ok(Message::Pong)
        } else if payload.starts_with(NI_ROUTE) {
            RouteRequest::decode(payload).map(Message::Route)
        } else if payload.starts_with(NI_RTERR) {
            RtErr::decode(payload).map(Message::RtErr)
        } else if payload.starts_with(ROUTER_ADM) {
            AdminRequest::decode(payload).map(Message::Admin)
        } else {
            Ok(Message::Other(payload.to_vec()))
        }
    }

    /// The payload (without the NI length). Fails only where the inner encoder does.
    pub fn encode(&self) -> Result<Vec<u8>, NiError> {
        match self {
            Message::Ping => Ok(NI_PING.to_vec()),
            Message::Pong => Ok(NI_PONG.to_vec()),
            Message::Route(r) => r.encode(),
            Message::RtErr(e) => Ok(e.encode()),
            Message::Admin(a) => a.encode(),
            Message::Other(p) => Ok(p.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::AdminCommand;
    use crate::route::{Hop, TalkMode};

    #[test]
    fn dispatches_on_the_eye_catcher() {
        let route = RouteRequest {
            route_version: 2,
            ni_version: 40,
            talk_mode: TalkMode::Msg,
            rest_nodes: 1,
            offset: 9,
            hops: vec![Hop::new("r1", "3299"), Hop::new("app", "3200")],
        };
        let messages = vec![
            Message::Ping,
            Message::Pong,
            Message::Route(route),
            Message::RtErr(RtErr::version_request(40)),
            Message::Admin(AdminRequest {
                ni_version: 40,
                command: AdminCommand::Stop,
            }),
            Message::Other(b"EYECATCHER".to_vec()),
            Message::Other(b"NI_PING\0extra".to_vec()),
            Message::Other(Vec::new()),
        ];
        for msg in messages {
            let bytes = msg.encode().unwrap();
            assert_eq!(Message::parse(&bytes).unwrap(), msg);
        }
    }

    #[test]
    fn malformed_known_messages_are_errors_with_router_codes() {
        let cases: &[(&[u8], i32)] = &[
            (b"NI_ROUTE\0", -93),
            (
                b"NI_ROUTE\0\x02\x00\x02\x00\x00\x00\x01\0\0\0\0\0\0\0\0",
                -96,
            ),
            (b"NI_RTERR\0\x28", -93),
            (b"ROUTER_ADM\0\x28\x63", -93),
        ];
        for (payload, code) in cases {
            let err = Message::parse(payload).unwrap_err();
            assert_eq!(err.return_code(), *code, "{err}");
        }
    }
}
