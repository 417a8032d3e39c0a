// Parameters shared by the neuron kernels (one uniform block, 16 scalars).
struct Params {
    steps: u32,
    neurons: u32,
    // a NEURON_* id
    neuron: u32,
    // bits numbered by the FLAG_* constants (snnrs/gpu/ids.py)
    flags: u32,
    v_threshold: f32,
    v_reset: f32,
    // LIF: tau; ParametricLIF: k = 1/tau
    decay: f32,
    // an SG_* id
    surrogate: u32,
    sp0: f32,
    sp1: f32,
    sp2: f32,
    sp3: f32,
    // invocations per dispatch row (2-D dispatch beyond 65,535 workgroups)
    row_stride: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

fn flag(bit: u32) -> bool {
    return (p.flags & (1u << bit)) != 0u;
}

// The voltage the charge pulls towards: v_reset, or 0 for soft reset.
fn rest() -> f32 {
    return select(0.0, p.v_reset, flag(FLAG_hard_reset));
}

// Hard reset H·(1 - S) + v_reset·S, as the reference computes it: a firing H = +Inf gives +Inf·0 = NaN there.
// Shader compilers may assume finite floats and fold that product to 0, so the infinite case is decided on
// the bits (integer operations are exact) and the NaN is built from bits too.
fn reset(h: f32, s: f32) -> f32 {
    if (flag(FLAG_hard_reset)) {
        if (s == 0.0) {
            return h;
        }
        if ((bitcast<u32>(h) & 0x7fffffffu) >= 0x7f800000u) {
            return bitcast<f32>(0x7fc00000u);
        }
        return p.v_reset;
    }
    return h - p.v_threshold * s;
}

fn neuron_index(gid: vec3<u32>) -> u32 {
    return gid.x + gid.y * p.row_stride;
}
