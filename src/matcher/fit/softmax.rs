//! Training the classifiers (`super::super::classifier`): a softmax
//! regression with an L2 penalty over standardised embeddings or over
//! sparse word vectors, minimised by L-BFGS (the problem is smooth and convex; its tens of
//! thousands of weights are too many for the Newton steps the ranker
//! uses). A question labelled with several entries counts as an equal
//! share of each.

use super::super::classifier::fold;
use super::super::prototypes::as_shipped;
use super::super::semantic::dot;

/// What a classifier reads: embeddings of one length, or sparse rows of
/// (column, value) over `dim` columns.
pub(super) enum Examples<'a> {
    Dense(Vec<&'a [f32]>),
    Sparse(Vec<&'a [(usize, f32)]>, usize),
}

impl Examples<'_> {
    /// The rows `keep`, in that order.
    pub(super) fn select(&self, keep: &[usize]) -> Examples<'_> {
        match self {
            Examples::Dense(x) => Examples::Dense(keep.iter().map(|&i| x[i]).collect()),
            Examples::Sparse(x, d) => Examples::Sparse(keep.iter().map(|&i| x[i]).collect(), *d),
        }
    }
}

/// Weights on the raw input: `classes` rows of its length, and a bias
/// each.
#[derive(Clone)]
pub(super) struct Trained {
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    /// A dense classifier's weights as they ship: on the standardised
    /// input (`w` and `b` are these folded back onto the raw input).
    pub standard: Option<Standard>,
    /// The solution as the optimiser holds it, to start another penalty's
    /// training on the same examples from.
    theta: Vec<f64>,
    /// Which classes had an example to learn from.
    pub taught: Vec<bool>,
}

