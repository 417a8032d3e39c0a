// sg'(x) of every surrogate the CPU engine supports (SG_* ids: snnrs/gpu/ids.py),
// in f32. sp0..sp3 hold the surrogate's parameters (see snnrs/gpu/neuron.py).
const PI: f32 = 3.141592653589793;

// cos(2π·(hi + lo)) with the whole turns taken off hi exactly.
fn cos_turns_split(hi: f32, lo: f32) -> f32 {
    return cos_turns((hi - round(hi)) + lo);
}

// cos(2π·turns), accurate to ~1e-7: WGSL's own cos may be off by 2^-11 absolute.
// The turns are reduced exactly to [-1/2, 1/2], then an even Taylor polynomial to r^16.
fn cos_turns(turns: f32) -> f32 {
    let r = 2.0 * PI * (turns - round(turns));
    let r2 = r * r;
    var c = 1.0 / 20922789888000.0;               // 1/16!
    c = c * r2 - 1.0 / 87178291200.0;             // 1/14!
    c = c * r2 + 1.0 / 479001600.0;               // 1/12!
    c = c * r2 - 1.0 / 3628800.0;                 // 1/10!
    c = c * r2 + 1.0 / 40320.0;                   // 1/8!
    c = c * r2 - 1.0 / 720.0;                     // 1/6!
    c = c * r2 + 1.0 / 24.0;
    c = c * r2 - 0.5;
    return c * r2 + 1.0;
}

fn sg(x: f32) -> f32 {
    let a = p.sp0;
    switch p.surrogate {
        case SG_Sigmoid: {
            let s = 1.0 / (1.0 + exp(-(a * x)));
            return a * s * (1.0 - s);
        }
        case SG_ATan: {
            let z = PI / 2.0 * a * x;
            return a / 2.0 / (1.0 + z * z);
        }
        case SG_PiecewiseQuadratic: {
            return select(0.0, a - a * a * abs(x), abs(x) <= 1.0 / a);
        }
        case SG_PiecewiseExp: {
            return a / 2.0 * exp(-(a * abs(x)));
        }
        case SG_SoftSign: {
            let d = 1.0 / a + abs(x);
            return 1.0 / (2.0 * a * d * d);
        }
        case SG_SuperSpike: {
            let d = abs(x) + 1.0;
            return a / (d * d);
        }
        case SG_Erf: {
            return a / sqrt(PI) * exp(-((a * x) * (a * x)));
        }
        case SG_PiecewiseLeakyReLU: { // (w, c)
            return select(p.sp1, 1.0 / (2.0 * a), abs(x) < a);
        }
        case SG_Rect: {
            return select(0.0, a, abs(x) < 1.0 / (2.0 * a));
        }
        case SG_QPseudoSpike: {
            return pow(1.0 + 2.0 / (a - 1.0) * abs(x), -a);
        }
        case SG_S2NN: { // (alpha, beta)
            if (x < 0.0) {
                let s = 1.0 / (1.0 + exp(-(a * x)));
                return a * s * (1.0 - s);
            }
            return p.sp1 / (x + 1.0);
        }
        case SG_LeakyKReLU: { // (leak, k)
            return select(a, p.sp1, x >= 0.0);
        }
        case SG_FakeNumericalGradient: {
            let sign = select(-1.0, 1.0, x >= 0.0);
            return min(sign / x, a);
        }
        case SG_LogTailedReLU: {
            if (x > 1.0) {
                return 1.0 / x;
            }
            return select(a, 1.0, x > 0.0);
        }
        case SG_NonzeroSignLogAbs: {
            return 1.0 / (1.0 / a + abs(x));
        }
        case SG_SquarewaveFourierSeries: { // (n, T_period): cos((2i-1)·2π·x/T)
            // x/T and its multiples carried as hi + lo pairs (error-free products via fma), so the
            // phase keeps about 40 bits, as the CPU engine's float64 evaluation.
            let q = x / p.sp1;
            let q_lo = fma(-q, p.sp1, x) / p.sp1;
            var sum = 0.0;
            for (var i = 1u; i < u32(a); i++) {
                let k = f32(2u * i - 1u);
                let hi = k * q;
                let lo = fma(k, q, -hi) + k * q_lo;
                sum += cos_turns_split(hi, lo);
            }
            return 4.0 / p.sp1 * sum;
        }
        default: {
            return 0.0;
        }
    }
}
