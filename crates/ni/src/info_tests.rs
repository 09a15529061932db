use super::*;

fn client(id: u32) -> ClientRecord {
    ClientRecord {
        id,
        flags: ClientRecord::CONNECTED | ClientRecord::ROUTED,
        connected_on: 1_704_067_200,
        address: "10.0.0.9".into(),
        partner: "10.0.0.1".into(),
        service: "sapdp00".into(),
        unknown: [0; 7],
    }
}

fn response() -> InfoResponse {
    InfoResponse {
        clients: vec![client(1), client(2)],
        server: ServerRecord {
            pid: 4242,
            ppid: 1,
            started_on: 1_700_000_000,
            port: 3299,
            parent_port: 0,
        },
        lines: InfoResponse::standard_lines(2, "/usr/sap/saprouter", "./saprouttab"),
    }
}

#[test]
fn client_record_layout() {
    let mut bytes = Vec::new();
    client(7).encode_into(&mut bytes);
    assert_eq!(bytes.len(), CLIENT_RECORD_LEN);
    assert_eq!(bytes[..5], [0, 0, 0, 7, 0x03]);
    // pysap adds 1e9 to the low 32 bits; 1 704 067 200 − 1e9 = 704 067 200 = 0x29f7_3680.
    assert_eq!(bytes[5..13], [0, 0, 0, 0, 0x29, 0xf7, 0x36, 0x80]);
    assert_eq!(&bytes[13..21], b"10.0.0.9");
    assert!(bytes[21..58].iter().all(|b| *b == 0));
    assert_eq!(&bytes[58..66], b"10.0.0.1");
    assert_eq!(&bytes[103..110], b"sapdp00");
    assert_eq!(ClientRecord::decode(&bytes).unwrap(), client(7));
    for cut in 0..bytes.len() {
        assert!(ClientRecord::decode(&bytes[..cut]).is_err(), "cut {cut}");
    }
}

#[test]
fn flags_read_individually() {
    let mut c = client(1);
    assert!(c.is_connected() && c.is_routed() && !c.is_traced());
    c.flags = ClientRecord::TRACED | 0x80;
    assert!(c.is_traced() && !c.is_connected() && !c.is_routed());
}

#[test]
fn server_record_layout() {
    let server = response().server;
    let bytes = server.encode();
    assert_eq!(bytes.len(), SERVER_RECORD_LEN);
    assert_eq!(bytes[..8], [0, 0, 0x10, 0x92, 0, 0, 0, 1]);
    assert_eq!(bytes[16..], [0x0c, 0xe3, 0, 0]);
    assert_eq!(ServerRecord::decode(&bytes).unwrap(), server);
    assert!(ServerRecord::decode(&bytes[..19]).is_err());
    let mut long = bytes;
    long.push(0);
    assert!(ServerRecord::decode(&long).is_err());
}

#[test]
fn response_round_trips_through_its_payloads() {
    let resp = response();
    let payloads = resp.to_payloads();
    assert_eq!(payloads.len(), 5);
    assert_eq!(payloads[0].len(), 2 * CLIENT_RECORD_LEN);
    assert_eq!(payloads[1].len(), SERVER_RECORD_LEN);
    assert_eq!(payloads[2], b"Total no. of clients: 2\0");
    assert_eq!(InfoResponse::from_payloads(&payloads).unwrap(), resp);

    let empty = InfoResponse::default();
    let payloads = empty.to_payloads();
    assert_eq!(payloads[0], b"");
    assert_eq!(
        InfoResponse::from_payloads(&payloads).unwrap().clients,
        vec![]
    );
}

#[test]
fn long_strings_are_cut_to_fit() {
    let mut c = client(1);
    c.address = "a".repeat(60);
    c.service = format!("{}é", "s".repeat(26));
    c.partner = "p\0q".into();
    c.connected_on = 5;
    let mut bytes = Vec::new();
    c.encode_into(&mut bytes);
    assert_eq!(bytes.len(), CLIENT_RECORD_LEN);
    let back = ClientRecord::decode(&bytes).unwrap();
    assert_eq!(back.address, "a".repeat(45));
    assert_eq!(back.service, "s".repeat(26));
    assert_eq!(back.partner, "p");
    assert_eq!(back.connected_on, TIME_OFFSET);
    assert_eq!(back, c.as_transmitted());
}

#[test]
fn malformed_responses_are_named() {
    let good = response().to_payloads();
    let cases: Vec<(Vec<Vec<u8>>, NiError)> = vec![
        (
            vec![],
            NiError::BadInfoResponse {
                reason: "missing client table",
            },
        ),
        (
            vec![vec![0; 136]],
            NiError::BadInfoResponse {
                reason: "client table is not a whole number of 137-byte records",
            },
        ),
        (
            vec![good[0].clone()],
            NiError::BadInfoResponse {
                reason: "missing server record",
            },
        ),
        (
            vec![good[0].clone(), good[1].clone(), b"no nul".to_vec()],
            NiError::MissingNul { field: "info line" },
        ),
        (
            vec![good[0].clone(), good[1].clone(), b"a\0b\0".to_vec()],
            NiError::TrailingBytes {
                what: "info line",
                extra: 2,
            },
        ),
    ];
    for (payloads, want) in cases {
        assert_eq!(InfoResponse::from_payloads(&payloads), Err(want));
    }
    let mut bad = good[0].clone();
    bad[13] = 0xff;
    assert_eq!(
        InfoResponse::from_payloads([bad, good[1].clone()]),
        Err(NiError::NotUtf8 {
            field: "client address"
        })
    );
}

#[test]
fn pysap_time_convention() {
    assert_eq!(encode_time(1_704_067_200), 704_067_200);
    assert_eq!(decode_time(704_067_200), 1_704_067_200);
    assert_eq!(encode_time(10), 0);
    assert_eq!(decode_time(u64::MAX), 0xFFFF_FFFF + TIME_OFFSET);
}