/// Weights on the standardised input `(x - mean) * scale`.
#[derive(Clone)]
pub(super) struct Standard {
    pub mean: Vec<f32>,
    pub scale: Vec<f32>,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

/// L-BFGS keeps this many steps of curvature, and stops after this many
/// iterations or when the largest gradient component is this small.
const MEMORY: usize = 10;
const MAX_ITERATIONS: usize = 300;
const TOLERANCE: f64 = 1e-5;

/// Trains on `x` with `targets` (class indexes below `classes`, at least
/// one per example) and penalty `l2`, starting from `from` (a training on
/// the same examples with another penalty) when given.
pub(super) fn train(
    x: &Examples,
    targets: &[&[usize]],
    classes: usize,
    l2: f64,
    from: Option<&Trained>,
) -> Trained {
    let mut taught = vec![false; classes];
    targets
        .iter()
        .flat_map(|t| t.iter())
        .for_each(|&c| taught[c] = true);
    let mut t = match x {
        Examples::Dense(x) => train_dense(x, targets, classes, l2, from),
        Examples::Sparse(rows, d) => {
            let problem = Problem {
                design: Design::Sparse(rows.as_slice(), *d),
                classes,
                targets,
                l2,
            };
            let start = from.map_or_else(|| vec![0.0; classes * (d + 1)], |t| t.theta.clone());
            let theta = lbfgs(&problem, start);
            Trained {
                w: theta[..classes * d].iter().map(|&v| v as f32).collect(),
                b: theta[classes * d..].iter().map(|&v| v as f32).collect(),
                theta,
                standard: None,
                taught: Vec::new(),
            }
        }
    };
    t.taught = taught;
    t
}

fn train_dense(
    x: &[&[f32]],
    targets: &[&[usize]],
    classes: usize,
    l2: f64,
    from: Option<&Trained>,
) -> Trained {
    let n = x.len();
    let d = x.first().map_or(0, |v| v.len());
    if n == 0 || d == 0 {
        return Trained {
            w: vec![0.0; classes * d],
            b: vec![0.0; classes],
            theta: Vec::new(),
            standard: None,
            taught: Vec::new(),
        };
    }
    // Standardise each dimension: the raw embeddings' variance sits in a
    // few directions, which makes the problem badly conditioned.
    let mut mean = vec![0.0f64; d];
    for v in x {
        mean.iter_mut()
            .zip(*v)
            .for_each(|(m, &a)| *m += f64::from(a));
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut var = vec![0.0f64; d];
    for v in x {
        for ((s, &a), m) in var.iter_mut().zip(*v).zip(&mean) {
            *s += (f64::from(a) - m).powi(2);
        }
    }
    let scale: Vec<f64> = var
        .iter()
        .map(|s| {
            let sd = (s / n as f64).sqrt();
            if sd > 1e-9 {
                1.0 / sd
            } else {
                0.0
            }
        })
        .collect();
    let xs: Vec<f32> = x
        .iter()
        .flat_map(|v| {
            v.iter()
                .zip(&mean)
                .zip(&scale)
                .map(|((&a, m), s)| ((f64::from(a) - m) * s) as f32)
        })
        .collect();
    let problem = Problem {
        design: Design::Dense(xs, d),
        classes,
        targets,
        l2,
    };
    let start = from.map_or_else(|| vec![0.0; classes * (d + 1)], |t| t.theta.clone());
    let theta = lbfgs(&problem, start);
    // The weights ship on the standardised embedding, quantized
    // (`prototypes::as_shipped`): there every dimension is on one scale,
    // so int8 rows lose little, where on the raw embedding a contextual
    // model's few high-variance directions would take the whole int8
    // range. They are folded back onto the raw embedding from the shipped
    // values (`classifier::fold`), so trained, cross-validated and shipped
    // classifiers all score with the same weights.
    let mean: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let scale: Vec<f32> = scale.iter().map(|&s| s as f32).collect();
    let ws: Vec<f32> = (0..classes)
        .flat_map(|c| {
            let row: Vec<f32> = theta[c * d..(c + 1) * d]
                .iter()
                .map(|&w| w as f32)
                .collect();
            as_shipped(&row)
        })
        .collect();
    let bs: Vec<f32> = theta[classes * d..].iter().map(|&b| b as f32).collect();
    let (w, b) = fold(&ws, &bs, &mean, &scale);
    Trained {
        w,
        b,
        theta,
        standard: Some(Standard {
            mean,
            scale,
            w: ws,
            b: bs,
        }),
        taught: Vec::new(),
    }
}

/// The penalised cross-entropy to minimise: weights (classes × d), then
/// biases. The biases are penalised too, so a class with no example in
/// a fold's training data settles at a low bias instead of drifting.
struct Problem<'a> {
    design: Design<'a>,
    classes: usize,
    targets: &'a [&'a [usize]],
    l2: f64,
}

/// The examples as the objective reads them: a dense row-major matrix of
/// `d` columns, or sparse rows.
enum Design<'a> {
    Dense(Vec<f32>, usize),
    Sparse(&'a [&'a [(usize, f32)]], usize),
}

impl Design<'_> {
    fn columns(&self) -> usize {
        match self {
            Design::Dense(_, d) | Design::Sparse(_, d) => *d,
        }
    }

    /// Example `i`'s dot product with weight row `w`.
    fn dot(&self, i: usize, w: &[f32]) -> f32 {
        match self {
            Design::Dense(xs, d) => dot(w, &xs[i * d..(i + 1) * d]),
            Design::Sparse(rows, _) => rows[i].iter().map(|&(c, v)| w[c] * v).sum(),
        }
    }

    /// Adds `r` times example `i` to `g`.
    fn add(&self, i: usize, r: f32, g: &mut [f32]) {
        match self {
            Design::Dense(xs, d) => g
                .iter_mut()
                .zip(&xs[i * d..(i + 1) * d])
                .for_each(|(g, &x)| *g += r * x),
            Design::Sparse(rows, _) => rows[i].iter().for_each(|&(c, v)| g[c] += r * v),
        }
    }
}

