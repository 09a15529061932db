//! Reading and writing [`portcullis_proto`] frames on byte streams.
//!
//! Reads use `read_exact` on the header and then on the body, so they never consume a byte past
//! the frame: whatever follows (the multiplexer's preface, or a stream's raw data) stays in the
//! stream for its next reader.

use bytes::BytesMut;
use portcullis_proto::frame::{self, HEADER_LEN};
use portcullis_proto::{DecodeError, Message, Preface, MAX_FRAME_LEN, PREFACE_LEN};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::tunnel::TunnelError;

/// Reads the peer's preface.
pub async fn read_preface<R: AsyncRead + Unpin>(r: &mut R) -> Result<Preface, TunnelError> {
    let mut b = [0u8; PREFACE_LEN];
    r.read_exact(&mut b)
        .await
        .map_err(TunnelError::eof_is_closed)?;
    Ok(Preface::decode(&b)?)
}

/// Reads exactly one frame.
pub async fn read_message<R: AsyncRead + Unpin>(r: &mut R) -> Result<Message, TunnelError> {
    let mut head = [0u8; HEADER_LEN];
    r.read_exact(&mut head)
        .await
        .map_err(TunnelError::eof_is_closed)?;
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    if len == 0 || len > MAX_FRAME_LEN {
        return Err(DecodeError::BadLength {
            len,
            max: MAX_FRAME_LEN,
        }
        .into());
    }
    // The length was checked against the maximum before this allocation.
    let mut whole = vec![0u8; 4 + len as usize];
    whole[..HEADER_LEN].copy_from_slice(&head);
    r.read_exact(&mut whole[HEADER_LEN..])
        .await
        .map_err(TunnelError::eof_is_closed)?;
    let (msg, _) = frame::decode(&whole)?;
    Ok(msg)
}

/// Writes one frame and flushes.
pub async fn write_message<W: AsyncWrite + Unpin>(
    w: &mut W,
    msg: &Message,
) -> Result<(), TunnelError> {
    let mut b = BytesMut::new();
    frame::encode(msg, &mut b);
    w.write_all(&b).await?;
    w.flush().await?;
    Ok(())
}

/// Writes the preface and one frame in a single write.
pub async fn write_preface_and<W: AsyncWrite + Unpin>(
    w: &mut W,
    msg: &Message,
) -> Result<(), TunnelError> {
    let mut b = BytesMut::from(&Preface::current().encode()[..]);
    frame::encode(msg, &mut b);
    w.write_all(&b).await?;
    w.flush().await?;
    Ok(())
}
