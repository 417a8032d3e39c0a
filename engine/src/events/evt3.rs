//! Prophesee EVT 3.0 `.raw`: `%` header lines, then little-endian u16 words,
//! type in the top 4 bits, decoded with a small state (y, base x, polarity, time):
//!
//! | type | word | effect |
//! |---|---|---|
//! | 0x0 EVT_ADDR_Y | `y = w[10:0]` | |
//! | 0x2 EVT_ADDR_X | `p = w[11], x = w[10:0]` | one event (x, y, p, t) |
//! | 0x3 VECT_BASE_X | `p = w[11], base = w[10:0]` | |
//! | 0x4 VECT_12 | `mask = w[11:0]` | events at base + i for set bits i (LSB first); base += 12 |
//! | 0x5 VECT_8 | `mask = w[7:0]` | same, 8 bits; base += 8 |
//! | 0x6 EVT_TIME_LOW | `time_low = w[11:0]` | |
//! | 0x8 EVT_TIME_HIGH | `time_high = w[11:0]` | |
//! | 0x7, 0xA, 0xE, 0xF | continued / trigger / others | no CD event |
//!
//! Time, **our definition**, that of expelliarmus (whose decoding of the sample
//! recording is the reference we are held to): a TIME_LOW below the previous one
//! counts as a wrap of the low 12 bits, a TIME_HIGH below the previous one as a
//! wrap of the 24-bit clock, and
//! `t = high_wraps·2^24 + (time_high + low_wraps)·2^12 + time_low`.
//! An EVT_ADDR_X also sets the polarity later vectors use. Undefined types are errors.
//!
//! Whole files decode on every core ([`Chunked`]): a chunk's effect on the
//! state is summarised without knowing the state (the last y, polarity and base
//! x it sets, the steps vectors add to the base after that, and per clock word
//! its first and last value and the wraps between them), so the states at every
//! chunk's start chain in file order before the chunks decode at once.

use super::file_frames::{chunked_frames, FramesError, Plan, Source};
use super::header::{marked_lines_len, prophesee_header_text, prophesee_sensor};
use super::parallel::{decode_records, on_every_core, Chunked};
use super::{BodyDecoder, DecodeError, Events, HeaderParse};

pub fn parse_header(data: &[u8], at_end: bool) -> Result<HeaderParse, DecodeError> {
    let Some(len) = marked_lines_len(data, b'%', at_end) else {
        return Ok(HeaderParse::NeedMore);
    };
    Ok(HeaderParse::Done {
        len,
        body: Box::<Body>::default(),
        sensor: prophesee_sensor(&prophesee_header_text(&data[..len])),
    })
}

/// Word types that are defined: all but 0x1, 0x9, 0xB, 0xC and 0xD.
const DEFINED: u16 = !((1 << 0x1) | (1 << 0x9) | (1 << 0xB) | (1 << 0xC) | (1 << 0xD));

/// Words counted in narrow integers at a time (a u16 count of them cannot overflow).
const RUN_WORDS: usize = 4096;

fn undefined(kind: u16, offset: u64) -> DecodeError {
    DecodeError::new(offset, format!("EVT 3.0 word of undefined type {kind:#x}"))
}

#[inline(always)]
fn word(r: &[u8]) -> u16 {
    u16::from_le_bytes([r[0], r[1]])
}

/// The decoder's state between words.
#[derive(Default, Clone, Copy, Debug, PartialEq)]
struct Registers {
    y: i16,
    base_x: i32,
    polarity: u8,
    time_low: i64,
    time_high: i64,
    low_wraps: i64,
    high_wraps: i64,
}

impl Registers {
    #[inline(always)]
    fn t(&self) -> i64 {
        (self.high_wraps << 24) + ((self.time_high + self.low_wraps) << 12) + self.time_low
    }
}

/// A clock word's values within a chunk: the first, the last and how often one
/// fell below the one before it.
#[derive(Default, Clone, Copy, Debug)]
struct Clock {
    first: Option<i64>,
    last: i64,
    wraps: i64,
}

impl Clock {
    /// The value and wrap count after this chunk, from `value` and `wraps` before it.
    fn chain(&self, value: i64, wraps: i64) -> (i64, i64) {
        match self.first {
            Some(first) => (self.last, wraps + (first < value) as i64 + self.wraps),
            None => (value, wraps),
        }
    }
}

/// What a chunk does to the [`Registers`], whatever they were at its start.
#[derive(Default, Clone, Copy, Debug)]
struct Effect {
    y: Option<i16>,
    polarity: Option<u8>,
    /// The last base x the chunk sets ...
    base: Option<i32>,
    /// ... and what vectors add to the base after it (after the chunk's start if none).
    base_steps: i32,
    time_low: Clock,
    time_high: Clock,
}

