//! Spike-sparse synapses: the forward product and the weight gradient of a
//! 2-D convolution (Conv1d is a 1-row image, Linear a 1×1 image with a 1×1
//! kernel) evaluated over the nonzero inputs only.
//!
//! After a spiking neuron most inputs are exactly zero, so instead of the
//! dense product over every (input, tap) pair, each nonzero input `x[n,c,iy,ix]`
//! adds `x · W[:, c, kh, kw]` to every output position it reaches, and adds
//! `x · grad[n, :, oy, ox]` to the weight gradient of each tap that connects
//! them. It is the same sum as the dense convolution (docs/semantics.md#sparse-synapses),
//! in another order, so results equal the dense ones up to rounding (bit for
//! bit when every partial sum is exact, as with binary spikes and weights of
//! few bits).
//!
//! Layouts: `x` is `[N, C, H, W]` (what the layers hold); the output and the
//! incoming gradient are channels-last, `[N, OH, OW, O]`, so the `O` values an
//! input reaches at one position are contiguous and the inner loop is a
//! vectorised row update. Weights `[O, C/groups, KH, KW]` are transposed once
//! per call to `[C, U, O/groups]`, `U` the kernel taps some input reaches.

use crate::error::EngineError;
use crate::parallel;
use crate::pool::Scratch;
use crate::real::Real;

/// Everything but the data of one convolution (stride, padding and dilation
/// as `[rows, columns]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub groups: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
}

fn out_len(
    input: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
) -> Option<usize> {
    let span = dilation
        .checked_mul(kernel.checked_sub(1)?)?
        .checked_add(1)?;
    let padded = input.checked_add(padding.checked_mul(2)?)?;
    Some(padded.checked_sub(span)? / stride + 1)
}

impl ConvShape {
    /// Checks the geometry; returns `(out_h, out_w)`.
    pub fn validate(&self) -> Result<(usize, usize), EngineError> {
        let positive = [
            ("groups", self.groups),
            ("kernel_size", self.kernel_h.min(self.kernel_w)),
            ("stride", self.stride[0].min(self.stride[1])),
            ("dilation", self.dilation[0].min(self.dilation[1])),
        ];
        for (arg, v) in positive {
            if v == 0 {
                return Err(EngineError::param(arg, "expected positive values"));
            }
        }
        if self.in_channels % self.groups != 0 || self.out_channels % self.groups != 0 {
            return Err(EngineError::param(
                "groups",
                format!(
                    "in_channels ({}) and out_channels ({}) must be divisible by groups ({})",
                    self.in_channels, self.out_channels, self.groups
                ),
            ));
        }
        let rows = out_len(
            self.in_h,
            self.kernel_h,
            self.stride[0],
            self.padding[0],
            self.dilation[0],
        );
        let cols = out_len(
            self.in_w,
            self.kernel_w,
            self.stride[1],
            self.padding[1],
            self.dilation[1],
        );
        match (rows, cols) {
            (Some(h), Some(w)) => Ok((h, w)),
            _ => Err(EngineError::Shape {
                arg: "x",
                expected: format!(
                    "an input of at least the kernel's extent ({}x{} with dilation {:?}, padding {:?})",
                    self.kernel_h, self.kernel_w, self.dilation, self.padding
                ),
                got: format!("{}x{}", self.in_h, self.in_w),
            }),
        }
    }

    pub fn x_len(&self) -> usize {
        self.batch * self.in_channels * self.in_h * self.in_w
    }

    pub fn weight_len(&self) -> usize {
        self.out_channels * (self.in_channels / self.groups) * self.kernel_h * self.kernel_w
    }

    fn taps(&self) -> usize {
        self.kernel_h * self.kernel_w
    }

    /// Which inputs reach which taps and outputs, for an output of `oh × ow`.
    fn reach(&self, oh: usize, ow: usize) -> Reach {
        let [sh, sw] = self.stride;
        let [ph, pw] = self.padding;
        let [dh, dw] = self.dilation;
        let rows = reach_table(self.in_h, self.kernel_h, sh, ph, dh, oh);
        let cols = reach_table(self.in_w, self.kernel_w, sw, pw, dw, ow);
        let ((used_h, slot_h), (used_w, slot_w)) = (
            used_taps(&rows, self.kernel_h),
            used_taps(&cols, self.kernel_w),
        );
        let taps = used_h
            .iter()
            .flat_map(|&kh| used_w.iter().map(move |&kw| kh * self.kernel_w + kw))
            .collect();
        Reach {
            rows,
            cols,
            slot_h,
            slot_w,
            taps_w: used_w.len(),
            taps,
        }
    }
}

