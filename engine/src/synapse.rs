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
//! per call to `[C, KH, KW, O/groups]`.

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

    /// The reach tables of both axes (see [`reach_table`]) for an output of `oh × ow`.
    fn reach_tables(&self, oh: usize, ow: usize) -> (ReachTable, ReachTable) {
        let [sh, sw] = self.stride;
        let [ph, pw] = self.padding;
        let [dh, dw] = self.dilation;
        (
            reach_table(self.in_h, self.kernel_h, sh, ph, dh, oh),
            reach_table(self.in_w, self.kernel_w, sw, pw, dw, ow),
        )
    }
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
        let first = tile * TILE;
        let height = block.len() / opg;
        for o in 0..opg {
            let from = &src[o * cpg * all..][..cpg * all];
            for r in 0..height {
                let row = first + r;
                block[r * opg + o] = from[(row / used) * all + taps[row % used]];
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
    let (rows, cols) = s.reach_tables(oh, ow);
    let ((used_h, slot_h), (used_w, slot_w)) =
        (used_taps(&rows, s.kernel_h), used_taps(&cols, s.kernel_w));
    let taps: Vec<usize> = used_h
        .iter()
        .flat_map(|&kh| used_w.iter().map(move |&kw| kh * s.kernel_w + kw))
        .collect();
    let mut wt = transpose_weight(s, weight, &taps)?;
    let wt = &*wt.as_mut_slice();
    let plane = s.in_h * s.in_w;
    let sample = s.in_channels * plane;
    if sample == 0 || oh * ow * o == 0 {
        for p in out.chunks_mut(o.max(1)) {
            match bias {
                Some(b) => p.copy_from_slice(b),
                None => p.fill(T::zero()),
            }
        }
        return Ok(());
    }
    let job = ForwardSample {
        s,
        wt,
        bias,
        feed_h: &feed_table(&rows, &slot_h, oh),
        feed_w: &feed_table(&cols, &slot_w, ow),
        taps_w: used_w.len(),
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
        let channels_total = xs.len() / plane.max(1);
        let groups = channels_total / per_group.max(1);
        let mut start = vec![0usize; groups * plane + 1];
        for (c, xc) in xs.chunks(plane).enumerate() {
            let base = (c / per_group) * plane;
            for (p, &v) in xc.iter().enumerate() {
                start[base + p + 1] += usize::from(v != T::zero());
            }
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
            for (p, &v) in xc.iter().enumerate() {
                if v != T::zero() {
                    let at = &mut next[base + p];
                    channels[*at] = c;
                    values[*at] = v;
                    *at += 1;
                    binary &= v == T::one();
                }
            }
        }
        Active {
            start,
            channels,
            values,
            binary,
        }
    }
}

/// Outputs per register block: 32 floats are four AVX2 (two AVX-512) registers
/// of f32, eight of f64, kept in registers across the sum.
const BLOCK: usize = 32;

/// One sample: every output position and block of outputs sums, in
/// registers, the weight rows of the nonzero inputs that feed it.
#[inline(always)]
fn forward_sample<T: Real>(j: &ForwardSample<T>, a: &Active<T>, out: &mut [T]) {
    let s = j.s;
    let (o, opg, plane) = (s.out_channels, s.out_channels / s.groups, s.in_h * s.in_w);
    for grp in 0..s.groups {
        for first in (0..opg).step_by(BLOCK) {
            let width = BLOCK.min(opg - first);
            for (oy, feed_y) in j.feed_h.iter().enumerate() {
                for (ox, feed_x) in j.feed_w.iter().enumerate() {
                    let mut acc = [T::zero(); BLOCK];
                    if let Some(b) = j.bias {
                        acc[..width].copy_from_slice(&b[grp * opg + first..][..width]);
                    }
                    for &(th, iy) in feed_y {
                        for &(tw, ix) in feed_x {
                            let tap = th * j.taps_w + tw;
                            let key = grp * plane + iy * s.in_w + ix;
                            let entries = a.start[key]..a.start[key + 1];
                            let offset = tap * opg + first;
                            if width == BLOCK && a.binary {
                                acc =
                                    sum_rows(acc, &a.channels[entries], j.wt, j.used * opg, offset);
                            } else {
                                for e in entries {
                                    let row =
                                        &j.wt[a.channels[e] * j.used * opg + offset..][..width];
                                    add_scaled(&mut acc[..width], row, a.values[e]);
                                }
                            }
                        }
                    }
                    out[(oy * j.ow + ox) * o + grp * opg + first..][..width]
                        .copy_from_slice(&acc[..width]);
                }
            }
        }
    }
}

/// `acc + Σ rows`, each row `wt[c · stride + offset..][..BLOCK]` for the
/// channels `c` given: a loop with nothing but the sum, so the block stays in
/// registers.
#[inline(always)]
fn sum_rows<T: Real>(
    mut acc: [T; BLOCK],
    channels: &[usize],
    wt: &[T],
    stride: usize,
    offset: usize,
) -> [T; BLOCK] {
    for &c in channels {
        let row: &[T; BLOCK] = wt[c * stride + offset..][..BLOCK]
            .try_into()
            .expect("a full block");
        for i in 0..BLOCK {
            acc[i] = acc[i] + row[i];
        }
    }
    acc
}

/// Weight gradient over the nonzero inputs: `grad_weight [O, C/g, KH, KW]`
/// from `x [N, C, H, W]` and the channels-last output gradient
/// `grad [N, OH, OW, O]`. Summed per input channel as `[C, KH, KW, O/g]`
/// (parallel over channels; each sums its samples in order, so the result does
/// not depend on the thread count), then transposed into the weight's layout.
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
    let (taps, opg) = (s.taps(), s.out_channels / s.groups);
    check_len("grad_weight", grad_weight.len(), s.weight_len())?;
    if grad_weight.is_empty() {
        return Ok(());
    }
    let mut scratch = Scratch::<T>::new(grad_weight.len()).ok_or(EngineError::Memory {
        what: "the weight gradient",
        bytes: grad_weight.len().saturating_mul(std::mem::size_of::<T>()),
    })?;
    let grad_wt = scratch.as_mut_slice();
    let (rows, cols) = s.reach_tables(oh, ow);
    let job = GradChannel {
        s,
        x,
        grad,
        rows: &rows,
        cols: &cols,
        ow,
    };
    parallel::for_each_indexed(grad_wt.chunks_mut(taps * opg).collect(), |c, acc| {
        with_cpu_features!(weight_grad_channel(&job, c, acc))
    });
    let per_group = grad_weight.len() / s.groups;
    grad_weight
        .chunks_mut(per_group)
        .zip(grad_wt.chunks(per_group))
        .for_each(|(dst, src)| transpose_into(src, per_group / opg, opg, dst));
    Ok(())
}

