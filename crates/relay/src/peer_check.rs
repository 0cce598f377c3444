//! Who is calling on a kept-alive connection, as the trust in force says
//! now rather than at the handshake.
//!
//! A connection may carry many requests over a long time. Its peer's
//! certificate is judged again before a request whenever the CRLs changed
//! since the last judgement (a reload, `live_trust.rs`) or a minute has
//! passed (a certificate may have expired), so a peer revoked by a newly
//! loaded list is refused at its next request, and its connection closed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustls_pki_types::CertificateDer;

use crate::caller::Caller;
use crate::live_trust::{LiveTrust, TrustSet};

/// How long a judgement stands when the CRLs do not change.
const RECHECK: Duration = Duration::from_secs(60);

/// The certificates a peer presented, and the latest judgement of them.
pub struct PeerCheck {
    certificates: Vec<CertificateDer<'static>>,
    judged: Mutex<Judged>,
}

struct Judged {
    generation: u64,
    at: Instant,
    caller: Result<Caller, String>,
}

impl PeerCheck {
    /// Judges the peer under `set` (the trust in force at the handshake).
    pub fn new(certificates: Vec<CertificateDer<'static>>, set: &TrustSet) -> PeerCheck {
        let caller = Caller::from_tls(&certificates, &set.peer_trust);
        PeerCheck {
            certificates,
            judged: Mutex::new(Judged {
                generation: set.generation,
                at: Instant::now(),
                caller,
            }),
        }
    }

    /// The caller under the trust in force now.
    pub fn caller(&self, live: &LiveTrust) -> Result<Caller, String> {
        let set = live.current();
        let mut judged = match self.judged.lock() {
            Ok(judged) => judged,
            Err(poisoned) => poisoned.into_inner(),
        };
        if judged.generation != set.generation || judged.at.elapsed() >= RECHECK {
            *judged = Judged {
                generation: set.generation,
                at: Instant::now(),
                caller: Caller::from_tls(&self.certificates, &set.peer_trust),
            };
        }
        judged.caller.clone()
    }

    /// The leaf certificate's SHA-256, to count connections per certificate.
    pub fn fingerprint(&self) -> Option<[u8; 32]> {
        self.certificates.first().map(|leaf| {
            let digest = ring::digest::digest(&ring::digest::SHA256, leaf.as_ref());
            let mut key = [0u8; 32];
            key.copy_from_slice(digest.as_ref());
            key
        })
    }
}