/// What a pass over a chunk's words finds without any state.
#[derive(Default)]
struct Census {
    events: usize,
    /// Bit k set: a word of type k is present.
    kinds: u16,
    /// VECT_12 and VECT_8 words.
    vectors: (u32, u32),
}

impl Census {
    fn has(&self, kind: u16) -> bool {
        (self.kinds >> kind) & 1 == 1
    }
}

/// The CD events, the word types present and the vector words of `chunk`.
/// Counted per run of words in narrow integers (popcount by nibble sums), with
/// no branch, so that the compiler uses vector instructions.
#[inline(always)]
fn census(chunk: &[u8]) -> Census {
    let mut c = Census::default();
    for run in chunk.chunks(2 * RUN_WORDS) {
        let (mut n, mut kinds, mut v12, mut v8) = (0u32, 0u16, 0u16, 0u16);
        for w in run.chunks_exact(2).map(word) {
            let kind = w >> 12;
            kinds |= 1 << kind;
            let (is12, is8) = (kind == 0x4, kind == 0x5);
            let mask: u16 = if is12 {
                0xFFF
            } else if is8 {
                0xFF
            } else {
                0
            };
            let m = w & mask;
            let m = m - ((m >> 1) & 0x5555);
            let m = (m & 0x3333) + ((m >> 2) & 0x3333);
            let m = (m + (m >> 4)) & 0x0F0F;
            let bits = (m + (m >> 8)) & 0x1F;
            n += (kind == 0x2) as u32 + bits as u32;
            v12 += is12 as u16;
            v8 += is8 as u16;
        }
        c.events += n as usize;
        c.kinds |= kinds;
        // wrapping: only the steps they make, modulo 2^32 like the base, matter
        c.vectors.0 = c.vectors.0.wrapping_add(v12 as u32);
        c.vectors.1 = c.vectors.1.wrapping_add(v8 as u32);
    }
    c
}

/// The parallel decoding.
struct Words;

impl Chunked for Words {
    type State = Registers;
    type Summary = Effect;

    fn unit(&self) -> usize {
        2
    }

    /// Counts a chunk's CD events and summarises its effect: a [`census`] of the
    /// words (events, types present, vectors), then the clock wraps in a second
    /// branch-free pass (each clock's previous value is a select); the last y,
    /// polarity and base are found from the end and the clocks' first values from
    /// the start, where they are usually near, and only when the census saw them.
    /// A bad word is searched for only when there is one.
    fn scan(&self, chunk: &[u8], at: u64) -> Result<(usize, Effect), DecodeError> {
        let words = || chunk.chunks_exact(2).map(word);
        let census = with_cpu_features!(census(chunk));
        if census.kinds & !DEFINED != 0 {
            for (i, w) in words().enumerate() {
                let kind = w >> 12;
                if (DEFINED >> kind) & 1 == 0 {
                    return Err(undefined(kind, at + 2 * i as u64));
                }
            }
        }
        // clocks: the first of each is found from the start; after it each
        // clock's previous value is a select
        let first_of = |kind: u16| {
            census
                .has(kind)
                .then(|| words().find(|w| w >> 12 == kind).map(|w| w & 0xFFF))
                .flatten()
        };
        let (first_low, first_high) = (first_of(0x6), first_of(0x8));
        let (mut low, mut high) = (first_low.unwrap_or(0), first_high.unwrap_or(0));
        let (mut low_wraps, mut high_wraps) = (0i64, 0i64);
        let clocks = chunk.chunks(2 * RUN_WORDS);
        for run in clocks.filter(|_| first_low.is_some() || first_high.is_some()) {
            let (mut lw, mut hw) = (0u16, 0u16);
            for w in run.chunks_exact(2).map(word) {
                let (kind, v) = (w >> 12, w & 0xFFF);
                let (is_low, is_high) = (kind == 0x6, kind == 0x8);
                lw += (is_low & (v < low)) as u16;
                low = if is_low { v } else { low };
                hw += (is_high & (v < high)) as u16;
                high = if is_high { v } else { high };
            }
            low_wraps += lw as i64;
            high_wraps += hw as i64;
        }
        let last_of = |kinds: &[u16]| {
            let present = kinds.iter().any(|&k| census.has(k));
            present
                .then(|| words().rev().find(|w| kinds.contains(&(w >> 12))))
                .flatten()
        };
        // the vectors after the last base word (or in the whole chunk) step the base
        let steps =
            |v12: u32, v8: u32| (v12.wrapping_mul(12)).wrapping_add(v8.wrapping_mul(8)) as i32;
        let (base, base_steps) = match last_of(&[0x3]) {
            None => (None, steps(census.vectors.0, census.vectors.1)),
            Some(_) => {
                let n = chunk.len() / 2;
                let after = n - words().rev().position(|w| w >> 12 == 0x3).unwrap_or(n);
                let base = (word(&chunk[2 * (after - 1)..]) & 0x7FF) as i32;
                let tail = words().skip(after);
                let (v12, v8) = tail.fold((0u32, 0u32), |(a, b), w| {
                    let kind = w >> 12;
                    (
                        a.wrapping_add((kind == 0x4) as u32),
                        b.wrapping_add((kind == 0x5) as u32),
                    )
                });
                (Some(base), steps(v12, v8))
            }
        };
        let clock = |first: Option<u16>, last: u16, wraps: i64| Clock {
            first: first.map(i64::from),
            last: last as i64,
            wraps,
        };
        Ok((
            census.events,
            Effect {
                y: last_of(&[0x0]).map(|w| (w & 0x7FF) as i16),
                polarity: last_of(&[0x2, 0x3]).map(|w| ((w >> 11) & 1) as u8),
                base,
                base_steps,
                time_low: clock(first_low, low, low_wraps),
                time_high: clock(first_high, high, high_wraps),
            },
        ))
    }