/// `dst [cols, rows] = srcᵀ` for `src [rows, cols]`, in tiles of destination
/// rows (parallel), so reads run along source rows and writes stay in cache.
fn transpose_into<T: Real>(src: &[T], rows: usize, cols: usize, dst: &mut [T]) {
    const TILE: usize = 32;
    parallel::for_each_indexed(dst.chunks_mut(TILE * rows).collect(), |tile, block| {
        let first = tile * TILE;
        let height = block.len() / rows.max(1);
        for r in 0..rows {
            let from = &src[r * cols + first..][..height];
            for (k, &v) in from.iter().enumerate() {
                block[k * rows + r] = v;
            }
        }
    });
}

struct GradChannel<'a, T> {
    s: &'a ConvShape,
    x: &'a [T],
    grad: &'a [T],
    rows: &'a [Vec<(usize, usize)>],
    cols: &'a [Vec<(usize, usize)>],
    ow: usize,
}

#[inline(always)]
fn weight_grad_channel<T: Real>(j: &GradChannel<T>, c: usize, acc: &mut [T]) {
    let s = j.s;
    let (o, opg) = (s.out_channels, s.out_channels / s.groups);
    let group_base = (c / (s.in_channels / s.groups)) * opg;
    let plane = s.in_h * s.in_w;
    let positions = j.grad.len() / s.batch.max(1);
    acc.fill(T::zero());
    for n in 0..s.batch {
        let xc = &j.x[(n * s.in_channels + c) * plane..][..plane];
        let gn = &j.grad[n * positions..][..positions];
        for (i, &v) in xc.iter().enumerate() {
            if v == T::zero() {
                continue;
            }
            let (iy, ix) = (i / s.in_w, i % s.in_w);
            for &(kh, oy) in &j.rows[iy] {
                for &(kw, ox) in &j.cols[ix] {
                    let g = &gn[(oy * j.ow + ox) * o + group_base..][..opg];
                    add_scaled(&mut acc[(kh * s.kernel_w + kw) * opg..][..opg], g, v);
                }
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

    #[test]
    fn forward_equals_dense() {
        for s in [shape(), point_shape()] {
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
        for s in [shape(), point_shape()] {
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
        let mut gwt = vec![0.0; s.weight_len()];
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
    fn bad_geometry_is_an_error() {
        let mut s = shape();
        s.groups = 3;
        assert!(s.validate().is_err());
        let mut s = shape();
        s.kernel_h = 9;
        assert!(s.validate().is_err());
    }
}
