//! Many small dispatches in one request between relays, with an outcome
//! per item.
//!
//! After an outage a relay's queue for its parent holds thousands of
//! dispatches of a few kilobytes. Sent one per request, each costs a round
//! trip and its own wait for the next hop's commit; sent as a batch, the
//! next hop verifies them on all its cores at once and its writer commits
//! them together. One refused item never fails the others: the answer says,
//! item by item, what became of each, as if each had been sent alone.
//!
//! The body is a sequence of frames, each a 4-byte big-endian length and
//! that many bytes of one `.cvd` container. Only small dispatches travel
//! this way (up to [`crate::upload::MEMORY_UPLOAD_LIMIT`] each, and
//! [`MAX_ITEMS`] in all): a larger one goes on its own request, streamed.

use serde::{Deserialize, Serialize};

use crate::upload::MEMORY_UPLOAD_LIMIT;

/// Media type of a batch body.
pub const BATCH_MEDIA_TYPE: &str = "application/vnd.congvan.dispatch-batch";

/// Most dispatches in one batch.
pub const MAX_ITEMS: usize = 64;

/// Largest batch body a relay sends: the receiving relay holds a batch in
/// memory, within its budget for uploads.
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Bytes of the length before each item.
const LENGTH_BYTES: usize = 4;

/// What became of one item of a batch, in the order sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOutcome {
    /// The dispatch id, when the item could be read as a dispatch.
    pub id: Option<String>,
    /// `accepted` (new and durable), `duplicate` (already held), or
    /// `refused`.
    pub status: String,
    /// For a refused item: the HTTP status a single upload would have had
    /// (4xx: for good; 5xx, 408, 429: for now, send it again).
    pub code: Option<u16>,
    /// For a refused item: why.
    pub reason: Option<String>,
}

/// The answer to a batch: one outcome per item, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// The items' outcomes.
    pub items: Vec<ItemOutcome>,
}

/// Appends one item's frame to a batch body.
pub fn push_frame(body: &mut Vec<u8>, item: &[u8]) {
    // Items are at most MEMORY_UPLOAD_LIMIT bytes: the length fits.
    let len = u32::try_from(item.len()).unwrap_or(u32::MAX);
    body.extend_from_slice(&len.to_be_bytes());
    body.extend_from_slice(item);
}

/// The size of an item's frame in a batch body.
pub fn frame_len(item_len: usize) -> usize {
    LENGTH_BYTES + item_len
}

/// What is wrong with a batch body.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// An item is declared larger than a batch may carry.
    #[error(
        "item {index} of the batch declares {len} bytes; a batch carries dispatches of at most \
         {MEMORY_UPLOAD_LIMIT} bytes (send a larger one on its own)"
    )]
    ItemTooLarge {
        /// Its place, from 0.
        index: usize,
        /// The declared length.
        len: u64,
    },
    /// More items than a batch may carry.
    #[error("the batch holds more than {MAX_ITEMS} dispatches")]
    TooManyItems,
    /// An empty item.
    #[error("item {0} of the batch is empty")]
    EmptyItem(usize),
    /// The body ends inside a frame.
    #[error("the batch ends inside item {0}: it was cut short")]
    Truncated(usize),
}

/// Splits a batch body into its items as the bytes arrive, so that no copy
/// of the whole body is held beside the items.
#[derive(Debug, Default)]
pub struct FrameReader {
    /// The length of the item being read, once its 4 bytes are in.
    want: Option<usize>,
    /// Bytes of the length, or of the item, so far.
    partial: Vec<u8>,
    /// Items completed.
    count: usize,
}

