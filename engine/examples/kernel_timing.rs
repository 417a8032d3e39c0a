//! Times the bare kernels (no Python): `cargo run --release --example kernel_timing -- T N`.
//! Prints ns per neuron-step for LIF (ATan, hard reset, decay_input) forward and backward, f32.

use _engine::firing::FiringSpec;
use _engine::io::{BackwardInputs, BackwardOutputs, ForwardInputs, ForwardOutputs};
use _engine::multistep;
use _engine::neuron::Neuron;
use _engine::surrogate::Surrogate;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("T N"))
        .collect();
    let (steps, n) = (
        *args.first().unwrap_or(&8),
        *args.get(1).unwrap_or(&(1 << 20)),
    );
    let cells = steps * n;
    let x: Vec<f32> = (0..cells)
        .map(|i| ((i * 2654435761) % 1000) as f32 / 500.0)
        .collect();
    let (mut spikes, mut h, mut grad_x, grad_s) = (
        vec![0f32; cells],
        vec![0f32; cells],
        vec![0f32; cells],
        vec![1f32; cells],
    );
    let (mut v_last, mut grad_v) = (vec![0f32; n], vec![0f32; n]);
    let mut bits = vec![0u8; steps * n.div_ceil(8)];
    let neuron = Neuron::Lif {
        tau: 2.0,
        decay_input: true,
    };
    let firing = FiringSpec {
        v_threshold: 1.0,
        v_reset: Some(0.0),
        detach_reset: false,
    };
    let surrogate = match std::env::var("SG").as_deref() {
        Ok("rect") => Surrogate::Rect { alpha: 1.0 },
        Ok("sigmoid") => Surrogate::Sigmoid { alpha: 4.0 },
        _ => Surrogate::ATan { alpha: 2.0 },
    };
    let (mut fwd, mut bwd) = (vec![], vec![]);
    for _ in 0..15 {
        let t0 = Instant::now();
        let outputs = ForwardOutputs {
            spikes: &mut spikes,
            v_last: &mut v_last,
            h_seq: Some(&mut h),
            bits: Some(&mut bits),
            v_seq: None,
        };
        multistep::forward(
            neuron,
            firing,
            ForwardInputs {
                steps,
                neurons: n,
                x: &x,
                v_init: None,
            },
            outputs,
        )
        .unwrap();
        fwd.push(t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        let inputs = BackwardInputs {
            steps,
            neurons: n,
            grad_spikes: Some(&grad_s),
            grad_v_seq: None,
            grad_h_seq: None,
            grad_v_last: None,
            h_seq: &h,
            bits: &bits,
            v_init: None,
            x: None,
        };
        let outputs = BackwardOutputs {
            grad_x: &mut grad_x,
            grad_v_init: &mut grad_v,
        };
        multistep::backward(neuron, firing, surrogate, inputs, outputs).unwrap();
        bwd.push(t0.elapsed().as_secs_f64());
    }
    let per = 1e9 / cells as f64;
    println!(
        "T={steps} N={n}: forward {:.3} ns, backward {:.3} ns per neuron-step",
        median(fwd) * per,
        median(bwd) * per
    );
}
