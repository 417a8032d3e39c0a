// Multi-step forward: one invocation per neuron runs all T steps (charge, fire, reset).
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> v_init: array<f32>;
@group(0) @binding(3) var<storage, read_write> spikes: array<f32>;
@group(0) @binding(4) var<storage, read_write> h_seq: array<f32>;
@group(0) @binding(5) var<storage, read_write> v_seq: array<f32>;
@group(0) @binding(6) var<storage, read_write> v_last: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = neuron_index(gid);
    if (i >= p.neurons) {
        return;
    }
    var v = select(rest(), v_init[min(i, arrayLength(&v_init) - 1u)], flag(FLAG_v_init));
    for (var t = 0u; t < p.steps; t++) {
        let idx = t * p.neurons + i;
        let h = charge(v, x[idx]);
        let s = select(0.0, 1.0, h >= p.v_threshold);
        spikes[idx] = s;
        h_seq[idx] = h;
        v = reset(h, s);
        if (flag(FLAG_store_v_seq)) {
            v_seq[idx] = v;
        }
    }
    v_last[i] = v;
}