impl Problem<'_> {
    /// The objective and its gradient at `theta`.
    fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (d, k) = (self.design.columns(), self.classes);
        let w: Vec<f32> = theta[..k * d].iter().map(|&v| v as f32).collect();
        let b = &theta[k * d..];
        let mut gw = vec![0.0f32; k * d];
        let mut gb = vec![0.0f64; k];
        let mut loss = 0.0f64;
        let mut s = vec![0.0f64; k];
        for (i, targets) in self.targets.iter().enumerate() {
            for c in 0..k {
                s[c] = f64::from(self.design.dot(i, &w[c * d..(c + 1) * d])) + b[c];
            }
            let max = s.iter().copied().fold(f64::MIN, f64::max);
            let z: f64 = s.iter().map(|v| (v - max).exp()).sum();
            let lse = z.ln() + max;
            let share = 1.0 / targets.len() as f64;
            loss += lse - targets.iter().map(|&t| s[t] * share).sum::<f64>();
            for c in 0..k {
                let mut r = (s[c] - lse).exp();
                if targets.contains(&c) {
                    r -= share;
                }
                gb[c] += r;
                self.design.add(i, r as f32, &mut gw[c * d..(c + 1) * d]);
            }
        }
        let n = self.targets.len() as f64;
        let mut grad: Vec<f64> = gw
            .iter()
            .map(|&g| f64::from(g) / n)
            .chain(gb.iter().map(|g| g / n))
            .zip(theta)
            .map(|(g, t)| g + self.l2 * t)
            .collect();
        grad.truncate(theta.len());
        let penalty: f64 = theta.iter().map(|t| t * t).sum::<f64>();
        (loss / n + 0.5 * self.l2 * penalty, grad)
    }
}

/// Limited-memory BFGS with a backtracking (Armijo) line search.
fn lbfgs(p: &Problem, mut theta: Vec<f64>) -> Vec<f64> {
    let (mut f, mut g) = p.eval(&theta);
    let mut history: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new();
    for _ in 0..MAX_ITERATIONS {
        if g.iter().fold(0.0f64, |m, v| m.max(v.abs())) < TOLERANCE {
            break;
        }
        // Two-loop recursion: the direction -H g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, y, rho) in history.iter().rev() {
            let a = rho * dotd(s, &q);
            q.iter_mut().zip(y).for_each(|(q, y)| *q -= a * y);
            alphas.push(a);
        }
        let gamma = history
            .last()
            .map_or(1.0 / norm(&g).max(1.0), |(s, y, _)| dotd(s, y) / dotd(y, y));
        q.iter_mut().for_each(|v| *v *= gamma);
        for ((s, y, rho), a) in history.iter().zip(alphas.iter().rev()) {
            let beta = rho * dotd(y, &q);
            q.iter_mut().zip(s).for_each(|(q, s)| *q += (a - beta) * s);
        }
        let dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let slope = dotd(&g, &dir);
        if slope >= 0.0 {
            // Not a descent direction: start the curvature afresh.
            history.clear();
            continue;
        }
        let mut t = 1.0;
        let mut next = None;
        while t > 1e-10 {
            let cand: Vec<f64> = theta.iter().zip(&dir).map(|(a, d)| a + t * d).collect();
            let (fc, gc) = p.eval(&cand);
            if fc <= f + 1e-4 * t * slope {
                next = Some((cand, fc, gc));
                break;
            }
            t /= 2.0;
        }
        let Some((cand, fc, gc)) = next else { break };
        let s: Vec<f64> = cand.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gc.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dotd(&s, &y);
        if sy > 1e-12 {
            if history.len() == MEMORY {
                history.remove(0);
            }
            history.push((s, y, 1.0 / sy));
        }
        let done = (f - fc).abs() <= 1e-10 * f.abs().max(1.0);
        theta = cand;
        f = fc;
        g = gc;
        if done {
            break;
        }
    }
    theta
}