impl FrameReader {
    /// Takes in the next bytes, handing each completed item to `done`.
    /// `room` is asked before an item's bytes are held (the relay's memory
    /// budget); an item it refuses stops the reading with `Ok(false)`.
    pub fn feed(
        &mut self,
        mut data: &[u8],
        room: &mut dyn FnMut(usize) -> bool,
        done: &mut dyn FnMut(Vec<u8>),
    ) -> Result<bool, FrameError> {
        while !data.is_empty() {
            match self.want {
                None => {
                    let need = LENGTH_BYTES - self.partial.len();
                    let take = need.min(data.len());
                    self.partial.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.partial.len() < LENGTH_BYTES {
                        continue;
                    }
                    let mut be = [0u8; LENGTH_BYTES];
                    be.copy_from_slice(&self.partial);
                    let len = u32::from_be_bytes(be) as u64;
                    if self.count >= MAX_ITEMS {
                        return Err(FrameError::TooManyItems);
                    }
                    if len == 0 {
                        return Err(FrameError::EmptyItem(self.count));
                    }
                    if len > MEMORY_UPLOAD_LIMIT {
                        return Err(FrameError::ItemTooLarge {
                            index: self.count,
                            len,
                        });
                    }
                    // len <= MEMORY_UPLOAD_LIMIT, far below usize::MAX.
                    let len = len as usize;
                    if !room(len) {
                        return Ok(false);
                    }
                    self.partial = Vec::with_capacity(len);
                    self.want = Some(len);
                }
                Some(len) => {
                    let take = (len - self.partial.len()).min(data.len());
                    self.partial.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.partial.len() == len {
                        done(std::mem::take(&mut self.partial));
                        self.want = None;
                        self.count += 1;
                    }
                }
            }
        }
        Ok(true)
    }

    /// Checks that the body ended between items.
    pub fn finish(&self) -> Result<usize, FrameError> {
        if self.want.is_some() || !self.partial.is_empty() {
            return Err(FrameError::Truncated(self.count));
        }
        Ok(self.count)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read_all(body: &[u8], piece: usize) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut reader = FrameReader::default();
        let mut items = Vec::new();
        for chunk in body.chunks(piece) {
            assert!(reader.feed(chunk, &mut |_| true, &mut |item| items.push(item))?);
        }
        reader.finish()?;
        Ok(items)
    }

    #[test]
    fn items_come_back_whole_however_the_body_is_cut() {
        let items: Vec<Vec<u8>> = (1..=5).map(|n| vec![n as u8; n * 1000]).collect();
        let mut body = Vec::new();
        for item in &items {
            push_frame(&mut body, item);
        }
        assert_eq!(
            body.len(),
            items.iter().map(|i| frame_len(i.len())).sum::<usize>()
        );
        for piece in [1, 3, 4, 999, 1000, 1001, body.len()] {
            assert_eq!(read_all(&body, piece).unwrap(), items, "pieces of {piece}");
        }
    }

    #[test]
    fn hostile_bodies_are_refused_with_what_is_wrong() {
        let mut too_large = Vec::new();
        too_large.extend_from_slice(&((MEMORY_UPLOAD_LIMIT as u32) + 1).to_be_bytes());
        assert_eq!(
            read_all(&too_large, 64),
            Err(FrameError::ItemTooLarge {
                index: 0,
                len: MEMORY_UPLOAD_LIMIT + 1
            })
        );
        let mut cut = Vec::new();
        push_frame(&mut cut, b"whole");
        push_frame(&mut cut, b"cut short");
        cut.truncate(cut.len() - 3);
        assert_eq!(read_all(&cut, 7), Err(FrameError::Truncated(1)));
        assert_eq!(read_all(&[0, 0], 7), Err(FrameError::Truncated(0)));
        assert_eq!(read_all(&[0, 0, 0, 0], 7), Err(FrameError::EmptyItem(0)));
        let mut many = Vec::new();
        for _ in 0..=MAX_ITEMS {
            push_frame(&mut many, b"x");
        }
        assert_eq!(read_all(&many, 100), Err(FrameError::TooManyItems));
    }

    #[test]
    fn an_item_without_room_stops_the_reading_before_it_is_held() {
        let mut body = Vec::new();
        push_frame(&mut body, &[1; 100]);
        push_frame(&mut body, &[2; 200]);
        let mut reader = FrameReader::default();
        let mut items = Vec::new();
        let mut asked = Vec::new();
        let went_on = reader
            .feed(
                &body,
                &mut |len| {
                    asked.push(len);
                    len < 150
                },
                &mut |item| items.push(item),
            )
            .unwrap();
        assert!(!went_on);
        assert_eq!(asked, vec![100, 200]);
        assert_eq!(items, vec![vec![1; 100]]);
    }
}
