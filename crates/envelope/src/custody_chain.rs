//! The custody chain: which relays' receipts a dispatch can have collected
//! on its way, and so which may prove that its signatures existed.
//!
//! Any relay of the PKI can sign a custody receipt about any dispatch and
//! date it as it likes. If every valid one counted as proof of existence, a
//! relay anywhere could keep an expired or later-revoked signature alive
//! by back-dating a receipt. A file travels one route through the tree: from
//! the relay serving its sender, up towards the common ancestor, then down
//! towards a recipient, each relay appending its receipt. So a custody
//! receipt counts only as the next link of that route:
//!
//! 1. the first is signed by a relay whose organization is the sender's or
//!    an ancestor of it (the relay serving the sender);
//! 2. each next one by a relay one step further along: a strict ancestor of
//!    the previous relay while going up; or, once going down (and then
//!    never up again), a strict descendant of it whose subtree holds a
//!    recipient;
//! 3. each dated no earlier than the one before.
//!
//! Receipts are taken in entry order, which is the order relays appended
//! them. One that does not extend the chain is reported and not counted.

use congvan_org::OrgId;
use time::OffsetDateTime;

/// The chain of custody built so far.
pub(crate) struct CustodyChain<'a> {
    sender: &'a OrgId,
    recipients: &'a [OrgId],
    hops: Vec<(OrgId, OffsetDateTime)>,
    descending: bool,
}

impl<'a> CustodyChain<'a> {
    /// An empty chain for a dispatch from `sender` to `recipients`.
    pub(crate) fn new(sender: &'a OrgId, recipients: &'a [OrgId]) -> CustodyChain<'a> {
        CustodyChain {
            sender,
            recipients,
            hops: Vec::new(),
            descending: false,
        }
    }

    /// Adds the custody receipt of `relay` at `time` if it is the next link;
    /// otherwise says why it is not.
    pub(crate) fn extend(&mut self, relay: &OrgId, time: OffsetDateTime) -> Result<(), String> {
        let Some((previous, previous_time)) = self.hops.last() else {
            if !self.sender.is_within(relay) {
                return Err(format!(
                    "relay {relay} cannot be the first on the route: the custody chain starts at \
                     the relay serving the sender {} (its own organization or one above it)",
                    self.sender
                ));
            }
            self.hops.push((relay.clone(), time));
            return Ok(());
        };
        if time < *previous_time {
            return Err(format!(
                "it is dated before the receipt of relay {previous}, the hop before it"
            ));
        }
        let up = previous.is_within(relay) && relay != previous;
        let down = relay.is_within(previous)
            && relay != previous
            && self.recipients.iter().any(|r| r.is_within(relay));
        if up && !self.descending {
            self.hops.push((relay.clone(), time));
            return Ok(());
        }
        if down {
            self.descending = true;
            self.hops.push((relay.clone(), time));
            return Ok(());
        }
        Err(format!(
            "relay {relay} is not the next hop after relay {previous} on the route from {} to \
             its recipients",
            self.sender
        ))
    }

    /// True when `relay` is a link of the chain.
    pub(crate) fn contains(&self, relay: &OrgId) -> bool {
        self.hops.iter().any(|(r, _)| r == relay)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn id(text: &str) -> OrgId {
        OrgId::parse(text).unwrap()
    }

    fn at(minutes: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(minutes)
    }

    #[test]
    fn up_to_the_common_ancestor_then_down_to_a_recipient() {
        let sender = id("H99.01.01");
        let recipients = [id("H99.02.03")];
        let mut chain = CustodyChain::new(&sender, &recipients);
        for (i, relay) in ["H99.01.01", "H99.01", "H99", "H99.02", "H99.02.03"]
            .into_iter()
            .enumerate()
        {
            chain.extend(&id(relay), at(i as i64)).unwrap();
        }
        assert!(chain.contains(&id("H99")));
        assert!(!chain.contains(&id("H98")));
    }

    #[test]
    fn off_route_relays_and_back_dated_receipts_do_not_extend_it() {
        let sender = id("H99.01");
        let recipients = [id("H99.01.01")];
        // Not the sender's relay: another district, a commune below it.
        for first in ["H99.02", "H99.01.01", "H98"] {
            let mut chain = CustodyChain::new(&sender, &recipients);
            assert!(chain.extend(&id(first), at(0)).is_err(), "{first}");
        }
        let mut chain = CustodyChain::new(&sender, &recipients);
        chain.extend(&id("H99.01"), at(10)).unwrap();
        // Dated before the previous hop.
        assert!(chain.extend(&id("H99.01.01"), at(5)).is_err());
        // Down towards a relay that serves no recipient.
        assert!(chain.extend(&id("H99.01.02"), at(11)).is_err());
        // The same relay again.
        assert!(chain.extend(&id("H99.01"), at(11)).is_err());
        chain.extend(&id("H99.01.01"), at(12)).unwrap();
        // Once going down, never up again.
        assert!(chain.extend(&id("H99.01"), at(13)).is_err());
    }
}
