//! Sending with lettre over SMTP (STARTTLS, TLS or plain).

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{Error, MailConfig, SmtpSecurity};

/// An SMTP sender built from the relay's mail settings.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

impl Mailer {
    /// Builds the transport; connects only when sending.
    pub fn new(config: &MailConfig) -> Result<Mailer, Error> {
        let server = format!("{}:{}", config.host, config.port);
        let tls = |required: bool| -> Result<Tls, Error> {
            let params = TlsParameters::new(config.host.clone())
                .map_err(|e| Error::Config(format!("TLS for {}: {e}", config.host)))?;
            Ok(if required {
                Tls::Required(params)
            } else {
                Tls::Wrapper(params)
            })
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
                .port(config.port)
                .timeout(Some(std::time::Duration::from_secs(30)));
        builder = match config.security {
            SmtpSecurity::Starttls => builder.tls(tls(true)?),
            SmtpSecurity::Tls => builder.tls(tls(false)?),
            SmtpSecurity::None => builder.tls(Tls::None),
        };
        if let (Some(user), Some(password)) = (&config.username, config.password()?) {
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let from = config
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| Error::Address {
                address: config.from.clone(),
                problem: e.to_string(),
            })?;
        Ok(Mailer {
            transport: builder.build(),
            from,
            server,
        })
    }

    /// Sends one plain-text UTF-8 message. The subject is encoded as RFC
    /// 2047 words by lettre when it is not ASCII.
    pub async fn send(&self, to: &[String], subject: &str, body: &str) -> Result<(), Error> {
        let mut builder = Message::builder().from(self.from.clone()).subject(subject);
        for address in to {
            let mailbox: Mailbox =
                address
                    .parse()
                    .map_err(|e: lettre::address::AddressError| Error::Address {
                        address: address.clone(),
                        problem: e.to_string(),
                    })?;
            builder = builder.to(mailbox);
        }
        let message = builder
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(body.to_string()),
            )
            .map_err(|e| Error::Compose(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map_err(|e| Error::Smtp {
                server: self.server.clone(),
                problem: e.to_string(),
            })?;
        Ok(())
    }
}
