use super::*;
use crate::frame::frame;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// The three pysap examples of §1.7.1, framed, with NI version 40.
fn examples() -> Vec<(AdminCommand, Vec<u8>)> {
    let head = "524f555445525f41444d00 28";
    vec![
        (
            AdminCommand::Stop,
            hex(&format!("00 00 00 0f {head} 05 00 00")),
        ),
        (
            AdminCommand::Cancel { ids: vec![1, 2] },
            hex(&format!(
                "00 00 00 19 {head} 06 00 00 00 02 00 00 00 01 00 00 00 02"
            )),
        ),
        (
            AdminCommand::Info {
                password: "secret".into(),
            },
            hex(&format!(
                "00 00 00 22 {head} 02 00 00 73 65 63 72 65 74 {}",
                "00 ".repeat(13)
            )),
        ),
    ]
}

#[test]
fn pysap_examples_byte_for_byte() {
    for (command, bytes) in examples() {
        let req = AdminRequest {
            ni_version: 40,
            command,
        };
        assert_eq!(frame(&req.encode().unwrap()), bytes, "{req:?}");
        assert_eq!(AdminRequest::decode(&bytes[4..]).unwrap(), req);
    }
}

#[test]
fn every_truncation_of_the_examples_fails() {
    for (_, bytes) in examples() {
        let payload = &bytes[4..];
        for cut in 0..payload.len() {
            assert!(AdminRequest::decode(&payload[..cut]).is_err(), "cut {cut}");
        }
    }
}

#[test]
fn every_command_round_trips() {
    let mut mask = [0u8; 32];
    mask[..4].copy_from_slice(&[10, 0, 0, 1]);
    let commands = vec![
        AdminCommand::Info {
            password: String::new(),
        },
        AdminCommand::Info {
            password: "x".repeat(19),
        },
        AdminCommand::NewRouteTable,
        AdminCommand::ToggleTrace,
        AdminCommand::Stop,
        AdminCommand::Cancel { ids: vec![] },
        AdminCommand::Cancel { ids: vec![7] },
        AdminCommand::DumpBuffers,
        AdminCommand::FlushBuffers,
        AdminCommand::SoftShutdown,
        AdminCommand::SetTracePeer(mask),
        AdminCommand::ClearTracePeer(mask),
        AdminCommand::TraceConnection {
            opcode: 12,
            ids: vec![1, 2, 3],
        },
        AdminCommand::TraceConnection {
            opcode: 13,
            ids: vec![],
        },
        AdminCommand::HideErrorInfo,
    ];
    for command in commands {
        let req = AdminRequest {
            ni_version: 40,
            command,
        };
        let bytes = req.encode().unwrap();
        assert_eq!(bytes[12], req.command.code());
        assert_eq!(AdminRequest::decode(&bytes).unwrap(), req, "{req:?}");
    }
}

#[test]
fn counts_are_bounded_by_the_bytes_present() {
    let mut cancel = hex("524f555445525f41444d00 28 06 00 00 ff ff");
    cancel.extend_from_slice(&[0; 8]);
    assert_eq!(
        AdminRequest::decode(&cancel),
        Err(NiError::Truncated {
            what: "cancel ids",
            needed: 262_140,
            available: 8
        })
    );
    let trace = hex("524f555445525f41444d00 28 0c ff ff ff ff 00 00 00 01");
    assert!(matches!(
        AdminRequest::decode(&trace),
        Err(NiError::Truncated {
            what: "trace connection ids",
            available: 4,
            ..
        })
    ));
}

#[test]
fn bad_values_are_refused() {
    assert_eq!(
        AdminRequest::decode(&hex("524f555445525f41444d00 28 01 00 00")),
        Err(NiError::UnknownAdminCommand(1))
    );
    assert_eq!(
        AdminRequest::decode(b"ROUTER_ADX\0\x28\x05\0\0"),
        Err(NiError::BadEyeCatcher {
            expected: "ROUTER_ADM"
        })
    );
    let mut bad_utf8 = hex("524f555445525f41444d00 28 02 00 00 ff");
    bad_utf8.extend_from_slice(&[0; 18]);
    assert_eq!(
        AdminRequest::decode(&bad_utf8),
        Err(NiError::NotUtf8 {
            field: "info password"
        })
    );
    let encode = |command| {
        AdminRequest {
            ni_version: 40,
            command,
        }
        .encode()
    };
    assert_eq!(
        encode(AdminCommand::Info {
            password: "x".repeat(20)
        }),
        Err(NiError::FieldTooLong {
            field: "info password",
            len: 20,
            max: 19
        })
    );
    assert_eq!(
        encode(AdminCommand::Info {
            password: "a\0b".into()
        }),
        Err(NiError::InteriorNul {
            field: "info password"
        })
    );
    assert!(encode(AdminCommand::Cancel {
        ids: vec![0; 65_536]
    })
    .is_err());
    assert_eq!(
        encode(AdminCommand::TraceConnection {
            opcode: 5,
            ids: vec![]
        }),
        Err(NiError::BadTraceOpcode(5))
    );
}

#[test]
fn trailing_bytes_are_ignored() {
    let mut stop = hex("524f555445525f41444d00 28 05 00 00");
    stop.extend_from_slice(b"extra");
    assert_eq!(
        AdminRequest::decode(&stop).unwrap().command,
        AdminCommand::Stop
    );
}

#[test]
fn debug_masks_the_info_password() {
    let text = format!(
        "{:?}",
        AdminCommand::Info {
            password: "secret".into()
        }
    );
    assert_eq!(text, "Info { password: \"***\" }");
}