/// The reach tables of both axes (see [`reach_table`]) and the kernel taps
/// some input reaches (see [`used_taps`]).
struct Reach {
    rows: ReachTable,
    cols: ReachTable,
    /// Each tap's slot among the reached ones, per axis (`usize::MAX`: none).
    slot_h: Vec<usize>,
    slot_w: Vec<usize>,
    /// Reached taps along a row.
    taps_w: usize,
    /// The reached taps as indices `kh · KW + kw`, row by row.
    taps: Vec<usize>,
}

/// Per input coordinate of an axis, the (tap, output coordinate) pairs it feeds.
type ReachTable = Vec<Vec<(usize, usize)>>;

/// For one input coordinate along an axis: the (tap, output coordinate)
/// pairs it feeds, i.e. `out·stride + tap·dilation − padding = input`.
fn reached(
    input: usize,
    taps: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    outputs: usize,
) -> Vec<(usize, usize)> {
    (0..taps)
        .filter_map(|k| {
            let t = (input + padding).checked_sub(k * dilation)?;
            (t % stride == 0 && t / stride < outputs).then_some((k, t / stride))
        })
        .collect()
}

/// `reached` for every coordinate of an axis.
fn reach_table(
    len: usize,
    taps: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    outputs: usize,
) -> Vec<Vec<(usize, usize)>> {
    (0..len)
        .map(|i| reached(i, taps, stride, padding, dilation, outputs))
        .collect()
}

/// `acc += v · row`, written so it vectorises (no FMA: the same rounding on
/// every CPU).
#[inline(always)]
fn add_scaled<T: Real>(acc: &mut [T], row: &[T], v: T) {
    for (a, &w) in acc.iter_mut().zip(row) {
        *a = *a + v * w;
    }
}

/// The inverse of a reach table: for every output coordinate, the (tap slot,
/// input coordinate) pairs feeding it, taps numbered by `slot`.
fn feed_table(
    table: &[Vec<(usize, usize)>],
    slot: &[usize],
    outputs: usize,
) -> Vec<Vec<(usize, usize)>> {
    let mut feeds = vec![Vec::new(); outputs];
    for (input, pairs) in table.iter().enumerate() {
        for &(k, out) in pairs {
            feeds[out].push((slot[k], input));
        }
    }
    feeds
}

/// The kernel taps along one axis that some input reaches (with padding, a
/// 1×1 map reaches only the centre of a 3×3 kernel), and each tap's slot among
/// them (`usize::MAX` for the others).
fn used_taps(table: &[Vec<(usize, usize)>], taps: usize) -> (Vec<usize>, Vec<usize>) {
    let mut used = vec![false; taps];
    table.iter().flatten().for_each(|&(k, _)| used[k] = true);
    let list: Vec<usize> = (0..taps).filter(|&k| used[k]).collect();
    let mut slot = vec![usize::MAX; taps];
    list.iter().enumerate().for_each(|(i, &k)| slot[k] = i);
    (list, slot)
}

/// Weights `[O, C/g, KH, KW]` as `[C, U, O/g]`, `U` the taps any input reaches
/// (`taps`, as indices `kh·KW + kw`): the row an input channel and tap add to
/// the outputs of its group. Per group, a transpose done in tiles of
/// destination rows so reads and writes both stay in cache (a plain strided
/// transpose of a 9 MB weight costs more than the sparse product itself).
fn transpose_weight<T: Real>(
    s: &ConvShape,
    weight: &[T],
    taps: &[usize],
) -> Result<Scratch<T>, EngineError> {
    const TILE: usize = 32;
    let (opg, cpg, all) = (
        s.out_channels / s.groups,
        s.in_channels / s.groups,
        s.taps(),
    );
    let used = taps.len();
    let len = s.groups * cpg * used * opg;
    // From the pool: a fresh multi-megabyte buffer costs a page fault per 4 KiB.
    let mut scratch = Scratch::<T>::new(len).ok_or(EngineError::Memory {
        what: "the transposed weights",
        bytes: len.saturating_mul(std::mem::size_of::<T>()),
    })?;
    let out = scratch.as_mut_slice();
    if out.is_empty() {
        return Ok(scratch);
    }
    let tiles: Vec<_> = out
        .chunks_mut(cpg * used * opg)
        .zip(weight.chunks(opg * cpg * all))
        .flat_map(|(dst, src)| {
            dst.chunks_mut(TILE * opg)
                .enumerate()
                .map(move |(t, b)| (t, b, src))
        })
        .collect();
    parallel::for_each(tiles, |(tile, block, src)| {
        let height = block.len() / opg;
        // Where each destination row (channel · used + slot) reads within a
        // source row: worked out once per tile, not per element (a division
        // per element cost more than the copy).
        let mut at = [0usize; TILE];
        for (r, a) in at[..height].iter_mut().enumerate() {
            let row = tile * TILE + r;
            *a = (row / used) * all + taps[row % used];
        }
        for o in 0..opg {
            let from = &src[o * cpg * all..][..cpg * all];
            for (r, &a) in at[..height].iter().enumerate() {
                block[r * opg + o] = from[a];
            }
        }
    });
    Ok(scratch)
}

