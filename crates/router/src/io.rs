//! NI frames over async byte streams: read one message with a size limit, write one.
//!
//! The router, the route client, niping and the admin client all speak NI frame by frame
//! before a route is up (and niping and MSG-mode peers after). The reader checks the announced
//! length against the caller's limit before it allocates anything, so a peer that has not
//! authenticated cannot make the router buffer more than the limit.

use std::io;

use portcullis_ni::frame::{payload_len, HEADER_LEN};
use portcullis_ni::NiError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection before a frame began.
    #[error("connection closed by peer")]
    Closed,
    /// The peer closed the connection inside a frame.
    #[error("connection closed inside a frame ({got} of {want} bytes)")]
    Truncated {
        /// Bytes received of the frame (header included).
        got: usize,
        /// Bytes the frame needs (header included).
        want: usize,
    },
    /// The frame is larger than the reader accepts.
    #[error(transparent)]
    Protocol(#[from] NiError),
    /// The socket failed.
    #[error("network error: {0}")]
    Io(#[from] io::Error),
}

/// Reads one frame and returns its payload. [`FrameError::Closed`] when the stream ends
/// cleanly before the first byte of the frame.
pub async fn read_frame<R>(reader: &mut R, max_payload: usize) -> Result<Vec<u8>, FrameError>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        let n = reader.read(&mut header[got..]).await?;
        if n == 0 {
            return Err(if got == 0 {
                FrameError::Closed
            } else {
                FrameError::Truncated {
                    got,
                    want: HEADER_LEN,
                }
            });
        }
        got += n;
    }
    let len = payload_len(&header, max_payload)?.unwrap_or_default();
    let mut payload = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        let n = reader.read(&mut payload[filled..]).await?;
        if n == 0 {
            return Err(FrameError::Truncated {
                got: HEADER_LEN + filled,
                want: HEADER_LEN + len,
            });
        }
        filled += n;
    }
    Ok(payload)
}

/// Writes `payload` as one frame and flushes.
pub async fn write_frame<W>(writer: &mut W, payload: &[u8]) -> io::Result<()>
where
    W: AsyncWrite + Unpin + ?Sized,
{
    write_frames(writer, std::iter::once(payload)).await
}

/// Writes several frames with one flush.
pub async fn write_frames<'a, W, I>(writer: &mut W, payloads: I) -> io::Result<()>
where
    W: AsyncWrite + Unpin + ?Sized,
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut out = Vec::new();
    for payload in payloads {
        portcullis_ni::encode_frame(payload, &mut out);
    }
    writer.write_all(&out).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_what_was_written() {
        let (mut a, mut b) = tokio::io::duplex(64);
        write_frames(&mut a, [&b"one"[..], &b""[..], &b"three"[..]])
            .await
            .unwrap();
        drop(a);
        assert_eq!(read_frame(&mut b, 16).await.unwrap(), b"one");
        assert_eq!(read_frame(&mut b, 16).await.unwrap(), b"");
        assert_eq!(read_frame(&mut b, 16).await.unwrap(), b"three");
        assert!(matches!(
            read_frame(&mut b, 16).await,
            Err(FrameError::Closed)
        ));
    }

    #[tokio::test]
    async fn refuses_an_oversized_frame_before_reading_it() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&[0, 0, 1, 0]).await.unwrap();
        let err = read_frame(&mut b, 255).await.unwrap_err();
        assert!(
            matches!(
                err,
                FrameError::Protocol(NiError::TooBig { len: 256, max: 255 })
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn reports_a_frame_cut_short() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&[0, 0, 0, 5, b'a', b'b']).await.unwrap();
        drop(a);
        let err = read_frame(&mut b, 16).await.unwrap_err();
        assert!(
            matches!(err, FrameError::Truncated { got: 6, want: 9 }),
            "{err:?}"
        );
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&[0, 0]).await.unwrap();
        drop(a);
        let err = read_frame(&mut b, 16).await.unwrap_err();
        assert!(
            matches!(err, FrameError::Truncated { got: 2, want: 4 }),
            "{err:?}"
        );
    }
}
