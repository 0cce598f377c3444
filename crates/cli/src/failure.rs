//! Maps library errors to the exit codes scripts rely on.

/// Exit code: verification failed or the operation was refused.
pub const EXIT_REFUSED: u8 = 1;
/// Exit code: usage or input error.
pub const EXIT_INPUT: u8 = 2;
/// Exit code: verification was indeterminate.
pub const EXIT_INDETERMINATE: u8 = 3;

/// A command that did not succeed: what to tell the user and how to exit.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// The message for stderr: what was wrong and what to do.
    pub message: String,
}

impl Failure {
    /// An input or usage error (exit 2).
    pub fn input(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_INPUT,
            message: message.into(),
        }
    }

    /// Something was checked and does not hold (exit 1).
    pub fn refused(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_REFUSED,
            message: message.into(),
        }
    }
}

impl From<congvan_sign::Error> for Failure {
    fn from(e: congvan_sign::Error) -> Failure {
        Failure {
            code: if e.is_rejection() {
                EXIT_REFUSED
            } else {
                EXIT_INPUT
            },
            message: e.to_string(),
        }
    }
}

impl From<congvan_org::Error> for Failure {
    fn from(e: congvan_org::Error) -> Failure {
        Failure::input(e.to_string())
    }
}

impl From<congvan_envelope::Error> for Failure {
    fn from(e: congvan_envelope::Error) -> Failure {
        Failure {
            code: if e.is_input_error() {
                EXIT_INPUT
            } else {
                EXIT_REFUSED
            },
            message: e.to_string(),
        }
    }
}

impl From<congvan_tsa::Error> for Failure {
    fn from(e: congvan_tsa::Error) -> Failure {
        use congvan_tsa::Error as E;
        let code = match &e {
            E::Http { .. } | E::Malformed { .. } | E::BadRequest(_) | E::Unsupported(_) => {
                EXIT_INPUT
            }
            E::Sign(inner) if !inner.is_rejection() => EXIT_INPUT,
            _ => EXIT_REFUSED,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

impl From<congvan_relay::Error> for Failure {
    fn from(e: congvan_relay::Error) -> Failure {
        use congvan_relay::Error as E;
        let code = match &e {
            E::Refused { .. }
            | E::NotTheExpectedRelay { .. }
            | E::TlsRefused { .. }
            | E::Proof(_) => EXIT_REFUSED,
            E::Envelope(inner) if !inner.is_input_error() => EXIT_REFUSED,
            E::Sign(inner) if inner.is_rejection() => EXIT_REFUSED,
            _ => EXIT_INPUT,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

impl From<congvan_web::Error> for Failure {
    fn from(e: congvan_web::Error) -> Self {
        Failure::input(e.to_string())
    }
}

impl From<congvan_secret::Error> for Failure {
    fn from(e: congvan_secret::Error) -> Self {
        use congvan_secret::Error as E;
        match e {
            E::Envelope(inner) => inner.into(),
            E::Sign(inner) => inner.into(),
            E::Io { .. } => Failure::input(e.to_string()),
            // Not a recipient, a refused certificate, altered ciphertext:
            // refused, exit 1, with the reason.
            _ => Failure {
                code: EXIT_REFUSED,
                message: e.to_string(),
            },
        }
    }
}

impl From<congvan_edxml::Error> for Failure {
    fn from(e: congvan_edxml::Error) -> Self {
        use congvan_edxml::Error as E;
        match e {
            E::Envelope(inner) => inner.into(),
            E::Io { .. } => Failure::input(e.to_string()),
            // A message that is malformed, hostile or does not map is
            // refused: exit 1, with the reason.
            other => Failure {
                code: EXIT_REFUSED,
                message: other.to_string(),
            },
        }
    }
}
