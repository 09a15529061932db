//! The NI return codes (SAP Note 63342 as reproduced by pysap and Wireshark; sap-reference
//! §1.6.2). They travel as a signed 32-bit integer in `NI_RTERR` messages and as a decimal
//! string in the `*ERR*` block.

use std::fmt;

macro_rules! return_codes {
    ($($variant:ident = $code:literal, $name:literal, $meaning:literal;)*) => {
        /// One entry of the NI return-code catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        #[non_exhaustive]
        pub enum ReturnCode {
            $(
                #[doc = $meaning]
                $variant = $code,
            )*
        }

        impl ReturnCode {
            /// Every code, in catalogue order.
            pub const ALL: &'static [ReturnCode] = &[$(ReturnCode::$variant),*];

            /// SAP's constant name, e.g. `NIEROUT_PERM_DENIED`.
            pub fn name(self) -> &'static str {
                match self {
                    $(ReturnCode::$variant => $name,)*
                }
            }

            /// What the code means, in SAP's words.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ReturnCode::$variant => $meaning,)*
                }
            }

            /// The catalogue entry for a numeric code.
            pub fn from_code(code: i32) -> Option<ReturnCode> {
                match code {
                    $($code => Some(ReturnCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

return_codes! {
    Internal = -1, "NIEINTERN", "NI internal error";
    HostUnknown = -2, "NIEHOST_UNKNOWN", "host name unknown";
    ServiceUnknown = -3, "NIESERV_UNKNOWN", "service unknown";
    ServiceUsed = -4, "NIESERV_USED", "service already used";
    Timeout = -5, "NIETIMEOUT", "time limit reached";
    ConnBroken = -6, "NIECONN_BROKEN", "connection to partner broken";
    TooSmall = -7, "NIETOO_SMALL", "data range too small";
    Invalid = -8, "NIEINVAL", "invalid parameters";
    Wakeup = -9, "NIEWAKEUP", "wake-up (without data)";
    ConnRefused = -10, "NIECONN_REFUSED", "connection setup failed";
    Ping = -11, "NIEPING", "PING/PONG signal received";
    ConnPending = -12, "NIECONN_PENDING", "connection to partner via NiRouter not yet set up";
    Version = -13, "NIEVERSION", "invalid version";
    MyHostname = -14, "NIEMYHOSTNAME", "local host name cannot be found";
    NoFreePort = -15, "NIENOFREEPORT", "no free port in range";
    MyHostVerify = -16, "NIEMYHOST_VERIFY", "local host name invalid";
    SncFailure = -17, "NIESNC_FAILURE", "error in the SNC shift in the saprouter";
    Opcode = -18, "NIEOPCODE", "opcode received";
    QueueFull = -19, "NIEQUE_FULL", "queue limit reached, next package not accepted";
    TooBig = -20, "NIETOO_BIG", "requested package too large";
    RouterHostUnknown = -90, "NIEROUT_HOST_UNKNOWN", "host name unknown";
    RouterServiceUnknown = -91, "NIEROUT_SERV_UNKNOWN", "service unknown";
    RouterConnRefused = -92, "NIEROUT_CONN_REFUSED", "connection setup failed";
    RouterInternal = -93, "NIEROUT_INTERN", "NI internal errors";
    PermDenied = -94, "NIEROUT_PERM_DENIED", "connect from source to destination not allowed";
    RouterConnBroken = -95, "NIEROUT_CONN_BROKEN", "connection terminated";
    RouterVersion = -96, "NIEROUT_VERSION", "invalid client version";
    Canceled = -97, "NIEROUT_CANCELED", "connection cancelled by administrator";
    Shutdown = -98, "NIEROUT_SHUTDOWN", "saprouter shutdown";
    InfoDenied = -99, "NIEROUT_INFO_DENIED", "information request refused";
    Overflow = -100, "NIEROUT_OVERFLOW", "max. number of clients reached";
    ModeDenied = -101, "NIEROUT_MODE_DENIED", "talk mode not allowed";
    NoClient = -102, "NIEROUT_NOCLIENT", "client not available";
    External = -103, "NIEROUT_EXTERN", "error in external library";
    RouterSncFailure = -104, "NIEROUT_SNC_FAILURE", "error in the SNC shift";
}

impl ReturnCode {
    /// The numeric code sent on the wire.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// `NIEROUT_PERM_DENIED (-94): connect from source to destination not allowed`.
impl fmt::Display for ReturnCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.code(), self.meaning())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_complete_and_consistent() {
        assert_eq!(ReturnCode::ALL.len(), 35);
        for rc in ReturnCode::ALL {
            assert_eq!(ReturnCode::from_code(rc.code()), Some(*rc));
            assert!(rc.name().starts_with("NIE"), "{rc:?}");
            assert!(!rc.meaning().is_empty());
        }
        let codes: Vec<i32> = ReturnCode::ALL.iter().map(|r| r.code()).collect();
        let want: Vec<i32> = (1..=20).chain(90..=104).map(|c| -c).collect();
        assert_eq!(codes, want);
    }

    #[test]
    fn lookups_by_code() {
        let cases: &[(i32, &str)] = &[
            (-94, "NIEROUT_PERM_DENIED"),
            (-93, "NIEROUT_INTERN"),
            (-96, "NIEROUT_VERSION"),
            (-13, "NIEVERSION"),
            (-5, "NIETIMEOUT"),
            (-104, "NIEROUT_SNC_FAILURE"),
        ];
        for (code, name) in cases {
            assert_eq!(
                ReturnCode::from_code(*code).map(ReturnCode::name),
                Some(*name)
            );
        }
        for missing in [0, 1, -21, -89, -105, i32::MIN] {
            assert_eq!(ReturnCode::from_code(missing), None);
        }
        assert_eq!(ReturnCode::PermDenied.code(), -94);
        assert_eq!(ReturnCode::PermDenied.name(), "NIEROUT_PERM_DENIED");
        assert_eq!(
            ReturnCode::PermDenied.to_string(),
            "NIEROUT_PERM_DENIED (-94): connect from source to destination not allowed"
        );
    }
}
