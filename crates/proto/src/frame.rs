//! Frame codec: `len: u32 BE | kind: u8 | body: len-1 bytes of JSON`.
//!
//! `len` counts the kind byte and the body, so it is at least 1. It is checked against
//! [`MAX_FRAME_LEN`] before anything is allocated, and a decoder that has too few bytes says how
//! many more it needs instead of failing. Bodies are JSON: these frames carry control traffic
//! (the handshake, inventory, heartbeats, the first message of a stream), never bulk data, and
//! JSON keeps them readable in a capture and easy to extend with optional fields.

use bytes::{Buf, BufMut, BytesMut};

use crate::message::Message;

/// Largest `len` a peer may announce: 1 MiB (an inventory of thousands of targets fits).
pub const MAX_FRAME_LEN: u32 = 1 << 20;
/// Bytes before the body: the length and the kind.
pub const HEADER_LEN: usize = 5;

/// Why a frame could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not an error: `needed` more bytes (at least) must arrive before the frame is complete.
    #[error("incomplete frame: {needed} more bytes needed")]
    Incomplete {
        /// How many more bytes are needed at least.
        needed: usize,
    },
    /// The announced length exceeds [`MAX_FRAME_LEN`] (or is zero).
    #[error("frame length {len} is outside 1..={max}")]
    BadLength {
        /// The announced length.
        len: u32,
        /// The maximum allowed.
        max: u32,
    },
    /// The kind byte names no message this version knows.
    #[error("unknown frame kind {0:#04x}")]
    UnknownKind(u8),
    /// The body is not valid for its kind.
    #[error("malformed {kind} frame: {reason}")]
    Malformed {
        /// The message kind's name.
        kind: &'static str,
        /// What was wrong (from the JSON parser or a field check).
        reason: String,
    },
    /// The peer did not open with the Portcullis preface.
    #[error("not a Portcullis tunnel (bad preface)")]
    BadPreface,
}

impl DecodeError {
    /// True when more bytes may complete the frame.
    pub fn is_incomplete(&self) -> bool {
        matches!(self, DecodeError::Incomplete { .. })
    }
}

/// Appends the encoded message to `dst`.
pub fn encode(msg: &Message, dst: &mut BytesMut) {
    let body = msg.body_json();
    let len = body.len() + 1;
    debug_assert!(
        len as u64 <= MAX_FRAME_LEN as u64,
        "encoder built an oversized frame"
    );
    dst.reserve(4 + len);
    dst.put_u32(len as u32);
    dst.put_u8(msg.kind());
    dst.put_slice(&body);
}

/// Encodes one message into a fresh buffer.
pub fn encode_to_vec(msg: &Message) -> Vec<u8> {
    let mut b = BytesMut::new();
    encode(msg, &mut b);
    b.to_vec()
}

/// Decodes one frame from the start of `src`, returning the message and the bytes consumed.
pub fn decode(src: &[u8]) -> Result<(Message, usize), DecodeError> {
    if src.len() < HEADER_LEN {
        if src.len() >= 4 {
            check_len(u32::from_be_bytes([src[0], src[1], src[2], src[3]]))?;
        }
        return Err(DecodeError::Incomplete {
            needed: HEADER_LEN - src.len(),
        });
    }
    let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
    check_len(len)?;
    let total = 4 + len as usize;
    if src.len() < total {
        return Err(DecodeError::Incomplete {
            needed: total - src.len(),
        });
    }
    let msg = Message::from_parts(src[4], &src[HEADER_LEN..total])?;
    Ok((msg, total))
}

/// Decodes one frame from the front of `buf`, consuming it only when a whole frame is there.
/// Returns `Ok(None)` when more bytes are needed.
pub fn decode_buf(buf: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
    match decode(buf) {
        Ok((msg, used)) => {
            buf.advance(used);
            Ok(Some(msg))
        }
        Err(e) if e.is_incomplete() => Ok(None),
        Err(e) => Err(e),
    }
}

fn check_len(len: u32) -> Result<(), DecodeError> {
    if len == 0 || len > MAX_FRAME_LEN {
        return Err(DecodeError::BadLength {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    Ok(())
}
