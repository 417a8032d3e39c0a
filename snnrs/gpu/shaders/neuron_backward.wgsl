// Exact BPTT (docs/semantics.md#bptt): one invocation per neuron runs the T steps backwards.
// grad_k holds, per neuron, Σ_t gH·dH/dk (ParametricLIF); the host sums it.
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> h_seq: array<f32>;
@group(0) @binding(2) var<storage, read> spikes: array<f32>;
@group(0) @binding(3) var<storage, read> grad_spikes: array<f32>;
@group(0) @binding(4) var<storage, read> grad_v_seq: array<f32>;
@group(0) @binding(5) var<storage, read> grad_v_last: array<f32>;
@group(0) @binding(6) var<storage, read> v_init: array<f32>;
@group(0) @binding(7) var<storage, read> x: array<f32>;
@group(0) @binding(8) var<storage, read_write> grad_x: array<f32>;
@group(0) @binding(9) var<storage, read_write> grad_v_init: array<f32>;
@group(0) @binding(10) var<storage, read_write> grad_k: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = neuron_index(gid);
    if (i >= p.neurons) {
        return;
    }
    let keep = select(1.0, 0.0, flag(FLAG_detach_reset));
    var carry = select(0.0, grad_v_last[min(i, arrayLength(&grad_v_last) - 1u)], flag(FLAG_grad_v_last));
    var gk = 0.0;
    for (var step = 0u; step < p.steps; step++) {
        let t = p.steps - 1u - step;
        let idx = t * p.neurons + i;
        if (flag(FLAG_grad_v_seq)) {
            carry += grad_v_seq[idx];
        }
        let h = h_seq[idx];
        let s = spikes[idx];
        let g = sg(h - p.v_threshold);
        var dv_dh: f32;
        if (flag(FLAG_hard_reset)) {
            dv_dh = 1.0 - s + (p.v_reset - h) * g * keep;
        } else {
            dv_dh = 1.0 - p.v_threshold * g * keep;
        }
        var gh = carry * dv_dh;
        if (flag(FLAG_grad_spikes)) {
            gh += grad_spikes[idx] * g;
        }
        grad_x[idx] = gh * dh_dx();
        carry = gh * dh_dv();
        if (p.neuron == NEURON_plif) {
            var v_prev: f32;
            if (t == 0u) {
                v_prev = select(rest(), v_init[min(i, arrayLength(&v_init) - 1u)], flag(FLAG_v_init));
            } else {
                v_prev = reset(h_seq[idx - p.neurons], spikes[idx - p.neurons]);
            }
            gk += gh * dh_dk(v_prev, x[idx]);
        }
    }
    grad_v_init[i] = carry;
    grad_k[i] = gk;
}
