/// Everything that can go wrong while building, reading or verifying a `.cvd` envelope.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A metadata field is missing or does not satisfy Decree 30/2020 or QCVN 102:2016.
    #[error("metadata field `{field}`: {problem}")]
    InvalidMetadata {
        /// The JSON name of the field (e.g. `number`, `signer.full_name`).
        field: String,
        /// What is wrong and, where useful, what a valid value looks like.
        problem: String,
    },
}
