// The discrete rule of a NIR neuron layer (snnrs/runtime/conventions.py), one invocation per
// neuron over all T steps, with per-neuron parameters repeating every `period` neurons (one
// sample's layer) and the state kept between calls:
//   I <- syn_decay * I + syn_gain * x          (with a synaptic current)
//   v <- v + mem_leak * (v_leak - v) + gain * u (u: the input, or the new I)
//   spiking: fire where v > v_threshold, then v <- v_reset (or v - v_inclusive, soft reset)
struct RuleParams {
    steps: u32,
    neurons: u32,
    period: u32,
    flags: u32,
    row_stride: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const RULE_SPIKING: u32 = 1u;
const RULE_SOFT_RESET: u32 = 2u;
const RULE_CURRENT: u32 = 4u;
const RULE_FRESH: u32 = 8u;  // start from rest: v = v_reset (spiking) or 0, I = 0

// Parameter rows of `table`, each `period` values long.
const ROW_MEM_LEAK: u32 = 0u;
const ROW_V_LEAK: u32 = 1u;
const ROW_GAIN: u32 = 2u;
const ROW_V_THRESHOLD: u32 = 3u;
const ROW_V_INCLUSIVE: u32 = 4u;
const ROW_V_RESET: u32 = 5u;
const ROW_SYN_DECAY: u32 = 6u;
const ROW_SYN_GAIN: u32 = 7u;

@group(0) @binding(0) var<uniform> q: RuleParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> v_state: array<f32>;
@group(0) @binding(4) var<storage, read_write> current_state: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

fn param(row: u32, j: u32) -> f32 {
    return table[row * q.period + j];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * q.row_stride;
    if (i >= q.neurons) {
        return;
    }
    let j = i % q.period;
    let spiking = (q.flags & RULE_SPIKING) != 0u;
    let soft = (q.flags & RULE_SOFT_RESET) != 0u;
    let has_current = (q.flags & RULE_CURRENT) != 0u;
    let mem_leak = param(ROW_MEM_LEAK, j);
    let v_leak = param(ROW_V_LEAK, j);
    let gain = param(ROW_GAIN, j);
    let v_threshold = param(ROW_V_THRESHOLD, j);
    let v_inclusive = param(ROW_V_INCLUSIVE, j);
    let v_reset = param(ROW_V_RESET, j);
    let syn_decay = param(ROW_SYN_DECAY, j);
    let syn_gain = param(ROW_SYN_GAIN, j);
    var v = v_state[i];
    var current = 0.0;
    if (has_current) {
        current = current_state[i];
    }
    if ((q.flags & RULE_FRESH) != 0u) {
        v = select(0.0, v_reset, spiking);
        current = 0.0;
    }
    for (var t = 0u; t < q.steps; t++) {
        let idx = t * q.neurons + i;
        var u = x[idx];
        if (has_current) {
            current = syn_decay * current + syn_gain * u;
            u = current;
        }
        v = (v + mem_leak * (v_leak - v)) + gain * u;
        if (spiking) {
            let fired = v > v_threshold;
            if (fired) {
                v = select(v_reset, v - v_inclusive, soft);
            }
            out[idx] = select(0.0, 1.0, fired);
        } else {
            out[idx] = v;
        }
    }
    v_state[i] = v;
    if (has_current) {
        current_state[i] = current;
    }
}
