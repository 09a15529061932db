//! NI framing: a 4-byte big-endian payload length, then the payload (sap-reference §1.4).
//!
//! The length counts the payload only. It is checked against the caller's maximum before
//! anything is allocated or awaited, because the first message on a SAProuter port arrives
//! before any authentication: [`MAX_ROUTE_MESSAGE`] bounds what an anonymous peer can make a
//! router buffer.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::NiError;

/// Bytes of the length header in front of every NI payload.
pub const HEADER_LEN: usize = 4;

/// Largest payload accepted as the first (pre-authentication) message of a connection.
///
/// A route request holds at most 255 entries of three short strings: real routes are well
/// under 1 KiB. SAProuter answers a 10 025-byte first message with "Network packet too big"
/// (−93); its exact limit is not public. 8 KiB is below that observed rejection, far above
/// any legitimate route, admin request or version request, and small enough that a flood of
/// half-open connections cannot exhaust memory.
pub const MAX_ROUTE_MESSAGE: usize = 8 * 1024;

/// Keep-alive request payload.
pub const NI_PING: &[u8; 8] = b"NI_PING\0";
/// Keep-alive answer payload; a router also sends it to say "route accepted".
pub const NI_PONG: &[u8; 8] = b"NI_PONG\0";
/// [`NI_PING`] with its header, as sent on the wire.
pub const NI_PING_FRAME: &[u8; 12] = b"\x00\x00\x00\x08NI_PING\0";
/// [`NI_PONG`] with its header, as sent on the wire.
pub const NI_PONG_FRAME: &[u8; 12] = b"\x00\x00\x00\x08NI_PONG\0";

/// Appends the frame for `payload` to `dst`.
///
/// The length field is 32 bits: a payload beyond `u32::MAX` bytes (which no NI peer accepts)
/// is cut to `u32::MAX` bytes so the frame at least stays self-consistent.
pub fn encode_frame(payload: &[u8], dst: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let payload = payload.get(..len as usize).unwrap_or(payload);
    dst.reserve(HEADER_LEN.saturating_add(payload.len()));
    dst.extend_from_slice(&len.to_be_bytes());
    dst.extend_from_slice(payload);
}

/// The frame for `payload` in a fresh buffer.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(payload, &mut out);
    out
}

/// Reads the announced payload length from a frame header, checking it against `max_payload`.
///
/// `Ok(None)` while fewer than [`HEADER_LEN`] bytes are there. A driver reading from a socket
/// calls this on the first four bytes and learns how much more to read, and whether to read at
/// all, before reserving anything.
pub fn payload_len(buf: &[u8], max_payload: usize) -> Result<Option<usize>, NiError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let mut raw = [0u8; HEADER_LEN];
    raw.copy_from_slice(header);
    let len = u32::from_be_bytes(raw) as usize;
    if len > max_payload {
        return Err(NiError::TooBig {
            len,
            max: max_payload,
        });
    }
    Ok(Some(len))
}

/// Decodes one frame from the start of `buf`.
///
/// `Ok(None)`: the frame is incomplete, read more. `Ok(Some((payload, consumed)))`: the
/// payload and the number of bytes of `buf` the frame occupied (header included). An
/// announced length above `max_payload` fails at once, even before the payload arrives.
pub fn decode_frame(buf: &[u8], max_payload: usize) -> Result<Option<(&[u8], usize)>, NiError> {
    let Some(len) = payload_len(buf, max_payload)? else {
        return Ok(None);
    };
    let end = HEADER_LEN.saturating_add(len);
    Ok(buf.get(HEADER_LEN..end).map(|payload| (payload, end)))
}

/// Like [`decode_frame`], but removes the frame from `buf` and returns its payload without
/// copying: the shape a `tokio_util` codec or a read loop over a `BytesMut` wants.
pub fn split_frame(buf: &mut BytesMut, max_payload: usize) -> Result<Option<Bytes>, NiError> {
    let Some(len) = payload_len(buf, max_payload)? else {
        return Ok(None);
    };
    let end = HEADER_LEN.saturating_add(len);
    if buf.len() < end {
        // No `reserve` here: memory grows with the bytes that actually arrive, not with
        // what the header claims.
        return Ok(None);
    }
    let mut whole = buf.split_to(end);
    whole.advance(HEADER_LEN);
    Ok(Some(whole.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_frames_match_the_spec_bytes() {
        assert_eq!(
            NI_PING_FRAME,
            &[0, 0, 0, 8, 0x4e, 0x49, 0x5f, 0x50, 0x49, 0x4e, 0x47, 0]
        );
        assert_eq!(
            NI_PONG_FRAME,
            &[0, 0, 0, 8, 0x4e, 0x49, 0x5f, 0x50, 0x4f, 0x4e, 0x47, 0]
        );
        assert_eq!(frame(NI_PING), NI_PING_FRAME);
        assert_eq!(frame(NI_PONG), NI_PONG_FRAME);
    }

    #[test]
    fn every_split_point_is_incomplete_until_the_last_byte() {
        let bytes = frame(b"hello");
        for cut in 0..bytes.len() {
            assert_eq!(decode_frame(&bytes[..cut], 100), Ok(None), "cut {cut}");
        }
        assert_eq!(decode_frame(&bytes, 100), Ok(Some((&b"hello"[..], 9))));
    }

    #[test]
    fn trailing_bytes_belong_to_the_next_frame() {
        let mut bytes = frame(b"a");
        bytes.extend_from_slice(&frame(b""));
        let (p, used) = decode_frame(&bytes, 10).unwrap().unwrap();
        assert_eq!((p, used), (&b"a"[..], 5));
        let (p, used) = decode_frame(&bytes[used..], 10).unwrap().unwrap();
        assert_eq!((p, used), (&b""[..], 4));
    }

    #[test]
    fn oversized_length_fails_from_the_header_alone() {
        let header = 10_025u32.to_be_bytes();
        assert_eq!(
            decode_frame(&header, MAX_ROUTE_MESSAGE),
            Err(NiError::TooBig {
                len: 10_025,
                max: MAX_ROUTE_MESSAGE
            })
        );
        assert!(decode_frame(&[0xff; 4], usize::MAX).unwrap().is_none());
        let exact = frame(&[7; 16]);
        assert!(decode_frame(&exact, 16).unwrap().is_some());
        assert!(decode_frame(&exact, 15).is_err());
    }

    #[test]
    fn split_frame_consumes_one_frame_at_a_time() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&frame(b"one"));
        buf.extend_from_slice(&frame(b"two")[..5]);
        assert_eq!(split_frame(&mut buf, 10).unwrap().unwrap(), &b"one"[..]);
        assert_eq!(split_frame(&mut buf, 10).unwrap(), None);
        buf.extend_from_slice(b"wo");
        assert_eq!(split_frame(&mut buf, 10).unwrap().unwrap(), &b"two"[..]);
        assert!(buf.is_empty());
        buf.extend_from_slice(&[0, 0, 1, 0]);
        assert!(split_frame(&mut buf, 10).is_err());
    }
}
