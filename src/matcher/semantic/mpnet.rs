//! MPNet (all-mpnet-base-v2 and its kin) on candle, which has the BERT
//! family but not this one: BERT's layers with no token types, positions
//! counted from after the padding id, and a learned bias on each pair of
//! tokens' relative distance (bucketed, shared by all layers) added to
//! every layer's attention scores. Written after Hugging Face's
//! `modeling_mpnet.py`; only the forward pass to the last hidden states,
//! which is what sentence embeddings pool.

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{embedding, layer_norm, linear, Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;

/// What `config.json` says about an MPNet.
#[derive(Clone, Debug, Deserialize)]
pub(super) struct Config {
    pub hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    vocab_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default = "default_buckets")]
    relative_attention_num_buckets: usize,
    #[serde(default = "default_pad")]
    pad_token_id: u32,
}

fn default_eps() -> f64 {
    1e-5
}

fn default_buckets() -> usize {
    32
}

fn default_pad() -> u32 {
    1
}

/// The longest distance the buckets tell apart: farther ones share the
/// last bucket (the value MPNet was trained with).
const MAX_DISTANCE: f64 = 128.0;

struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

pub(super) struct MpNet {
    words: Embedding,
    positions: Embedding,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    relative_bias: Embedding,
    heads: usize,
    head_dim: usize,
    buckets: usize,
    pad: u32,
}

impl MpNet {
    pub(super) fn load(vb: VarBuilder, c: &Config) -> Result<Self> {
        let e = vb.pp("embeddings");
        let h = c.hidden_size;
        let layers = (0..c.num_hidden_layers)
            .map(|i| {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let a = l.pp("attention");
                Ok(Layer {
                    q: linear(h, h, a.pp("attn.q"))?,
                    k: linear(h, h, a.pp("attn.k"))?,
                    v: linear(h, h, a.pp("attn.v"))?,
                    o: linear(h, h, a.pp("attn.o"))?,
                    attention_norm: layer_norm(h, c.layer_norm_eps, a.pp("LayerNorm"))?,
                    intermediate: linear(h, c.intermediate_size, l.pp("intermediate.dense"))?,
                    output: linear(c.intermediate_size, h, l.pp("output.dense"))?,
                    output_norm: layer_norm(h, c.layer_norm_eps, l.pp("output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            words: embedding(c.vocab_size, h, e.pp("word_embeddings"))?,
            positions: embedding(c.max_position_embeddings, h, e.pp("position_embeddings"))?,
            embedding_norm: layer_norm(h, c.layer_norm_eps, e.pp("LayerNorm"))?,
            layers,
            relative_bias: embedding(
                c.relative_attention_num_buckets,
                c.num_attention_heads,
                vb.pp("encoder.relative_attention_bias"),
            )?,
            heads: c.num_attention_heads,
            head_dim: h / c.num_attention_heads,
            buckets: c.relative_attention_num_buckets,
            pad: c.pad_token_id,
        })
    }

    /// The last hidden states, (batch, tokens, hidden), of `ids` (batch,
    /// tokens) with `mask` 1 on real tokens and 0 on padding.
    pub(super) fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (n, len) = ids.dims2()?;
        let device = ids.device();
        // Real tokens come first in every row, so a token's position is
        // its index counted from after the padding id.
        let positions: Vec<u32> = (0..len as u32).map(|t| t + self.pad + 1).collect();
        let positions = Tensor::new(positions.as_slice(), device)?;
        let x = self
            .words
            .forward(ids)?
            .broadcast_add(&self.positions.forward(&positions)?)?;
        let mut x = self.embedding_norm.forward(&x)?;
        let bias = self.position_bias(len, device)?;
        // Padding is never attended to.
        let blocked = ((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((n, 1, 1, len))?;
        let bias = bias.broadcast_add(&blocked)?;
        for l in &self.layers {
            x = self.layer(l, &x, &bias)?;
        }
        Ok(x)
    }

    fn layer(&self, l: &Layer, x: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let (n, len, hidden) = x.dims3()?;
        let split = |t: Tensor| -> Result<Tensor> {
            t.reshape((n, len, self.heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(l.q.forward(x)?)?;
        let k = split(l.k.forward(x)?)?;
        let v = split(l.v.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? / (self.head_dim as f64).sqrt())?.broadcast_add(bias)?;
        let probs = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((n, len, hidden))?;
        let attended = l.attention_norm.forward(&(l.o.forward(&context)? + x)?)?;
        let inner = l.intermediate.forward(&attended)?.gelu_erf()?;
        l.output_norm
            .forward(&(l.output.forward(&inner)? + &attended)?)
    }

    /// The learned bias of every (query, key) pair's relative distance,
    /// (1, heads, len, len).
    fn position_bias(&self, len: usize, device: &Device) -> Result<Tensor> {
        let mut buckets = Vec::with_capacity(len * len);
        for q in 0..len as i64 {
            for k in 0..len as i64 {
                buckets.push(bucket(k - q, self.buckets));
            }
        }
        let buckets = Tensor::from_vec(buckets, (len, len), device)?;
        self.relative_bias
            .forward(&buckets)?
            .permute((2, 0, 1))?
            .unsqueeze(0)
    }
}

/// The bucket of a relative distance `key - query` (T5's scheme, as
/// MPNet uses it): half the buckets for each direction; within a
/// direction, exact distances up to a quarter of the buckets, then
/// logarithmic steps up to `MAX_DISTANCE`.
fn bucket(relative: i64, buckets: usize) -> u32 {
    let half = (buckets / 2) as i64;
    let n = -relative;
    let mut out = if n < 0 { half } else { 0 };
    let n = n.abs();
    let exact = half / 2;
    out += if n < exact {
        n
    } else {
        let far = ((n as f64 / exact as f64).ln() / (MAX_DISTANCE / exact as f64).ln()
            * (half - exact) as f64) as i64;
        (exact + far).min(half - 1)
    };
    out as u32
}

#[cfg(test)]
mod tests {
    use super::bucket;

    #[test]
    fn distances_fall_in_exact_then_logarithmic_buckets_per_direction() {
        // Near distances each have their own bucket; the two directions
        // use separate halves.
        assert_eq!(bucket(0, 32), 0);
        assert_eq!(bucket(-3, 32), 3);
        assert_eq!(bucket(3, 32), 19);
        // Far distances share buckets, up to the last of each half.
        assert_eq!(bucket(-9, 32), bucket(-10, 32));
        assert_eq!(bucket(-500, 32), 15);
        assert_eq!(bucket(500, 32), 31);
        let mut last = 0;
        for d in 0..300 {
            let b = bucket(-d, 32);
            assert!(b >= last, "buckets grow with distance");
            last = b;
        }
    }
}
