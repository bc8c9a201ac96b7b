//! The audit log as a Merkle transparency log (RFC 9162 trees, C2SP checkpoints).
//!
//! Leaf `i` (from 0) is audit entry `i + 1`; its bytes are the entry's canonical bytes,
//! [`AuditEntry::leaf_bytes`]: the RFC 8785 JSON of every field but `hash` (the bytes whose
//! SHA-256 is the entry's `hash` in the chain). A tree of size `n` covers entries 1 to `n`.
//!
//! The stores keep each entry's leaf hash (`log_leaves`, written with the entry); a server
//! holds the tree in memory ([`crate::merkle::Tree`]) and reads only leaves added since
//! ([`extend_tree`]), so a proof or a checkpoint costs one small query and `O(log^2 n)`
//! hashing. `exoskin registry verify-log` recomputes every leaf from its entry instead.
use crate::error::{RegistryError, Result};
use crate::merkle::{self, Hash, Tree};
use crate::store::{AuditEntry, Store};
use crate::tlog::b64_encode;
use serde_json::{json, Value};

/// Leaf hashes read per query.
const PAGE: i64 = 5000;

fn hash_from_hex(h: &str, seq: i64) -> Result<Hash> {
    crate::server::parse_hex32(h).ok_or_else(|| RegistryError::Tampered {
        table: "log_leaves",
        key: seq.to_string(),
        problem: "is not a 64-hex-digit hash".into(),
    })
}

/// Bring `tree` up to the end of the log: the cached leaf hashes after its size, then the
/// leaves of any entries written without one (hashed from the entries).
pub fn extend_tree(store: &dyn Store, tree: &mut Tree) -> Result<()> {
    loop {
        let page = store.leaf_hashes(tree.size() as i64, PAGE)?;
        for (seq, h) in &page {
            if *seq as u64 != tree.size() + 1 {
                return Err(RegistryError::Tampered {
                    table: "log_leaves",
                    key: (tree.size() + 1).to_string(),
                    problem: format!("is missing (the next cached leaf is entry {seq}'s)"),
                });
            }
            tree.push(hash_from_hex(h, *seq)?);
        }
        if (page.len() as i64) < PAGE {
            break;
        }
    }
    loop {
        let entries = store.audit(tree.size() as i64, 1000)?;
        if entries.is_empty() {
            return Ok(());
        }
        for e in &entries {
            if e.seq as u64 != tree.size() + 1 {
                return Err(RegistryError::AuditChain {
                    seq: e.seq,
                    problem: format!("follows entry {}: entries are missing", tree.size()),
                });
            }
            tree.push(e.leaf_hash());
        }
    }
}

/// The tree of the whole log, from the cached leaf hashes.
pub fn load_tree(store: &dyn Store) -> Result<Tree> {
    let mut t = Tree::new();
    extend_tree(store, &mut t)?;
    Ok(t)
}

/// The audit entry that is leaf `index`.
pub fn entry_at(store: &dyn Store, index: u64) -> Result<Option<AuditEntry>> {
    Ok(store
        .audit(index as i64, 1)?
        .into_iter()
        .next()
        .filter(|e| e.seq as u64 == index + 1))
}

fn b64s(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| b64_encode(h)).collect()
}

/// An inclusion proof as JSON (hashes in base64): `index`, `size`, `root`, `leafHash`,
/// `proof` (from the leaf's sibling up) and the `entry` itself.
pub fn inclusion_json(tree: &Tree, index: u64, size: u64, entry: &AuditEntry) -> Result<Value> {
    let proof = tree
        .inclusion_proof(index, size)
        .map_err(|e| RegistryError::invalid(e.to_string()))?;
    let root = tree
        .root(size)
        .map_err(|e| RegistryError::invalid(e.to_string()))?;
    let leaf = tree.leaf(index).expect("index < size <= tree size");
    if leaf != entry.leaf_hash() {
        return Err(RegistryError::Tampered {
            table: "log_leaves",
            key: entry.seq.to_string(),
            problem: format!("is not the leaf hash of audit entry {}", entry.seq),
        });
    }
    Ok(json!({
        "index": index,
        "size": size,
        "root": b64_encode(&root),
        "leafHash": b64_encode(&leaf),
        "proof": b64s(&proof),
        "entry": entry,
    }))
}

/// A consistency proof as JSON: `oldSize`, `size`, `oldRoot`, `root`, `proof`.
pub fn consistency_json(tree: &Tree, old: u64, size: u64) -> Result<Value> {
    let proof = tree
        .consistency_proof(old, size)
        .map_err(|e| RegistryError::invalid(e.to_string()))?;
    let r = |n| {
        tree.root(n)
            .map_err(|e| RegistryError::invalid(e.to_string()))
    };
    Ok(json!({
        "oldSize": old,
        "size": size,
        "oldRoot": b64_encode(&r(old)?),
        "root": b64_encode(&r(size)?),
        "proof": b64s(&proof),
    }))
}

/// The default origin of a registry listening on `addr`: `<addr>/exoskin-registry`. Give
/// `--log-origin` in production: the origin names the log in every checkpoint and in the
/// verifier key, so it must not change when the listen address does.
pub fn default_origin(addr: &std::net::SocketAddr) -> String {
    format!("{addr}/exoskin-registry")
}

/// What [`check_against_checkpoint`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointMatch {
    pub size: u64,
    pub root: Hash,
    pub current_size: u64,
    pub current_root: Hash,
    /// Hashes in the consistency proof from the checkpoint's tree to the current one.
    pub proof_len: usize,
}

/// Check a log's tree against a signed checkpoint (whose signature the caller checked):
/// the tree holds the checkpoint's size, its root at that size is the checkpoint's, and a
/// consistency proof from there to the whole tree verifies.
pub fn check_against_checkpoint(
    tree: &Tree,
    cp: &crate::tlog::Checkpoint,
) -> Result<CheckpointMatch> {
    let bad = |problem: String| RegistryError::AuditChain {
        seq: cp.size as i64,
        problem,
    };
    if cp.size > tree.size() {
        return Err(bad(format!(
            "is missing: the signed Merkle checkpoint covers {} entries, the log has {}: entries were removed",
            cp.size,
            tree.size()
        )));
    }
    let root = tree.root(cp.size).expect("size checked");
    if root != cp.root {
        return Err(bad(format!(
            "ends a tree whose root is {}, but the signed Merkle checkpoint says {} for size {}: entries up to {} were rewritten",
            b64_encode(&root),
            b64_encode(&cp.root),
            cp.size,
            cp.size
        )));
    }
    let current_size = tree.size();
    let current_root = tree.root(current_size).expect("own size");
    let proof = tree
        .consistency_proof(cp.size, current_size)
        .expect("sizes checked");
    merkle::verify_consistency(cp.size, current_size, &cp.root, &current_root, &proof)
        .map_err(|e| bad(format!("has a log not consistent with the checkpoint: {e}")))?;
    Ok(CheckpointMatch {
        size: cp.size,
        root,
        current_size,
        current_root,
        proof_len: proof.len(),
    })
}
