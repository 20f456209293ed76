"""Composing mail and the SMTP settings: addresses validated, headers never injected, the
password never shown, credentials never sent without TLS."""

import email
import email.policy
import smtplib
import ssl

import pytest

from config import load_settings
from extends.mailer import (
    InvalidAddress,
    LogTransport,
    MailContent,
    SmtpTarget,
    SmtpTransport,
    build_transport,
    compose,
    normalize_address,
    sender_address,
)

CONTENT = MailContent("Subject line", "Plain text", "<p>HTML</p>")


def parse(envelope):
    return email.message_from_bytes(envelope.raw, policy=email.policy.default)


def test_smtp_urls_are_understood_and_shown_without_the_password():
    submission = SmtpTarget.parse("smtp://ada%40example.org:s3cr%3At@mail.example.org:587")
    assert (submission.scheme, submission.host, submission.port) == (
        "smtp",
        "mail.example.org",
        587,
    )
    assert (submission.username, submission.password) == ("ada@example.org", "s3cr:t")
    assert "s3cr" not in str(submission) and "s3cr" not in repr(submission)
    assert str(submission) == "smtp://ada@example.org@mail.example.org:587"
    assert SmtpTarget.parse("smtps://u:p@mail.example.org").port == 465
    relay = SmtpTarget.parse("smtp://127.0.0.1:2525")
    assert (relay.username, relay.port) == ("", 2525)
    with pytest.raises(ValueError):
        SmtpTarget.parse("http://mail.example.org")
    assert isinstance(build_transport(""), LogTransport)
    assert isinstance(build_transport("smtp://127.0.0.1:25"), SmtpTransport)


def test_the_settings_never_show_the_smtp_password(tmp_path):
    settings = load_settings(
        environ={
            "BLOG_SMTP_URL": "smtp://user:hunter2@mail.example.org:587",
            "BLOG_MAIL_FROM": "blog@example.org",
            "BLOG_DATA_DIR": str(tmp_path),
        }
    )
    assert settings.smtp_url.endswith(":587") and settings.mail_from == "blog@example.org"
    assert "hunter2" not in repr(settings)


def test_addresses_are_validated_and_normalised():
    assert normalize_address(" Ada@Example.ORG ") == "Ada@example.org"
    for bad in ["", "no-at-sign", "a@b", "ada@example.org\r\nBcc: eve@example.org", "a b@x.org"]:
        with pytest.raises(InvalidAddress):
            normalize_address(bad)
    assert sender_address("", "https://blog.example.org") == "inkwell@blog.example.org"
    assert sender_address("", "") == "inkwell@localhost"
    with pytest.raises(InvalidAddress):
        sender_address("not an address", "")


def test_a_header_with_a_line_break_is_refused_never_sent():
    with pytest.raises(InvalidAddress):
        compose(
            MailContent("Hi\r\nBcc: eve@example.org", "t", "<p>h</p>"),
            "ada@example.org",
            "blog@example.org",
            "Site",
            0,
        )
    with pytest.raises(InvalidAddress):
        compose(CONTENT, "ada@example.org", "blog@example.org", "Site\nBcc: eve@x.org", 0)
    with pytest.raises(InvalidAddress):
        compose(CONTENT, "ada@example.org", "blog@example.org", "Site", 0, [("X-A", "1\r\nB: 2")])


def test_a_composed_message_carries_the_site_name_date_id_and_both_parts():
    envelope = compose(CONTENT, "ada@example.org", "blog@example.org", "Ink & “Well”", 1.7e9)
    message = parse(envelope)
    assert envelope.recipients == ("ada@example.org",)
    assert envelope.sender == "blog@example.org"
    assert message["From"].addresses[0].display_name == "Ink & “Well”"
    assert message["Date"].datetime.timestamp() == 1.7e9
    assert message["Message-ID"].endswith("@example.org>")
    assert message.get_body(("plain",)).get_content().strip() == "Plain text"
    assert message.get_body(("html",)).get_content().strip() == "<p>HTML</p>"


def test_credentials_are_never_sent_to_a_server_without_starttls(smtp_server):
    # The test server offers no STARTTLS: with a user name, the transport refuses to go on.
    target = SmtpTarget.parse(f"smtp://user:secret@127.0.0.1:{smtp_server.port}")
    envelope = compose(CONTENT, "ada@example.org", "blog@example.org", "Site", 0)
    with pytest.raises(smtplib.SMTPNotSupportedError):
        SmtpTransport(target).send(envelope.sender, envelope.recipients, envelope.raw)
    assert smtp_server.messages() == []
    # A local relay (no credentials) is spoken to in plain SMTP.
    relay = SmtpTarget.parse(smtp_server.url)
    SmtpTransport(relay).send(envelope.sender, envelope.recipients, envelope.raw)
    (received,) = smtp_server.wait_for(1)
    assert received["Subject"] == "Subject line"


def test_tls_delivers_when_the_certificate_is_trusted(smtp_tls_server, smtp_certificates):
    # smtp:// with STARTTLS and smtps:// (implicit TLS), the CA given as BLOG_SMTP_CA_FILE.
    transport = build_transport(smtp_tls_server.url, str(smtp_certificates.ca_cert))
    envelope = compose(CONTENT, "ada@example.org", "blog@example.org", "Site", 0)
    transport.send(envelope.sender, envelope.recipients, envelope.raw)
    (received,) = smtp_tls_server.wait_for(1)
    assert received["Subject"] == "Subject line"
    assert received["X-Received-TLS"] == "yes"


def test_an_untrusted_certificate_is_refused_before_anything_is_sent(smtp_tls_server):
    transport = build_transport(smtp_tls_server.url)  # the system's trust store only
    envelope = compose(CONTENT, "ada@example.org", "blog@example.org", "Site", 0)
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        transport.send(envelope.sender, envelope.recipients, envelope.raw)
    assert smtp_tls_server.messages() == []


def test_a_missing_ca_file_stops_the_start(tmp_path):
    with pytest.raises(FileNotFoundError):
        build_transport("smtps://127.0.0.1:465", str(tmp_path / "missing.pem"))