fn check_len(arg: &'static str, got: usize, expected: usize) -> Result<(), EngineError> {
    if got != expected {
        return Err(EngineError::Shape {
            arg,
            expected: format!("{expected} elements"),
            got: format!("{got}"),
        });
    }
    Ok(())
}

/// Forward: `out [N, OH, OW, O] = conv(x, weight) + bias`, summing over the
/// nonzero inputs only. Parallel over samples.
pub fn sparse_forward<T: Real>(
    s: &ConvShape,
    x: &[T],
    weight: &[T],
    bias: Option<&[T]>,
    out: &mut [T],
) -> Result<(), EngineError> {
    let (oh, ow) = s.validate()?;
    check_len("x", x.len(), s.x_len())?;
    check_len("weight", weight.len(), s.weight_len())?;
    if let Some(b) = bias {
        check_len("bias", b.len(), s.out_channels)?;
    }
    let o = s.out_channels;
    check_len("out", out.len(), s.batch * oh * ow * o)?;
    let reach = s.reach(oh, ow);
    let (rows, cols, taps) = (&reach.rows, &reach.cols, &reach.taps);
    let plane = s.in_h * s.in_w;
    let sample = s.in_channels * plane;
    // No tap reached (a stride that skips every input): the output is the bias.
    if sample == 0 || oh * ow * o == 0 || taps.is_empty() {
        for p in out.chunks_mut(o.max(1)) {
            match bias {
                Some(b) => p.copy_from_slice(b),
                None => p.fill(T::zero()),
            }
        }
        return Ok(());
    }
    let mut wt = transpose_weight(s, weight, taps)?;
    let wt = &*wt.as_mut_slice();
    let job = ForwardSample {
        s,
        wt,
        bias,
        feed_h: &feed_table(rows, &reach.slot_h, oh),
        feed_w: &feed_table(cols, &reach.slot_w, ow),
        taps_w: reach.taps_w,
        used: taps.len(),
        ow,
    };
    parallel::for_each(
        out.chunks_mut(oh * ow * o).zip(x.chunks(sample)).collect(),
        |(acc, xs)| {
            let active = Active::of(xs, plane, s.in_channels / s.groups);
            with_cpu_features!(forward_sample(&job, &active, acc))
        },
    );
    Ok(())
}

struct ForwardSample<'a, T> {
    s: &'a ConvShape,
    /// The weights `[C, used, O/g]`.
    wt: &'a [T],
    bias: Option<&'a [T]>,
    /// Per output row / column: (tap slot, input row / column).
    feed_h: &'a [Vec<(usize, usize)>],
    feed_w: &'a [Vec<(usize, usize)>],
    /// Reached taps along a row (a tap's slot is `slot_h · taps_w + slot_w`).
    taps_w: usize,
    used: usize,
    ow: usize,
}

/// One sample's nonzero inputs, grouped by (group, position) (compressed rows):
/// the channels and values at key `k = group · H·W + position` are
/// `channels[start[k]..start[k + 1]]`.
struct Active<T> {
    start: Vec<usize>,
    channels: Vec<usize>,
    values: Vec<T>,
    /// Every nonzero input is exactly 1 (spikes): rows are added, not scaled.
    binary: bool,
}