    fn chain(&self, s: Registers, e: &Effect) -> Registers {
        let (time_low, low_wraps) = e.time_low.chain(s.time_low, s.low_wraps);
        let (time_high, high_wraps) = e.time_high.chain(s.time_high, s.high_wraps);
        Registers {
            y: e.y.unwrap_or(s.y),
            polarity: e.polarity.unwrap_or(s.polarity),
            base_x: e.base.unwrap_or(s.base_x).wrapping_add(e.base_steps),
            time_low,
            time_high,
            low_wraps,
            high_wraps,
        }
    }

    #[inline(always)]
    fn visit<F: FnMut(i64, i16, i16, u8) -> bool>(
        &self,
        chunk: &[u8],
        mut state: Registers,
        event: F,
    ) {
        run(chunk, &mut state, event);
    }
}

/// Decodes the words of `chunk` (of defined types) from state `s`, calling
/// `event(t, x, y, p)` for each event until it returns false (then false, with
/// `s` left partway). Events are decoded into a small buffer first, branch-free
/// except for vectors (word types interleave unpredictably, so a branch per type
/// mispredicts often), then handed to `event`.
#[inline(always)]
fn run<F: FnMut(i64, i16, i16, u8) -> bool>(chunk: &[u8], s: &mut Registers, mut event: F) -> bool {
    const BATCH: usize = 512;
    let mut buf = [(0i64, 0i16, 0i16, 0u8); BATCH + 12];
    let mut n = 0usize;
    for r in chunk.chunks_exact(2) {
        let w = word(r);
        let kind = w >> 12;
        let low = (w & 0x7FF) as i16;
        let v = (w & 0xFFF) as i64;
        s.y = if kind == 0x0 { low } else { s.y };
        let sets_polarity = kind == 0x2 || kind == 0x3;
        s.polarity = if sets_polarity {
            ((w >> 11) & 1) as u8
        } else {
            s.polarity
        };
        s.base_x = if kind == 0x3 { low as i32 } else { s.base_x };
        let (is_low, is_high) = (kind == 0x6, kind == 0x8);
        s.low_wraps += (is_low & (v < s.time_low)) as i64;
        s.time_low = if is_low { v } else { s.time_low };
        s.high_wraps += (is_high & (v < s.time_high)) as i64;
        s.time_high = if is_high { v } else { s.time_high };
        let t = s.t();
        // written always, kept when the word is an event (n moves past it)
        buf[n] = (t, low, s.y, s.polarity);
        n += (kind == 0x2) as usize;
        if kind == 0x4 || kind == 0x5 {
            let (mut mask, bits) = if kind == 0x4 {
                (w & 0xFFF, 12)
            } else {
                (w & 0xFF, 8)
            };
            while mask != 0 {
                let i = mask.trailing_zeros() as i32;
                buf[n] = (t, s.base_x.wrapping_add(i) as i16, s.y, s.polarity);
                n += 1;
                mask &= mask - 1;
            }
            // Wrapping: a hostile run of vectors may push x past 16 bits; values then wrap, never panic.
            s.base_x = s.base_x.wrapping_add(bits);
        }
        if n >= BATCH {
            for &(t, x, y, p) in &buf[..n] {
                if !event(t, x, y, p) {
                    return false;
                }
            }
            n = 0;
        }
    }
    for &(t, x, y, p) in &buf[..n] {
        if !event(t, x, y, p) {
            return false;
        }
    }
    true
}

#[derive(Default)]
struct Body {
    state: Registers,
}

impl BodyDecoder for Body {
    on_every_core!(Words, state);

