//! Choosing the decision thresholds (`answer_min`, `answer_margin`,
//! `suggest_min`, `twin_ratio`) on out-of-fold probabilities: the
//! utility a support channel gets from each decision, the wrong-answer
//! budget every labelled set must keep, and the search.

use super::super::model::Weights;
use super::super::{arrange, shown, Decision, Matcher};
use super::{Labelled, Probs, Row, SHOWN};

/// How a decision is valued when choosing thresholds: the costs a support
/// channel pays, with a right answer and a right refusal worth 1 and a
/// wrong refusal -1. A wrong answer outright is the worst outcome (the
/// customer follows the wrong checklist); a list of choices is worth a
/// little when the right entry is in it and costs a little when not.
const ANSWER_WRONG: f64 = -4.0;
const SUGGEST_RIGHT: f64 = 0.4;
const SUGGEST_WRONG: f64 = -0.3;
/// Thresholds are searched on a grid of this step over 0..1.
const STEP: f32 = 0.025;
/// The share of a set's questions that may be answered wrong outright
/// (the hidden sets' target): thresholds that exceed it on any labelled
/// set, out of fold, are not chosen, whatever their utility.
const WRONG_BUDGET: f64 = 0.02;

/// Each threshold that is chosen, as a picker of it in a `Weights`, in
/// the order the search visits them.
const THRESHOLDS: [for<'a> fn(&'a mut Weights) -> &'a mut f32; 4] = [
    |w| &mut w.suggest_min,
    |w| &mut w.answer_min,
    |w| &mut w.answer_margin,
    |w| &mut w.twin_ratio,
];

/// The decision thresholds that maximise the utility above on
/// out-of-fold probabilities, each set judged as `steady` judges it:
/// coordinate ascent, each threshold in turn over a grid of 0..1, until
/// no change helps. Returns them with their own (not averaged) utility.
pub(super) fn choose_thresholds(
    rows: &[Row],
    oof: &[Probs],
    items: &[Labelled],
    m: &Matcher,
    twins: &[Vec<usize>],
    product_of: &impl Fn(usize) -> usize,
) -> (Weights, f64) {
    let entries = m.kb().entries();
    let mut sets: Vec<&str> = items.iter().map(|it| it.set.as_str()).collect();
    sets.sort_unstable();
    sets.dedup();
    let set_of: Vec<usize> = items
        .iter()
        .map(|it| sets.binary_search(&it.set.as_str()).unwrap_or(0))
        .collect();
    let mut set_items = vec![0usize; sets.len()];
    rows.iter().for_each(|r| set_items[set_of[r.item]] += 1);
    let utility = |w: &Weights| -> f64 {
        if w.answer_min < w.suggest_min {
            return f64::MIN;
        }
        let mut u = 0.0;
        let mut wrong = vec![0usize; sets.len()];
        for (r, p) in rows.iter().zip(oof) {
            let it = &items[r.item];
            let (d, pair) = arrange(w, &p.order, r.f.product_known, twins, product_of);
            let (value, answered_wrong) = worth(
                d,
                shown(&p.order, pair).map(|o| o.0),
                !it.expect.is_empty(),
                |e| it.expect.contains(&entries[e].id),
            );
            u += value;
            wrong[set_of[r.item]] += usize::from(answered_wrong);
        }
        let over = wrong
            .iter()
            .zip(&set_items)
            .any(|(&k, &n)| k as f64 > WRONG_BUDGET * n as f64);
        if over {
            f64::MIN
        } else {
            u
        }
    };
    let grid: Vec<f32> = (0..)
        .map(|i| i as f32 * STEP)
        .take_while(|x| *x < 1.0)
        .collect();
    // Start in the middle, with no margin: the same start on every run.
    let mut w = Weights::thresholds(0.5, 0.0, 0.5, 0.5);
    // Answering nothing keeps every set within the wrong-answer budget:
    // the start when the middle does not.
    if utility(&w) == f64::MIN {
        w.answer_min = grid[grid.len() - 1];
    }
    let steady = |t: &Weights| steady(t, &utility);
    let mut best = steady(&w);
    loop {
        let before = best;
        for pick in THRESHOLDS {
            for &x in &grid {
                let mut t = w.clone();
                *pick(&mut t) = x;
                let u = steady(&t);
                if u > best {
                    best = u;
                    w = t;
                }
            }
        }
        if best <= before {
            let u = utility(&w);
            return (w, u);
        }
    }
}

