use super::*;
use crate::frame::frame;
use crate::rterr::RtErr;

/// The text of the §1.6.1 example (pysap, permission denied).
const EXAMPLE_TEXT: &[u8] =
    b"*ERR*\x001\x00route permission denied (10.0.0.9 to 10.0.0.1, 3200)\x00-94\x00\
NI (network interface)\x00721\x0040\x00nirout.cpp\x003964\x00NiRClientHandle\x00\
Mon Jan 01 00:00:00 2024\x00\x00\x00\x001\x00SAProuter 40.4 on 'router'\x00\
\x00\x00\x00\x00*ERR*\x00";

fn example_frame() -> Vec<u8> {
    let mut f = vec![0x00, 0x00, 0x00, 0xda];
    f.extend_from_slice(b"NI_RTERR\0");
    f.extend_from_slice(&[
        0x28, 0x00, 0x00, 0xff, 0xff, 0xff, 0xa2, 0x00, 0x00, 0x00, 0xc2,
    ]);
    f.extend_from_slice(EXAMPLE_TEXT);
    f.extend_from_slice(&[0, 0, 0, 0]);
    f
}

fn example_info() -> ErrorInfo {
    ErrorInfo {
        counter: "1".into(),
        error: "route permission denied (10.0.0.9 to 10.0.0.1, 3200)".into(),
        return_code: "-94".into(),
        component: COMPONENT.into(),
        release: "721".into(),
        ni_version: "40".into(),
        module: "nirout.cpp".into(),
        line: "3964".into(),
        detail: "NiRClientHandle".into(),
        time: "Mon Jan 01 00:00:00 2024".into(),
        error_count: "1".into(),
        location: "SAProuter 40.4 on 'router'".into(),
        ..ErrorInfo::default()
    }
}

fn example_context() -> ErrorContext {
    ErrorContext {
        release: "721".into(),
        module: "nirout.cpp".into(),
        line: "3964".into(),
        detail: "NiRClientHandle".into(),
        system_call: String::new(),
        location: "SAProuter 40.4 on 'router'".into(),
    }
}

#[test]
fn spec_example_byte_for_byte() {
    assert_eq!(EXAMPLE_TEXT.len(), 0xc2);
    let info = ErrorInfo::for_router(
        ReturnCode::PermDenied,
        "route permission denied (10.0.0.9 to 10.0.0.1, 3200)",
        40,
        format_error_time(1_704_067_200),
        &example_context(),
        false,
    );
    assert_eq!(info, example_info());
    assert_eq!(info.encode(), EXAMPLE_TEXT);
    let msg = RtErr::error(40, ReturnCode::PermDenied, &info);
    assert_eq!(frame(&msg.encode()), example_frame());

    let decoded = RtErr::decode(&example_frame()[4..]).unwrap();
    assert_eq!(decoded, msg);
    assert_eq!(decoded.error_info().unwrap(), info);
    assert_eq!(info.return_code_value(), Some(-94));
}

#[test]
fn every_truncation_of_the_example_fails() {
    let f = example_frame();
    for cut in 0..f.len() - 4 {
        // Dropping the whole trailer is tolerated; see `RtErr::decode`.
        if cut == f.len() - 8 {
            continue;
        }
        assert!(RtErr::decode(&f[4..4 + cut]).is_err(), "cut {cut}");
    }
    for cut in 0..EXAMPLE_TEXT.len() {
        assert!(
            ErrorInfo::decode(&EXAMPLE_TEXT[..cut]).is_err(),
            "cut {cut}"
        );
    }
}

#[test]
fn hidden_detail_leaves_nothing_to_fingerprint() {
    let info = ErrorInfo::for_router(
        ReturnCode::PermDenied,
        "route permission denied",
        40,
        "Mon Jan 01 00:00:00 2024",
        &example_context(),
        true,
    );
    for field in [
        &info.release,
        &info.module,
        &info.line,
        &info.detail,
        &info.system_call,
        &info.location,
        &info.errno,
        &info.errno_text,
    ] {
        assert!(field.is_empty());
    }
    assert_eq!(info.return_code, "-94");
    assert_eq!(info.component, COMPONENT);
    let text = info.encode();
    assert!(!text.windows(3).any(|w| w == b"721"));
    assert_eq!(ErrorInfo::decode(&text).unwrap(), info);
}

#[test]
fn malformed_blocks_are_named() {
    let cases: Vec<(Vec<u8>, NiError)> = vec![
        (
            b"*ERR*\0a\0".to_vec(),
            NiError::BadErrorInfo {
                reason: "fewer than 21 strings",
            },
        ),
        (
            [EXAMPLE_TEXT, b"x\0"].concat(),
            NiError::BadErrorInfo {
                reason: "more than 21 strings",
            },
        ),
        (
            EXAMPLE_TEXT
                .iter()
                .map(|b| if *b == b'*' { b'#' } else { *b })
                .collect(),
            NiError::BadErrorInfo {
                reason: "not enclosed in *ERR* markers",
            },
        ),
        (
            b"*ERR*".to_vec(),
            NiError::MissingNul {
                field: "error information string",
            },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(ErrorInfo::decode(&text), Err(want));
    }
}

#[test]
fn nul_in_a_field_is_cut_and_non_utf8_is_lossy() {
    let mut info = example_info();
    info.detail = "a\0b".into();
    let back = ErrorInfo::decode(&info.encode()).unwrap();
    assert_eq!(back.detail, "a");
    let latin1 = EXAMPLE_TEXT
        .iter()
        .map(|b| if *b == b'N' { 0xc9 } else { *b })
        .collect::<Vec<u8>>();
    let decoded = ErrorInfo::decode(&latin1).unwrap();
    assert!(decoded.component.contains('\u{fffd}'));
    assert_eq!(ErrorInfo::decode(&decoded.encode()).unwrap(), decoded);
}

#[test]
fn error_times_format_like_ctime() {
    let cases: &[(i64, &str)] = &[
        (0, "Thu Jan 01 00:00:00 1970"),
        (1_704_067_200, "Mon Jan 01 00:00:00 2024"),
        (951_782_400, "Tue Feb 29 00:00:00 2000"),
        (1_709_251_199, "Thu Feb 29 23:59:59 2024"),
        (-1, "Wed Dec 31 23:59:59 1969"),
    ];
    for (secs, want) in cases {
        assert_eq!(format_error_time(*secs), *want, "{secs}");
    }
    let _ = format_error_time(i64::MAX);
    let _ = format_error_time(i64::MIN);
}