    fn decode(&mut self, data: &[u8], at: u64, out: &mut Events) -> Result<usize, DecodeError> {
        let whole = data.len() / 2 * 2;
        out.reserve(whole / 4); // about one event per two words
                                // the words before the first of an undefined type decode; that one is the error
        let bad = data[..whole]
            .chunks_exact(2)
            .position(|r| (DEFINED >> (word(r) >> 12)) & 1 == 0);
        let valid = bad.map_or(whole, |i| 2 * i);
        run(&data[..valid], &mut self.state, |t, x, y, p| {
            out.push(t, x, y, p);
            true
        });
        match bad {
            Some(i) => Err(undefined(word(&data[2 * i..]) >> 12, at + 2 * i as u64)),
            None => Ok(whole),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode_all, Format};

    fn file(words: &[u16]) -> Vec<u8> {
        let mut f = b"% evt 3.0\n".to_vec();
        for w in words {
            f.extend_from_slice(&w.to_le_bytes());
        }
        f
    }

    #[test]
    fn words_decode_with_vectors_and_wraps() {
        let words = [
            0x8000 | 0xFFF,       // time high 4095
            0x6000 | 7,           // time low 7
            33,                   // y 33 (word type 0x0)
            0x2000 | 0x800 | 100, // event x 100, p 1
            0x3000 | 10,          // base x 10, p 0
            0x4000 | 0b101,       // x 10 and 12
            0x5000 | 0b1,         // x 22
            0x8000 | 1,           // time high wrapped
        ];
        let (e, _) = decode_all(Format::Evt3, &file(&words)).unwrap();
        let t = (4095 << 12) | 7;
        assert_eq!(e.len(), 4);
        assert_eq!(e.get(0), (t, 100, 33, 1));
        assert_eq!(e.get(1), (t, 10, 33, 0));
        assert_eq!(e.get(2), (t, 12, 33, 0));
        assert_eq!(e.get(3), (t, 22, 33, 0));
        let (e, _) =
            decode_all(Format::Evt3, &file(&[0x8000 | 5, 0x8000 | 1, 0x2000 | 3])).unwrap();
        assert_eq!(e.get(0).0, (1 << 24) + (1 << 12));
        let (e, _) =
            decode_all(Format::Evt3, &file(&[0x6000 | 9, 0x6000 | 4, 0x2000 | 3])).unwrap();
        assert_eq!(e.get(0).0, (1 << 12) + 4);
        let err = decode_all(Format::Evt3, &file(&[0x0000, 0x9000])).unwrap_err();
        assert_eq!(err.offset, 12);
    }

    /// Every way of cutting a word stream into chunks decodes as one sequential
    /// pass does: the same events, counts and final state (scan, chain, visit).
    #[test]
    fn chunks_chain_to_the_sequential_decoding() {
        use super::super::parallel::Chunked;
        use super::{Body, Registers, Words};
        let kinds = [
            0x0u16, 0x2, 0x3, 0x4, 0x5, 0x6, 0x6, 0x8, 0x7, 0xA, 0xE, 0xF,
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for trial in 0..40 {
            let n = 1 + (next() % 90) as usize;
            let words: Vec<u16> = (0..n)
                .map(|_| {
                    let r = next();
                    let kind = kinds[(r % kinds.len() as u64) as usize];
                    // small clock values so that they often fall (wraps)
                    let payload = if trial % 2 == 0 {
                        (r >> 8) as u16 & 0xFFF
                    } else {
                        (r >> 8) as u16 & 7
                    };
                    (kind << 12) | payload
                })
                .collect();
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let start = Registers {
                y: 3,
                base_x: 40,
                polarity: 1,
                time_low: 5,
                time_high: 6,
                low_wraps: 2,
                high_wraps: 1,
            };
            let mut body = Body { state: start };
            let mut expected = super::super::Events::default();
            super::super::BodyDecoder::decode(&mut body, &bytes, 0, &mut expected).unwrap();
            for cut in 0..=n {
                for cut2 in [cut, (cut + n) / 2, n] {
                    let pieces = [
                        &bytes[..2 * cut],
                        &bytes[2 * cut..2 * cut2],
                        &bytes[2 * cut2..],
                    ];
                    let mut state = start;
                    let mut got = super::super::Events::default();
                    let mut count = 0;
                    for piece in pieces {
                        let (events, effect) = Words.scan(piece, 0).unwrap();
                        count += events;
                        Words.visit(piece, state, |t, x, y, p| {
                            got.push(t, x, y, p);
                            true
                        });
                        state = Words.chain(state, &effect);
                    }
                    assert_eq!(count, expected.len(), "trial {trial} cut {cut} {cut2}");
                    assert_eq!(got.bytes, expected.bytes, "trial {trial} cut {cut} {cut2}");
                    assert_eq!(state, body.state, "trial {trial} cut {cut} {cut2}");
                }
            }
        }
    }
}