fn dotd(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dotd(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::super::super::classifier::log_probs;
    use super::*;

    /// Three classes around three centres in 4 dimensions.
    fn data() -> (Vec<Vec<f32>>, Vec<Vec<usize>>) {
        let centres = [
            [1.0, 0.2, 0.0, 0.1],
            [0.0, 1.0, 0.3, 0.0],
            [0.1, 0.0, 1.0, 0.5],
        ];
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..60 {
            let c = i % 3;
            let jitter = |j: usize| ((i * 7 + j * 13) as f32 * 0.61).sin() * 0.3;
            x.push((0..4).map(|j| centres[c][j] + jitter(j)).collect());
            y.push(vec![c]);
        }
        (x, y)
    }

    #[test]
    fn it_learns_separable_classes() {
        let (x, y) = data();
        let xr = Examples::Dense(x.iter().map(Vec::as_slice).collect());
        let yr: Vec<&[usize]> = y.iter().map(Vec::as_slice).collect();
        let t = train(&xr, &yr, 3, 1e-3, None);
        let right = x
            .iter()
            .zip(&y)
            .filter(|(v, c)| {
                let lp = log_probs(&t.w, &t.b, v);
                let best = (0..3).max_by(|&a, &b| lp[a].total_cmp(&lp[b]));
                best == Some(c[0])
            })
            .count();
        assert_eq!(right, x.len());
    }

    #[test]
    fn a_stronger_penalty_gives_softer_probabilities() {
        let (x, y) = data();
        let xr = Examples::Dense(x.iter().map(Vec::as_slice).collect());
        let yr: Vec<&[usize]> = y.iter().map(Vec::as_slice).collect();
        let confidence = |l2: f64| {
            let t = train(&xr, &yr, 3, l2, None);
            log_probs(&t.w, &t.b, &x[0])[y[0][0]].exp()
        };
        let (weak, strong) = (confidence(1e-4), confidence(1.0));
        assert!(weak > strong && strong > 1.0 / 3.0, "{weak} {strong}");
    }

    #[test]
    fn shipped_weights_score_like_trained_ones_on_an_embedding_with_a_common_offset() {
        // Contextual sentence embeddings share a large common component:
        // here one dimension sits near 3 with almost no spread, and the
        // classes differ in three others. Standardising gives that
        // dimension a huge raw weight; the bias has to be worked out from
        // the weights as they ship (quantized), or the rounding of that
        // weight times 3 moves every score.
        let (base, y) = data();
        let x: Vec<Vec<f32>> = base
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut v: Vec<f32> = v.iter().map(|a| a * 0.05).collect();
                v.push(3.0 + ((i * 31) as f32 * 0.37).sin() * 0.002);
                v
            })
            .collect();
        let xr = Examples::Dense(x.iter().map(Vec::as_slice).collect());
        let yr: Vec<&[usize]> = y.iter().map(Vec::as_slice).collect();
        let t = train(&xr, &yr, 3, 1e-3, None);
        let classes = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let s = t
            .standard
            .as_ref()
            .expect("a dense classifier ships standardised");
        let mut shipped =
            crate::matcher::classifier::Classifier::from_dense(5, 1e-3, classes, &s.w, s.b.clone());
        shipped.mean = s.mean.clone();
        shipped.scale = s.scale.clone();
        let json = serde_json::to_string(&shipped).expect("serializes");
        let shipped: crate::matcher::classifier::Classifier =
            serde_json::from_str(&json).expect("parses");
        let (w, bias) = shipped.dense().expect("round trip");
        for v in &x {
            let (a, b) = (log_probs(&t.w, &t.b, v), log_probs(&w, &bias, v));
            for (p, q) in a.iter().zip(&b) {
                assert!((p - q).abs() < 0.05, "trained {a:?} shipped {b:?}");
            }
        }
    }

    #[test]
    fn sparse_rows_learn_which_word_marks_a_class() {
        // Column 0 marks class 0, column 1 class 1; column 2 is noise.
        let rows: Vec<Vec<(usize, f32)>> = (0..40).map(|i| vec![(i % 2, 0.7), (2, 0.7)]).collect();
        let y: Vec<Vec<usize>> = (0..40).map(|i| vec![i % 2]).collect();
        let x = Examples::Sparse(rows.iter().map(Vec::as_slice).collect(), 3);
        let yr: Vec<&[usize]> = y.iter().map(Vec::as_slice).collect();
        let t = train(&x, &yr, 2, 1e-2, None);
        assert!(t.w[0] > t.w[1] && t.w[3 + 1] > t.w[3]);
        assert!(t.w[2].abs() < t.w[0].abs());
    }
}
