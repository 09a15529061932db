"""A real SMTP server for the alerting e2e test: aiosmtpd with STARTTLS required and AUTH
(PLAIN/LOGIN) required after it, on 127.0.0.1 port 0.

Usage: server.py CERT KEY USER PASSWORD OUT_DIR
Prints `READY <port>` once it accepts connections. Every message it accepts is written to
OUT_DIR as NNNN.eml (written to a temporary name, then renamed), preceded by the envelope as
`X-Envelope-From:` and `X-Envelope-To:` lines. Runs until killed.
"""

import asyncio
import os
import socket
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Mailbox:
    def __init__(self, out):
        self.out = out
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        path = os.path.join(self.out, f"{self.n:04}.eml")
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode()
        head = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        with open(path + ".tmp", "wb") as f:
            f.write(head + content)
        os.rename(path + ".tmp", path)
        return "250 OK"


def main():
    cert, key, user, password, out = sys.argv[1:6]
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    def authenticate(server, session, envelope, mechanism, data):
        ok = (
            isinstance(data, LoginPassword)
            and data.login == user.encode()
            and data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    mailbox = Mailbox(out)
    loop = asyncio.new_event_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)

    def factory():
        return SMTP(
            mailbox,
            hostname="localhost",
            require_starttls=True,
            tls_context=tls,
            authenticator=authenticate,
            auth_require_tls=True,
            auth_required=True,
        )

    loop.run_until_complete(loop.create_server(factory, sock=sock))
    print(f"READY {sock.getsockname()[1]}", flush=True)
    loop.run_forever()


if __name__ == "__main__":
    main()