impl<T: Real> Active<T> {
    fn of(xs: &[T], plane: usize, per_group: usize) -> Self {
        if plane == 1 {
            return Self::of_points(xs, per_group);
        }
        let channels_total = xs.len() / plane.max(1);
        let groups = channels_total / per_group.max(1);
        let mut start = vec![0usize; groups * plane + 1];
        for (c, xc) in xs.chunks(plane).enumerate() {
            let base = (c / per_group) * plane;
            nonzero_positions(xc, |p, _| start[base + p + 1] += 1);
        }
        for k in 1..start.len() {
            start[k] += start[k - 1];
        }
        let nonzero = start[start.len() - 1];
        let (mut channels, mut values) = (vec![0usize; nonzero], vec![T::zero(); nonzero]);
        let mut next = start.clone();
        let mut binary = true;
        for (c, xc) in xs.chunks(plane).enumerate() {
            let base = (c / per_group) * plane;
            nonzero_positions(xc, |p, v| {
                let at = &mut next[base + p];
                channels[*at] = c;
                values[*at] = v;
                *at += 1;
                binary &= v == T::one();
            });
        }
        Active {
            start,
            channels,
            values,
            binary,
        }
    }

    /// 1×1 maps (Linear): the sample's channels are its keys' entries in
    /// order, found in one pass (two passes of a call per channel cost 20x
    /// the product at 3% density).
    fn of_points(xs: &[T], per_group: usize) -> Self {
        let groups = xs.len() / per_group.max(1);
        let mut start = vec![0usize; groups + 1];
        let (mut channels, mut values) = (Vec::new(), Vec::new());
        let mut binary = true;
        nonzero_positions(xs, |c, v| {
            start[c / per_group.max(1) + 1] += 1;
            channels.push(c);
            values.push(v);
            binary &= v == T::one();
        });
        for k in 1..start.len() {
            start[k] += start[k - 1];
        }
        Active {
            start,
            channels,
            values,
            binary,
        }
    }
}

/// Calls `visit(position, value)` for the nonzero values, in order. Most
/// inputs after a spiking neuron are zero, so 32 values at a time are turned
/// into a bit mask without branches and only its set bits are visited (a
/// branch per value, or per 8 values, mispredicts at spiking densities).
#[inline(always)]
fn nonzero_positions<T: Real>(xs: &[T], mut visit: impl FnMut(usize, T)) {
    const RUN: usize = 32;
    for (chunk, run) in xs.chunks(RUN).enumerate() {
        let mut mask = 0u32;
        for (i, &v) in run.iter().enumerate() {
            mask |= u32::from(v != T::zero()) << i;
        }
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            visit(chunk * RUN + i, run[i]);
            mask &= mask - 1;
        }
    }
}

