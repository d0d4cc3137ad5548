//! IDs and cursors: how the emulator spells the opaque strings it hands out.
//!
//! - Group IDs are URL-safe base64 (no padding) of
//!   `capi_group:<display phone number>:<120363000000000000 + group number>`,
//!   which looks like the real ones and passes [`GroupId`] validation
//!   (`A-Z a-z 0-9 - _` only).
//! - Join request IDs are standard base64 of
//!   `<16460000000000 + sequence>:<120363000000000000 + group number>`, like
//!   the real `MTY0NjcwNDM1OTU6MTIwMzYzNDA0Njk0MjMzODIw`. The sequence is
//!   global, so IDs never repeat within one emulator; decoding an ID gives
//!   its group and sequence back, so approve and reject need no extra index.
//! - Cursors are URL-safe base64 of `<group number>.<sequence>.<issued at,
//!   ms>.<check>`, where `check` is a keyed hash with a per-emulator random
//!   key: a cursor from another emulator, another group, or edited by hand is
//!   refused with code 100.
//!
//! [`GroupId`]: wa_groups_protocol::GroupId

use std::hash::{DefaultHasher, Hash, Hasher};

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Offset that makes group numbers look like Meta's `120363…` group JIDs.
pub(crate) const GROUP_BASE: u64 = 120_363_000_000_000_000;
/// Offset that makes sequences look like phone numbers.
pub(crate) const SEQ_BASE: u64 = 16_460_000_000_000;

fn encode(input: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

fn decode(input: &str, alphabet: &[u8; 64]) -> Option<Vec<u8>> {
    let input = input.trim_end_matches('=');
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in input.bytes() {
        let v = alphabet.iter().position(|&a| a == c)?;
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The group ID of group number `num`.
pub(crate) fn group_id(display_phone_number: &str, num: u64) -> String {
    encode(
        format!("capi_group:{display_phone_number}:{}", GROUP_BASE + num).as_bytes(),
        URL,
        false,
    )
}

/// The join request ID of sequence `seq` in group number `group_num`.
pub(crate) fn join_request_id(group_num: u64, seq: u64) -> String {
    encode(
        format!("{}:{}", SEQ_BASE + seq, GROUP_BASE + group_num).as_bytes(),
        STD,
        true,
    )
}

/// `(group number, sequence)` of a join request ID this emulator made.
pub(crate) fn parse_join_request_id(id: &str) -> Option<(u64, u64)> {
    let raw = decode(id, STD)?;
    let text = std::str::from_utf8(&raw).ok()?;
    let (seq, group) = text.split_once(':')?;
    let seq = seq.parse::<u64>().ok()?.checked_sub(SEQ_BASE)?;
    let group = group.parse::<u64>().ok()?.checked_sub(GROUP_BASE)?;
    Some((group, seq))
}

/// What a cursor says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CursorData {
    pub(crate) group_num: u64,
    pub(crate) seq: u64,
    pub(crate) issued_ms: i64,
}

fn check(key: u64, d: &CursorData) -> u64 {
    let mut h = DefaultHasher::new();
    (key, d.group_num, d.seq, d.issued_ms).hash(&mut h);
    h.finish()
}

pub(crate) fn encode_cursor(key: u64, d: CursorData) -> String {
    let text = format!(
        "{}.{}.{}.{:016x}",
        d.group_num,
        d.seq,
        d.issued_ms,
        check(key, &d)
    );
    encode(text.as_bytes(), URL, false)
}

pub(crate) fn decode_cursor(key: u64, cursor: &str) -> Option<CursorData> {
    let raw = decode(cursor, URL)?;
    let text = std::str::from_utf8(&raw).ok()?;
    let mut parts = text.split('.');
    let d = CursorData {
        group_num: parts.next()?.parse().ok()?,
        seq: parts.next()?.parse().ok()?,
        issued_ms: parts.next()?.parse().ok()?,
    };
    let sum = u64::from_str_radix(parts.next()?, 16).ok()?;
    (parts.next().is_none() && sum == check(key, &d)).then_some(d)
}

/// A random string of `len` letters and digits (request and trace IDs).
pub(crate) fn random_token(len: usize) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| char::from(ALNUM[fastrand::usize(..ALNUM.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for s in ["", "a", "ab", "abc", "abcd", "capi_group:1:2"] {
            assert_eq!(
                decode(&encode(s.as_bytes(), STD, true), STD).unwrap(),
                s.as_bytes()
            );
            assert_eq!(
                decode(&encode(s.as_bytes(), URL, false), URL).unwrap(),
                s.as_bytes()
            );
        }
        assert_eq!(
            encode(b"16467043595:120363404694233820", STD, true),
            "MTY0NjcwNDM1OTU6MTIwMzYzNDA0Njk0MjMzODIw"
        );
    }

    #[test]
    fn ids_are_valid_and_decode() {
        let g = group_id("15550001234", 7);
        wa_groups_protocol::GroupId::new(&g).unwrap();
        assert!(g.starts_with("Y2FwaV9ncm91cDo"), "{g}");
        let j = join_request_id(7, 42);
        wa_groups_protocol::JoinRequestId::new(&j).unwrap();
        assert_eq!(parse_join_request_id(&j), Some((7, 42)));
        assert_eq!(parse_join_request_id("not base64!"), None);
    }

    #[test]
    fn cursors_check_their_key() {
        let d = CursorData {
            group_num: 3,
            seq: 9,
            issued_ms: 1_700_000_000_000,
        };
        let c = encode_cursor(11, d);
        wa_groups_protocol::Cursor::new(&c).unwrap();
        assert_eq!(decode_cursor(11, &c), Some(d));
        assert_eq!(decode_cursor(12, &c), None);
        assert_eq!(decode_cursor(11, "garbage"), None);
    }
}
