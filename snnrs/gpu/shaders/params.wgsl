// Parameters shared by the neuron kernels (one uniform block, 16 scalars).
struct Params {
    steps: u32,
    neurons: u32,
    // 0: IF, 1: LIF, 2: ParametricLIF
    neuron: u32,
    // bit 0 decay_input, bit 1 hard reset, bit 2 detach_reset, bit 3 store_v_seq,
    // bit 4 v_init given, bit 5 grad_spikes given, bit 6 grad_v_seq given, bit 7 grad_v_last given
    flags: u32,
    v_threshold: f32,
    v_reset: f32,
    // LIF: tau; ParametricLIF: k = 1/tau
    decay: f32,
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
    return select(0.0, p.v_reset, flag(1u));
}

fn charge(v: f32, x: f32) -> f32 {
    let vr = rest();
    if (p.neuron == 0u) {
        return v + x;
    }
    if (p.neuron == 1u) {
        if (flag(0u)) {
            return v + (x - (v - vr)) / p.decay;
        }
        return v - (v - vr) / p.decay + x;
    }
    if (flag(0u)) {
        return v + (x - (v - vr)) * p.decay;
    }
    return v - (v - vr) * p.decay + x;
}

fn reset(h: f32, s: f32) -> f32 {
    if (s == 0.0) {
        return h;
    }
    return select(h - p.v_threshold, p.v_reset, flag(1u));
}

fn neuron_index(gid: vec3<u32>) -> u32 {
    return gid.x + gid.y * p.row_stride;
}