/// One sample: every output position sums into its output row (all the
/// outputs of a group, in L1) the weight rows of the nonzero inputs that feed
/// it. Whole rows are read front to back, which the prefetcher follows (an
/// earlier version kept 32 outputs in registers and read 128-byte pieces of
/// rows scattered over the weights: a cache miss each once the weights
/// outgrow L2).
#[inline(always)]
fn forward_sample<T: Real>(j: &ForwardSample<T>, a: &Active<T>, out: &mut [T]) {
    let s = j.s;
    let (o, opg, plane) = (s.out_channels, s.out_channels / s.groups, s.in_h * s.in_w);
    let stride = j.used * opg;
    for grp in 0..s.groups {
        for (oy, feed_y) in j.feed_h.iter().enumerate() {
            for (ox, feed_x) in j.feed_w.iter().enumerate() {
                let acc = &mut out[(oy * j.ow + ox) * o + grp * opg..][..opg];
                match j.bias {
                    Some(b) => acc.copy_from_slice(&b[grp * opg..][..opg]),
                    None => acc.fill(T::zero()),
                }
                for &(th, iy) in feed_y {
                    for &(tw, ix) in feed_x {
                        let offset = (th * j.taps_w + tw) * opg;
                        let key = grp * plane + iy * s.in_w + ix;
                        let entries = a.start[key]..a.start[key + 1];
                        if a.binary {
                            for &c in &a.channels[entries] {
                                add_row(acc, &j.wt[c * stride + offset..][..opg]);
                            }
                        } else {
                            for e in entries {
                                let row = &j.wt[a.channels[e] * stride + offset..][..opg];
                                add_scaled(acc, row, a.values[e]);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `acc += row` (a spike's weights: nothing to multiply).
#[inline(always)]
fn add_row<T: Real>(acc: &mut [T], row: &[T]) {
    for (a, &w) in acc.iter_mut().zip(row) {
        *a = *a + w;
    }
}

/// Weight gradient over the nonzero inputs: `grad_weight [O, C/g, KH, KW]`
/// from `x [N, C, H, W]` and the channels-last output gradient
/// `grad [N, OH, OW, O]`. Summed per input channel as `[C, U, O/g]`, `U` the
/// taps some input reaches (parallel over channels; each sums its samples in
/// order, so the result does not depend on the thread count), then transposed
/// into the weight's layout, zeros at the taps no input reaches (a 3×3 kernel
/// on 1×1 maps sums one tap in nine).
pub fn sparse_weight_grad<T: Real>(
    s: &ConvShape,
    x: &[T],
    grad: &[T],
    grad_weight: &mut [T],
) -> Result<(), EngineError> {
    let (oh, ow) = s.validate()?;
    check_len("x", x.len(), s.x_len())?;
    check_len(
        "grad_output",
        grad.len(),
        s.batch * oh * ow * s.out_channels,
    )?;
    let opg = s.out_channels / s.groups;
    check_len("grad_weight", grad_weight.len(), s.weight_len())?;
    if grad_weight.is_empty() {
        return Ok(());
    }
    let reach = s.reach(oh, ow);
    let (rows, cols, taps) = (&reach.rows, &reach.cols, &reach.taps);
    let slotted = |table: &ReachTable, slot: &[usize]| -> ReachTable {
        table
            .iter()
            .map(|pairs| pairs.iter().map(|&(k, out)| (slot[k], out)).collect())
            .collect()
    };
    if taps.is_empty() {
        grad_weight.fill(T::zero());
        return Ok(());
    }
    let len = s.in_channels * taps.len() * opg;
    let mut scratch = Scratch::<T>::new(len).ok_or(EngineError::Memory {
        what: "the weight gradient",
        bytes: len.saturating_mul(std::mem::size_of::<T>()),
    })?;
    let grad_wt = scratch.as_mut_slice();
    let job = GradChannel {
        s,
        x,
        grad,
        rows: &slotted(rows, &reach.slot_h),
        cols: &slotted(cols, &reach.slot_w),
        taps_w: reach.taps_w,
        used: taps.len(),
        ow,
    };
    let per_channel = taps.len() * opg;
    let block = channel_block(s.in_channels, per_channel);
    parallel::for_each_indexed(
        grad_wt.chunks_mut(block * per_channel).collect(),
        |b, acc| with_cpu_features!(weight_grad_channels(&job, b * block, acc)),
    );
    let per_group = grad_weight.len() / s.groups;
    grad_weight
        .chunks_mut(per_group)
        .zip(grad_wt.chunks(len / s.groups))
        .for_each(|(dst, src)| transpose_into(src, taps, s.taps(), opg, dst));
    Ok(())
}

/// Channels per weight-gradient task: sums of about 16 Ki elements (64 KiB in
/// f32; they stay in L1/L2 while a sample's gradient rows are read), and at
/// least four tasks per thread.
fn channel_block(channels: usize, per_channel: usize) -> usize {
    let by_cache = (16 * 1024 / per_channel.max(1)).max(1);
    let by_threads = channels.div_ceil(4 * parallel::threads()).max(1);
    by_cache.min(by_threads)
}

/// `dst [O', C' · all]` from `src [C' · U, O']`: `dst[o, c · all + taps[u]] =
/// src[c · U + u, o]`, zero at the taps not listed. In tiles of destination
/// rows (parallel), so reads run along source rows and writes stay in cache.
fn transpose_into<T: Real>(src: &[T], taps: &[usize], all: usize, cols: usize, dst: &mut [T]) {
    const TILE: usize = 32;
    let used = taps.len();
    let rows = src.len() / cols.max(1);
    let width = rows / used.max(1) * all;
    parallel::for_each_indexed(dst.chunks_mut(TILE * width).collect(), |tile, block| {
        let first = tile * TILE;
        let height = block.len() / width.max(1);
        if used < all {
            block.fill(T::zero());
        }
        for r in 0..rows {
            let at = (r / used) * all + taps[r % used];
            let from = &src[r * cols + first..][..height];
            for (k, &v) in from.iter().enumerate() {
                block[k * width + at] = v;
            }
        }
    });
}

struct GradChannel<'a, T> {
    s: &'a ConvShape,
    x: &'a [T],
    grad: &'a [T],
    /// Per input row / column: (tap slot, output row / column).
    rows: &'a [Vec<(usize, usize)>],
    cols: &'a [Vec<(usize, usize)>],
    /// Reached taps along a row (a tap's slot is `slot_h · taps_w + slot_w`).
    taps_w: usize,
    /// Reached taps in all.
    used: usize,
    ow: usize,
}

/// The weight gradient of the channels `first..first + count`, into `acc`
/// (`[count, U, O/g]`). Samples run outermost so the rows of one sample's
/// output gradient, read for every channel of the block, stay in cache
/// (channel by channel over all samples, each sample's rows came from memory
/// once per channel). Each channel still sums its samples in order.
#[inline(always)]
fn weight_grad_channels<T: Real>(j: &GradChannel<T>, first: usize, acc: &mut [T]) {
    let s = j.s;
    let (o, opg) = (s.out_channels, s.out_channels / s.groups);
    let plane = s.in_h * s.in_w;
    let positions = j.grad.len() / s.batch.max(1);
    let per_channel = j.used * opg;
    let count = acc.len() / per_channel.max(1);
    acc.fill(T::zero());
    for n in 0..s.batch {
        let gn = &j.grad[n * positions..][..positions];
        // input channel `first + k`'s value `v` at position `at`, into its sums
        let mut add = |k: usize, at: usize, v: T| {
            let group_base = ((first + k) / (s.in_channels / s.groups)) * opg;
            let acc_c = &mut acc[k * per_channel..][..per_channel];
            let (iy, ix) = (at / s.in_w, at % s.in_w);
            for &(kh, oy) in &j.rows[iy] {
                for &(kw, ox) in &j.cols[ix] {
                    let g = &gn[(oy * j.ow + ox) * o + group_base..][..opg];
                    add_scaled(&mut acc_c[(kh * j.taps_w + kw) * opg..][..opg], g, v);
                }
            }
        };
        if plane == 1 {
            // 1×1 maps (Linear): the block's channels are one contiguous run
            let xs = &j.x[n * s.in_channels + first..][..count];
            nonzero_positions(xs, |k, v| add(k, 0, v));
        } else {
            for k in 0..count {
                let xc = &j.x[(n * s.in_channels + first + k) * plane..][..plane];
                nonzero_positions(xc, |at, v| add(k, at, v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dense definition, in f64, for comparison.
    fn dense(s: &ConvShape, x: &[f64], w: &[f64]) -> Vec<f64> {
        let (oh, ow) = s.validate().unwrap();
        let (cpg, opg) = (s.in_channels / s.groups, s.out_channels / s.groups);
        let mut out = vec![0.0; s.batch * oh * ow * s.out_channels];
        for n in 0..s.batch {
            for o in 0..s.out_channels {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut sum = 0.0;
                        for ci in 0..cpg {
                            let c = (o / opg) * cpg + ci;
                            for kh in 0..s.kernel_h {
                                for kw in 0..s.kernel_w {
                                    let iy = (oy * s.stride[0] + kh * s.dilation[0]) as isize
                                        - s.padding[0] as isize;
                                    let ix = (ox * s.stride[1] + kw * s.dilation[1]) as isize
                                        - s.padding[1] as isize;
                                    if iy < 0
                                        || ix < 0
                                        || iy >= s.in_h as isize
                                        || ix >= s.in_w as isize
                                    {
                                        continue;
                                    }
                                    let xv = x[((n * s.in_channels + c) * s.in_h + iy as usize)
                                        * s.in_w
                                        + ix as usize];
                                    sum += xv
                                        * w[((o * cpg + ci) * s.kernel_h + kh) * s.kernel_w + kw];
                                }
                            }
                        }
                        out[((n * oh + oy) * ow + ox) * s.out_channels + o] = sum;
                    }
                }
            }
        }
        out
    }

    fn shape() -> ConvShape {
        ConvShape {
            batch: 2,
            in_channels: 4,
            out_channels: 6,
            groups: 2,
            in_h: 5,
            in_w: 4,
            kernel_h: 3,
            kernel_w: 2,
            stride: [2, 1],
            padding: [1, 1],
            dilation: [1, 2],
        }
    }

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A 1×1 map under a padded 3×3 kernel: only the centre tap is reached.
    fn point_shape() -> ConvShape {
        ConvShape {
            batch: 3,
            in_channels: 5,
            out_channels: 4,
            groups: 1,
            in_h: 1,
            in_w: 1,
            kernel_h: 3,
            kernel_w: 3,
            stride: [1, 1],
            padding: [1, 1],
            dilation: [1, 1],
        }
    }

    /// Linear-like (1×1 maps) with more channels than one 32-value run and
    /// several channel blocks in the weight gradient, in two groups.
    fn wide_point_shape() -> ConvShape {
        ConvShape {
            in_channels: 70,
            out_channels: 6,
            groups: 2,
            kernel_h: 1,
            kernel_w: 1,
            padding: [0, 0],
            ..point_shape()
        }
    }

    /// A 9×9 map: runs of 32 values cross rows and channel planes.
    fn wide_map_shape() -> ConvShape {
        ConvShape {
            in_channels: 40,
            in_h: 9,
            in_w: 9,
            ..point_shape()
        }
    }

    #[test]
    fn forward_equals_dense() {
        for s in [shape(), point_shape(), wide_point_shape(), wide_map_shape()] {
            forward_case(s, 1.0);
            forward_case(s, -2.5); // not binary: rows are scaled
        }
    }

    fn forward_case(s: ConvShape, other: f64) {
        let mut seed = 3;
        let x: Vec<f64> = (0..s.x_len())
            .map(|_| match lcg(&mut seed) {
                u if u < 0.2 => 1.0,
                u if u < 0.3 => other,
                _ => 0.0,
            })
            .collect();
        let w: Vec<f64> = (0..s.weight_len()).map(|_| lcg(&mut seed) - 0.5).collect();
        let (oh, ow) = s.validate().unwrap();
        let mut out = vec![0.0; s.batch * oh * ow * s.out_channels];
        sparse_forward(&s, &x, &w, None, &mut out).unwrap();
        for (a, b) in out.iter().zip(dense(&s, &x, &w)) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn weight_grad_is_the_adjoint() {
        for s in [shape(), point_shape(), wide_point_shape(), wide_map_shape()] {
            weight_grad_case(s);
        }
    }

    fn weight_grad_case(s: ConvShape) {
        // <grad, conv(x, w)> is linear in w, so its gradient wrt w_k is <grad, conv(x, e_k)>.
        let mut seed = 7;
        let x: Vec<f64> = (0..s.x_len())
            .map(|_| if lcg(&mut seed) < 0.4 { 2.0 } else { 0.0 })
            .collect();
        let (oh, ow) = s.validate().unwrap();
        let g: Vec<f64> = (0..s.batch * oh * ow * s.out_channels)
            .map(|_| lcg(&mut seed) - 0.5)
            .collect();
        // NaN first: every element, the taps no input reaches too, must be written.
        let mut gwt = vec![f64::NAN; s.weight_len()];
        sparse_weight_grad(&s, &x, &g, &mut gwt).unwrap();
        assert!(gwt.iter().any(|&v| v != 0.0));
        for k in 0..s.weight_len() {
            let mut e = vec![0.0; s.weight_len()];
            e[k] = 1.0;
            let expected: f64 = dense(&s, &x, &e).iter().zip(&g).map(|(a, b)| a * b).sum();
            let got = gwt[k];
            assert!(
                (got - expected).abs() < 1e-12,
                "weight {k}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn no_tap_reached() {
        // Stride 2 with padding 1 on a 1×1 map: both outputs along an axis
        // read padding only, so the output is the bias and the gradient zero.
        let s = ConvShape {
            out_channels: 2,
            kernel_h: 1,
            kernel_w: 1,
            stride: [2, 2],
            ..point_shape()
        };
        let (oh, ow) = s.validate().unwrap();
        assert_eq!((oh, ow), (2, 2));
        let x = vec![1.0; s.x_len()];
        let w = vec![0.5; s.weight_len()];
        let mut out = vec![f64::NAN; s.batch * oh * ow * s.out_channels];
        sparse_forward(&s, &x, &w, Some(&[0.25, -1.0]), &mut out).unwrap();
        assert!(out.chunks(2).all(|p| p == [0.25, -1.0]));
        let g = vec![1.0; out.len()];
        let mut gwt = vec![f64::NAN; s.weight_len()];
        sparse_weight_grad(&s, &x, &g, &mut gwt).unwrap();
        assert!(gwt.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn bad_geometry_is_an_error() {
        let mut s = shape();
        s.groups = 3;
        assert!(s.validate().is_err());
        let mut s = shape();
        s.kernel_h = 9;
        assert!(s.validate().is_err());
    }
}
