//! Int8 vectors: symmetric per-vector quantization, and the dot product the exact dense search
//! spends its time in — AVX2 where the CPU has it (chosen at run time: release builds target
//! plain x86-64, whose SSE2 code is several times slower), portable lanes elsewhere.

/// `v` as int8 in [-127, 127] and the scale that maps it back (`v[i] ≈ q[i] * scale`); a zero
/// vector has scale 0.
pub fn quantize(v: &[f32]) -> (Vec<i8>, f32) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; v.len()], 0.0);
    }
    let scale = max / 127.0;
    (v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect(), scale)
}

/// A dot product of two int8 vectors of one length.
pub type Dot = fn(&[i8], &[i8]) -> i32;

/// The fastest dot product this CPU runs (the check is made once per call: cheap, and a search
/// asks once).
pub fn dot() -> Dot {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return x86::dot_avx2;
    }
    dot_lanes
}

/// Integer dot product in fixed-width lanes, so the compiler can vectorize it for any target.
pub fn dot_lanes(a: &[i8], b: &[i8]) -> i32 {
    let mut lanes = [0i32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: i32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            lanes[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    lanes.iter().sum::<i32>() + tail
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Only handed out by `super::dot` after the CPU said it has AVX2.
    pub fn dot_avx2(a: &[i8], b: &[i8]) -> i32 {
        // SAFETY: `dot()` returns this function only when AVX2 was detected.
        unsafe { dot(a, b) }
    }

    /// 32 pairs per step: |a| (unsigned) times b with a's sign (signed) multiply-add into 16
    /// int16 sums of two products each, then into int32 lanes. Quantized values lie in
    /// [-127, 127], so a sum is at most 2·127·127 = 32,258: never saturated.
    #[target_feature(enable = "avx2")]
    unsafe fn dot(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let steps = n / 32;
        let ones = _mm256_set1_epi16(1);
        let mut sum = _mm256_setzero_si256();
        for i in 0..steps {
            // SAFETY: i * 32 + 32 <= n, within both slices; unaligned loads.
            let (x, y) = unsafe {
                (_mm256_loadu_si256(a.as_ptr().add(i * 32).cast()), _mm256_loadu_si256(b.as_ptr().add(i * 32).cast()))
            };
            let pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(x), _mm256_sign_epi8(y, x));
            sum = _mm256_add_epi32(sum, _mm256_madd_epi16(pairs, ones));
        }
        let halves = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        let quad = _mm_add_epi32(halves, _mm_shuffle_epi32(halves, 0b01_00_11_10));
        let pair = _mm_add_epi32(quad, _mm_shuffle_epi32(quad, 0b10_11_00_01));
        let tail: i32 = a[steps * 32..n].iter().zip(&b[steps * 32..n]).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
        _mm_cvtsi128_si32(pair) + tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(a: &[i8], b: &[i8]) -> i32 {
        a.iter().zip(b).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum()
    }

    /// Every length around the step sizes, extreme values included: the fast path must agree
    /// with the obvious sum exactly.
    #[test]
    fn the_dot_product_this_cpu_runs_equals_the_plain_sum() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((seed >> 33) % 255) as i32 - 127
        };
        for len in [0, 1, 15, 16, 31, 32, 33, 63, 64, 100, 383, 384, 385, 1024] {
            let a: Vec<i8> = (0..len).map(|_| next() as i8).collect();
            let b: Vec<i8> = (0..len).map(|_| next() as i8).collect();
            assert_eq!(dot()(&a, &b), plain(&a, &b), "random, length {len}");
            assert_eq!(dot_lanes(&a, &b), plain(&a, &b), "lanes, length {len}");
            let high = vec![127i8; len];
            let low = vec![-127i8; len];
            assert_eq!(dot()(&high, &high), plain(&high, &high), "127·127, length {len}");
            assert_eq!(dot()(&high, &low), plain(&high, &low), "127·-127, length {len}");
            assert_eq!(dot()(&low, &low), plain(&low, &low), "-127·-127, length {len}");
        }
    }

    #[test]
    fn quantized_vectors_keep_their_direction() {
        let v = [0.5f32, -0.25, 0.0, 1.0];
        let (q, scale) = quantize(&v);
        assert_eq!(q, vec![64, -32, 0, 127]);
        assert!((scale - 1.0 / 127.0).abs() < 1e-9);
        assert_eq!(quantize(&[0.0, 0.0]), (vec![0, 0], 0.0));
    }
}
