//! Merkle tree hashing and inclusion proofs in the RFC 6962 / RFC 9162
//! form (the one Certificate Transparency, the Go checksum database and
//! C2SP tlogs use): a leaf hashes as SHA-256(0x00 || data), a node as
//! SHA-256(0x01 || left || right), and a tree of n leaves splits at the
//! largest power of two below n. Anyone can check a proof with their own
//! implementation, e.g. Go's `golang.org/x/mod/sumdb/tlog`.

use ring::digest::{Context, SHA256};

/// A SHA-256 hash of a leaf or node.
pub type Hash = [u8; 32];

/// The hash of a leaf holding `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    ctx.update(&[0x00]);
    ctx.update(data);
    finish(ctx)
}

/// The hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut ctx = Context::new(&SHA256);
    ctx.update(&[0x01]);
    ctx.update(left);
    ctx.update(right);
    finish(ctx)
}

fn finish(ctx: Context) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The largest power of two smaller than `n` (n ≥ 2): where a tree splits.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The root of the tree over `leaves` (leaf hashes, in order). `None` for
/// an empty tree: a batch always holds at least one record.
pub fn root(leaves: &[Hash]) -> Option<Hash> {
    match leaves.len() {
        0 => None,
        1 => Some(leaves[0]),
        n => {
            let k = split(n);
            let left = root(&leaves[..k])?;
            let right = root(&leaves[k..])?;
            Some(node_hash(&left, &right))
        }
    }
}

/// The inclusion proof of leaf `index` in the tree over `leaves`: the
/// sibling hashes from the leaf up (RFC 9162 §2.1.3.1). `None` when the
/// index is outside the tree.
pub fn inclusion_proof(index: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    let mut span = leaves;
    let mut at = index;
    // Walk down from the root, then give the siblings leaf-first.
    let mut siblings = Vec::new();
    while span.len() > 1 {
        let k = split(span.len());
        if at < k {
            siblings.push(root(&span[k..])?);
            span = &span[..k];
        } else {
            siblings.push(root(&span[..k])?);
            span = &span[k..];
            at -= k;
        }
    }
    while let Some(h) = siblings.pop() {
        path.push(h);
    }
    Some(path)
}

/// Whether `proof` shows leaf hash `leaf` at `index` in a tree of `size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("record {i}\n").as_bytes()))
            .collect()
    }

    #[test]
    fn every_leaf_of_every_small_tree_proves_and_nothing_else_does() {
        for n in 1..=33 {
            let all = leaves(n);
            let top = root(&all).unwrap();
            for i in 0..n {
                let proof = inclusion_proof(i, &all).unwrap();
                assert!(
                    verify_inclusion(i as u64, n as u64, &all[i], &proof, &top),
                    "{i} of {n}"
                );
                // Another leaf, index, size or root does not pass.
                let other = leaf_hash(b"not in the tree");
                assert!(!verify_inclusion(i as u64, n as u64, &other, &proof, &top));
                if n > 1 {
                    let j = (i + 1) % n;
                    assert!(!verify_inclusion(j as u64, n as u64, &all[i], &proof, &top));
                }
                // (The size is not bound by the proof alone: it comes,
                // with the root, from the timestamped statement.)
                assert!(!verify_inclusion(
                    i as u64, n as u64, &all[i], &proof, &other
                ));
            }
            assert!(inclusion_proof(n, &all).is_none());
        }
        assert!(root(&[]).is_none());
    }

    /// RFC 6962's own shape: the root of two leaves is the node of both,
    /// of three is node(node(a, b), c).
    #[test]
    fn roots_follow_rfc_6962() {
        let l = leaves(3);
        assert_eq!(root(&l[..2]), Some(node_hash(&l[0], &l[1])));
        assert_eq!(root(&l), Some(node_hash(&node_hash(&l[0], &l[1]), &l[2])));
        // SHA-256 of 0x00 || "" (the empty leaf), as RFC 6962 test vectors give it.
        let empty = leaf_hash(b"");
        assert_eq!(
            empty.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }
}
