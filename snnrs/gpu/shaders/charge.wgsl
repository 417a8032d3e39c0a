// The charge rules H[t] = f(V[t-1], X[t]) of the neurons the GPU runs (docs/semantics.md#charge-rules),
// and the partial derivatives BPTT needs (docs/semantics.md#bptt). p.decay is LIF's tau or
// ParametricLIF's k = 1/tau; NEURON_* ids come from snnrs/gpu/ids.py.

// A neuron id without a rule here (the host checks names first): NaN, never another neuron's numbers.
fn not_a_gpu_neuron() -> f32 {
    return bitcast<f32>(0x7fc00000u);
}

fn charge(v: f32, x: f32) -> f32 {
    let vr = rest();
    switch p.neuron {
        case NEURON_if: {
            return v + x;
        }
        case NEURON_lif: {
            if (flag(FLAG_decay_input)) {
                return v + (x - (v - vr)) / p.decay;
            }
            return v - (v - vr) / p.decay + x;
        }
        case NEURON_plif: {
            if (flag(FLAG_decay_input)) {
                return v + (x - (v - vr)) * p.decay;
            }
            return v - (v - vr) * p.decay + x;
        }
        default: {
            return not_a_gpu_neuron();
        }
    }
}

// dH[t]/dV[t-1]: constant for these linear rules.
fn dh_dv() -> f32 {
    switch p.neuron {
        case NEURON_if: {
            return 1.0;
        }
        case NEURON_lif: {
            return 1.0 - 1.0 / p.decay;
        }
        case NEURON_plif: {
            return 1.0 - p.decay;
        }
        default: {
            return not_a_gpu_neuron();
        }
    }
}

// dH[t]/dX[t].
fn dh_dx() -> f32 {
    if (p.neuron == NEURON_if || !flag(FLAG_decay_input)) {
        return 1.0;
    }
    if (p.neuron == NEURON_lif) {
        return 1.0 / p.decay;
    }
    if (p.neuron == NEURON_plif) {
        return p.decay;
    }
    return not_a_gpu_neuron();
}

// dH[t]/dk of ParametricLIF, given V[t-1] and X[t].
fn dh_dk(v_prev: f32, x: f32) -> f32 {
    let vr = rest();
    return select(-(v_prev - vr), x - (v_prev - vr), flag(FLAG_decay_input));
}