/// What decision `d` is worth for one question, and whether it answers
/// it wrong outright: `shown` the entries in the order they are shown,
/// `right` whether an entry is one the question expects.
fn worth(
    d: Decision,
    mut shown: impl Iterator<Item = usize>,
    in_scope: bool,
    right: impl Fn(usize) -> bool,
) -> (f64, bool) {
    match (in_scope, d) {
        (false, Decision::None) => (1.0, false),
        (false, Decision::Suggest) => (-1.0, false),
        (false, Decision::Answer) => (ANSWER_WRONG, true),
        (true, Decision::None) => (-1.0, false),
        (true, Decision::Answer) if shown.next().is_some_and(&right) => (1.0, false),
        (true, Decision::Answer) => (ANSWER_WRONG, true),
        (true, Decision::Suggest) if shown.take(SHOWN).any(&right) => (SUGGEST_RIGHT, false),
        (true, Decision::Suggest) => (SUGGEST_WRONG, false),
    }
}

/// What thresholds `t` are worth: `utility` averaged over them and their
/// eight neighbours on the grid (each threshold a step up or down), or
/// `f64::MIN` when any of them is ruled out. Out-of-fold probabilities
/// are a sample, and thresholds on a narrow peak, or one step from the
/// wrong-answer budget, would be chosen by its noise.
fn steady(t: &Weights, utility: &dyn Fn(&Weights) -> f64) -> f64 {
    let mut total = utility(t);
    if total == f64::MIN {
        return f64::MIN;
    }
    let mut points = 1;
    for pick in THRESHOLDS {
        for d in [-STEP, STEP] {
            let mut n = t.clone();
            let x = pick(&mut n);
            *x = (*x + d).clamp(0.0, 1.0);
            let u = utility(&n);
            if u == f64::MIN {
                return f64::MIN;
            }
            total += u;
            points += 1;
        }
    }
    total / f64::from(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thresholds(answer_min: f32) -> Weights {
        Weights::thresholds(answer_min, 0.0, 0.3, 0.5)
    }

    /// A utility over `answer_min` alone, by grid step.
    fn by_step(values: &[f64]) -> impl Fn(&Weights) -> f64 + '_ {
        |w| {
            let i = (w.answer_min / STEP).round() as usize;
            values.get(i).copied().unwrap_or(f64::MIN)
        }
    }

    #[test]
    fn a_decision_is_worth_what_is_shown_in_the_order_shown() {
        let right = |e: usize| e == 7;
        let worth = |d, shown: &[usize], in_scope| worth(d, shown.iter().copied(), in_scope, right);
        // An answer is judged by the entry shown first, a suggestion by
        // the first three shown, whatever their probabilities.
        assert_eq!(worth(Decision::Answer, &[7, 1, 2], true), (1.0, false));
        assert_eq!(
            worth(Decision::Answer, &[1, 7, 2], true),
            (ANSWER_WRONG, true)
        );
        assert_eq!(
            worth(Decision::Suggest, &[1, 2, 7, 3], true),
            (SUGGEST_RIGHT, false)
        );
        assert_eq!(
            worth(Decision::Suggest, &[1, 2, 3, 7], true),
            (SUGGEST_WRONG, false)
        );
        assert_eq!(worth(Decision::None, &[7], true), (-1.0, false));
        // Out of scope, only `none` is right, and any answer is wrong.
        assert_eq!(worth(Decision::None, &[7], false), (1.0, false));
        assert_eq!(worth(Decision::Suggest, &[7], false), (-1.0, false));
        assert_eq!(worth(Decision::Answer, &[7], false), (ANSWER_WRONG, true));
    }

    #[test]
    fn a_broad_optimum_outweighs_a_narrow_peak() {
        // Steps 2..=6 are a plateau at 10; step 9 alone reaches 12.
        let mut u = vec![0.0; 12];
        u[2..=6].fill(10.0);
        u[9] = 12.0;
        let u = by_step(&u);
        let at = |i: usize| steady(&thresholds(i as f32 * STEP), &u);
        assert!(u(&thresholds(9.0 * STEP)) > u(&thresholds(4.0 * STEP)));
        assert!(at(4) > at(9), "{} vs {}", at(4), at(9));
        assert_eq!(at(4), 10.0);
    }

    #[test]
    fn thresholds_a_step_from_the_budget_are_ruled_out() {
        // Below step 5 the wrong-answer budget is broken.
        let mut u = vec![f64::MIN; 5];
        u.extend([20.0, 15.0, 10.0, 5.0, 0.0]);
        let u = by_step(&u);
        let at = |i: usize| steady(&thresholds(i as f32 * STEP), &u);
        assert_eq!(at(4), f64::MIN);
        assert_eq!(at(5), f64::MIN, "its lower neighbour breaks the budget");
        assert!(at(6) > f64::MIN);
        assert!(at(6) > at(7));
    }
}
