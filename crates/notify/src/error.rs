/// Everything that can go wrong composing or sending mail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The mail settings cannot be used.
    #[error("mail settings: {0}")]
    Config(String),
    /// An address is not a valid e-mail address.
    #[error("invalid e-mail address {address:?}: {problem}")]
    Address {
        /// The address as configured.
        address: String,
        /// What the parser said.
        problem: String,
    },
    /// The message could not be built.
    #[error("cannot compose the message: {0}")]
    Compose(String),
    /// The SMTP server could not be reached or refused the message.
    #[error("SMTP {server}: {problem}")]
    Smtp {
        /// host:port.
        server: String,
        /// What happened.
        problem: String,
    },
}
