//! Deterministic pseudo-random test data (SplitMix64) shared by tests and examples, so
//! results are reproducible without a rand dependency.

/// SplitMix64 generator (Steele, Lea & Flood 2014).
pub struct Rng(pub u64);

impl Rng {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Irregular times over `span` (sorted), a noisy sinusoid plus harmonic, and errors.
pub fn random_curve(n: usize, span: f64, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut r = Rng(seed);
    let mut t: Vec<f64> = (0..n).map(|_| 50000.0 + span * r.uniform()).collect();
    t.sort_by(f64::total_cmp);
    let f = 1.0 / (0.3 + r.uniform());
    let dy: Vec<f64> = (0..n).map(|_| 0.05 + 0.1 * r.uniform()).collect();
    let y: Vec<f64> = t
        .iter()
        .zip(&dy)
        .map(|(&x, &e)| {
            let ph = std::f64::consts::TAU * f * x;
            15.0 + 0.3 * ph.sin() + 0.1 * (2.0 * ph).cos() + e * r.normal()
        })
        .collect();
    (t, y, dy)
}

/// Synthetic multiband RR Lyrae-like star with Stripe 82-like sampling: `nepoch` nights
/// over 8 autumn seasons (Sept-Dec), one visit per night at a night-time fraction of the
/// MJD (0.12..0.32, which makes daily aliases strong), 5 bands observed within minutes.
/// The light curve is a skewed sawtooth (rise over 15% of the cycle, slow decline) with
/// per-band amplitude ratios u:g:r:i:z = 1.1:1:0.75:0.6:0.55. Returns
/// (t, y, dy, band, true_period).
pub fn rrlyrae_like(nepoch: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<u8>, f64) {
    let mut r = Rng(seed);
    let period = 0.45 + 0.25 * r.uniform();
    let amp = 0.6 + 0.4 * r.uniform();
    let phase0 = r.uniform();
    let ratios = [1.1, 1.0, 0.75, 0.6, 0.55];
    let means = [18.2, 17.1, 16.9, 16.85, 16.8];
    let noise = [0.15, 0.06, 0.06, 0.08, 0.12];
    let (mut t, mut y, mut dy, mut band) = (vec![], vec![], vec![], vec![]);
    for _ in 0..nepoch {
        let year = (r.uniform() * 8.0).floor();
        let night = 51_800.0 + 365.25 * year + (r.uniform() * 110.0).floor();
        let t0 = night + 0.12 + 0.2 * r.uniform();
        for b in 0..5 {
            let tb = t0 + 0.0007 * b as f64;
            let ph = ((tb / period + phase0) % 1.0 + 1.0) % 1.0;
            let saw = if ph < 0.15 {
                ph / 0.15
            } else {
                (1.0 - ph) / 0.85
            };
            let e = noise[b];
            t.push(tb);
            y.push(means[b] - amp * ratios[b] * (saw - 0.5) + e * r.normal());
            dy.push(e);
            band.push(b as u8);
        }
    }
    (t, y, dy, band, period)
}
