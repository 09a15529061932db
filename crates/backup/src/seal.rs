//! The age encryption around a backup's archive: a passphrase (scrypt) recipient, so the file
//! opens with the password alone, here or with `age -d`.

use std::io::{self, BufRead, Read, Write};

use super::{BackupError, Password};

/// Starts an encrypted file on `out`; what is written to the result is encrypted. Call
/// `finish` on it to write the last chunk.
pub(crate) fn encrypt_to<W: Write>(
    out: W,
    password: &Password,
) -> io::Result<age::stream::StreamWriter<W>> {
    age::Encryptor::with_user_passphrase(password.secret()).wrap_output(out)
}

/// Opens an encrypted file: checks that `password` opens it and returns the reader of the
/// plaintext. A reader error later ([`is_damage`]) means the payload was altered or cut.
pub(crate) fn decrypt_from<R: BufRead>(
    input: R,
    password: &Password,
) -> Result<impl Read, BackupError> {
    let decryptor = age::Decryptor::new_buffered(input).map_err(header_error)?;
    if !decryptor.is_scrypt() {
        // Encrypted to a key, not a password: not one of ours.
        return Err(BackupError::WrongPasswordOrNotBackup);
    }
    let identity = age::scrypt::Identity::new(password.secret());
    decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(header_error)
}

/// Whether a read error from [`decrypt_from`]'s reader is the payload failing its
/// authentication (altered or cut short) rather than the disk.
pub(crate) fn is_damage(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
    )
}

fn header_error(e: age::DecryptError) -> BackupError {
    match e {
        age::DecryptError::Io(e) if !is_damage(&e) => BackupError::Io {
            path: "backup file".into(),
            source: e,
        },
        // Wrong password, a header edited (its MAC fails), not an age file.
        _ => BackupError::WrongPasswordOrNotBackup,
    }
}

/// Encrypts `plain` with `password` in one go (tools and tests; backups stream).
pub fn encrypt_all(plain: &[u8], password: &Password) -> Result<Vec<u8>, BackupError> {
    let io = BackupError::io("encrypted buffer");
    let mut w = encrypt_to(Vec::new(), password).map_err(BackupError::io("encrypted buffer"))?;
    w.write_all(plain).and_then(|_| w.finish()).map_err(io)
}

/// Decrypts a whole backup file's bytes (tools and tests; restore streams).
pub fn decrypt_all(sealed: &[u8], password: &Password) -> Result<Vec<u8>, BackupError> {
    let mut r = decrypt_from(sealed, password)?;
    let mut out = Vec::new();
    r.read_to_end(&mut out).map_err(|e| {
        if is_damage(&e) {
            BackupError::Damaged
        } else {
            BackupError::io("backup file")(e)
        }
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_buffer_opens_with_its_password_only() {
        let pw = Password::new("correct horse").unwrap();
        let sealed = encrypt_all(b"the archive", &pw).unwrap();
        assert!(sealed.starts_with(b"age-encryption.org/v1\n"));
        assert_eq!(decrypt_all(&sealed, &pw).unwrap(), b"the archive");
        let wrong = Password::new("battery staple").unwrap();
        assert!(matches!(
            decrypt_all(&sealed, &wrong),
            Err(BackupError::WrongPasswordOrNotBackup)
        ));
        assert!(matches!(
            decrypt_all(b"not age at all", &pw),
            Err(BackupError::WrongPasswordOrNotBackup)
        ));
        let mut flipped = sealed.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 0x01;
        assert!(matches!(
            decrypt_all(&flipped, &pw),
            Err(BackupError::Damaged)
        ));
        assert!(matches!(
            decrypt_all(&sealed[..sealed.len() - 1], &pw),
            Err(BackupError::Damaged)
        ));
    }

    #[test]
    fn an_empty_password_is_refused_and_never_printed() {
        assert!(matches!(Password::new(""), Err(BackupError::EmptyPassword)));
        assert_eq!(
            format!("{:?}", Password::new("s3cret").unwrap()),
            "Password(***)"
        );
    }
}
