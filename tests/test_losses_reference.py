"""Every loss against an independent float64 implementation, values and gradients.

References are computed with rax (or, for neural_ndcg, a direct jax.numpy
transcription of the paper's formulas) in float64 on each list with its
padded items removed, so they also check the masking. Each backend compares
its own float32 loss and autodiff gradient to the same reference at relative
tolerance 1e-5, which makes JAX, TensorFlow and PyTorch agree with each other
to that tolerance as well.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import rax

import listrank.losses
from tests.autodiff import per_list_value_and_grad

RTOL = 1e-5


def reference_batch() -> tuple[np.ndarray, np.ndarray]:
    """Seeded lists with label ties, padding (-1) and the degenerate cases."""
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 5, size=(10, 6)) / 4.0
    scores = rng.normal(size=(10, 6))
    labels[1, 4:] = -1  # padded tail
    labels[2, [0, 3]] = -1  # padding in the middle
    labels[3] = 0.0  # no relevant item
    scores[4] = 0.3  # all scores tied
    labels[5] = 0.5  # all labels tied
    labels[6] = -1  # nothing valid
    scores[7, 2] = scores[7, 4]  # one score tie
    labels[8, 5] = -1
    return labels.astype(np.float32), scores.astype(np.float32)


# ---------------------------------------------------------------------------
# References: one list of valid items (1-D float64) -> scalar loss.


def _softmax_normalized(s, y):
    return rax.softmax_loss(s, y, label_fn=rax.utils.normalize_probabilities, reduce_fn=None)


def _ref_softmax(s, y):
    # rax would use a uniform target for an all-zero list; we weight it 0 (TF-Ranking).
    return jnp.where(y.sum() > 0, _softmax_normalized(s, y), 0.0)


def _ref_poly1(s, y, epsilon=1.0):
    # rax's poly1 = CE(raw labels) + eps (1 - p_t); ours uses the normalised labels
    # in the CE term too: swap rax's raw-label CE for the normalised one.
    poly_term = rax.poly1_softmax_loss(s, y, epsilon=epsilon, reduce_fn=None) - rax.softmax_loss(
        s, y, reduce_fn=None
    )
    return jnp.where(y.sum() > 0, _softmax_normalized(s, y) + poly_term, 0.0)


def _list_mle_label_order(y):
    # keras-rs breaks label ties by list position; the references use that order.
    return y - 1e-3 * jnp.arange(len(y))


def _ref_list_mle(s, y):
    """Closed form ``sum_i logsumexp(s_(i..n)) - s_(i)`` over the label order.

    rax's ``listmle_loss`` gives the same values (checked below) but a wrong
    gradient where scores tie exactly (its cumulative logsumexp differentiates
    through the running max), so the gradient reference is this closed form.
    """
    ordered = s[jnp.argsort(-_list_mle_label_order(y), stable=True)]
    return sum(jax.nn.logsumexp(ordered[i:]) - ordered[i] for i in range(len(s)))


def _rax_list_mle(s, y):
    return rax.listmle_loss(s, _list_mle_label_order(y), reduce_fn=None)


def _ref_pairwise(loss_fn, s, y, temperature=1.0):
    # keras-rs sums each item's pairs; the per-list total is the sum over all pairs.
    return loss_fn(s / temperature, y, reduce_fn=jnp.sum)


def _ref_approx_ndcg(s, y, temperature=1.0):
    # What rax.approx_t12n(rax.ndcg_metric, temperature) computes, spelled out:
    # approx_t12n itself calls jax.util.wraps, which this jax no longer has.
    step = lambda x: jax.nn.sigmoid(x / temperature)
    rank_fn = functools.partial(rax.utils.approx_ranks, step_fn=step)
    return -rax.ndcg_metric(s, y, rank_fn=rank_fn, reduce_fn=None)


def _ref_lambda_ndcg(s, y):
    weights = functools.partial(rax.dcg_lambdaweight, normalize=True)
    total = rax.pairwise_logistic_loss(s, y, lambdaweight_fn=weights, reduce_fn=jnp.sum)
    return total / len(y)  # rax scales its lambda weights by the list size; we do not


def _ref_neural_ndcg(s, y, temperature=1.0, sinkhorn_iterations=50):
    """NeuralSort (Grover et al. 2019) + Sinkhorn, then NDCG, as in the paper."""
    n = len(s)
    rank = jnp.arange(1, n + 1)
    spread = jnp.abs(s[:, None] - s[None, :]).sum(axis=1)
    sort_matrix = jax.nn.softmax(((n + 1 - 2 * rank)[:, None] * s[None, :] - spread[None, :]) / temperature, axis=1)

    def sinkhorn_round(_, matrix):
        matrix = matrix / matrix.sum(axis=0, keepdims=True)
        return matrix / matrix.sum(axis=1, keepdims=True)

    sort_matrix = jax.lax.fori_loop(0, sinkhorn_iterations, sinkhorn_round, sort_matrix)
    gains = 2.0**y - 1.0
    discounts = 1.0 / jnp.log2(1.0 + rank)
    ideal = jnp.sum(jnp.sort(gains)[::-1] * discounts)
    ndcg = jnp.sum(discounts * (sort_matrix @ gains)) / jnp.where(ideal > 0, ideal, 1.0)
    return jnp.where(ideal > 0, -ndcg, 0.0)


REFERENCES = {
    "mse": lambda s, y: jnp.mean(rax.pointwise_mse_loss(s, y, reduce_fn=None)),
    "sigmoid_cross_entropy": lambda s, y: jnp.mean(rax.pointwise_sigmoid_loss(s, y, reduce_fn=None)),
    "pairwise_hinge": functools.partial(_ref_pairwise, rax.pairwise_hinge_loss),
    "pairwise_logistic": functools.partial(_ref_pairwise, rax.pairwise_logistic_loss),
    "pairwise_soft_zero_one": functools.partial(_ref_pairwise, rax.pairwise_soft_zero_one_loss),
    # rax's pairwise MSE is keras-rs's actual formula (all pairs, label differences).
    "pairwise_mse": functools.partial(_ref_pairwise, rax.pairwise_mse_loss),
    "list_mle": _ref_list_mle,
    "softmax": _ref_softmax,
    "poly1_softmax": _ref_poly1,
    "approx_ndcg": _ref_approx_ndcg,
    "lambda_ndcg": _ref_lambda_ndcg,
    "neural_ndcg": _ref_neural_ndcg,
}

CASES = [(name, {}) for name in REFERENCES] + [
    ("pairwise_logistic", {"temperature": 2.0}),
    ("poly1_softmax", {"epsilon": 2.5}),
    ("approx_ndcg", {"temperature": 0.5}),
    ("neural_ndcg", {"temperature": 0.5, "sinkhorn_iterations": 10}),
]


def reference_value_and_grad(name: str, kwargs: dict, labels: np.ndarray, scores: np.ndarray):
    """Per-list float64 reference loss and gradient (0 on padded items)."""
    reference = functools.partial(REFERENCES[name], **kwargs)
    values = np.zeros(len(labels))
    grads = np.zeros(labels.shape)
    valid = labels >= 0
    sizes = valid.sum(axis=1)
    with jax.enable_x64(True):
        value_and_grad = jax.jit(jax.vmap(jax.value_and_grad(reference)))
        for size in set(sizes[sizes > 0]):  # lists of one size, padding removed, in one call
            rows = np.flatnonzero(sizes == size)
            compact = lambda a: jnp.asarray(np.stack([a[r][valid[r]] for r in rows]), jnp.float64)
            value, grad = value_and_grad(compact(scores), compact(labels))
            values[rows] = np.asarray(value)
            for row, row_grad in zip(rows, np.asarray(grad)):
                grads[row, valid[row]] = row_grad
    return values, grads


def test_every_registered_loss_has_a_reference():
    assert sorted(REFERENCES) == sorted(listrank.losses.names())


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}{kw or ''}" for n, kw in CASES])
def test_value_and_gradient_match_float64_reference(name, kwargs):
    labels, scores = reference_batch()
    loss = listrank.losses.get(name, reduction=None, **kwargs)
    values, grads = per_list_value_and_grad(loss, labels, scores)
    expected_values, expected_grads = reference_value_and_grad(name, kwargs, labels, scores)
    assert np.all(np.isfinite(grads))
    np.testing.assert_allclose(values, expected_values, rtol=RTOL, atol=RTOL * np.abs(expected_values).max())
    # Relative to each gradient's scale: entries that are 0 in float64 are ~1e-9 in float32.
    np.testing.assert_allclose(grads, expected_grads, rtol=RTOL, atol=RTOL * np.abs(expected_grads).max())
    assert np.abs(expected_grads).max() > 0  # the comparison is not between zeros


def test_list_mle_reference_agrees_with_rax_values():
    labels, scores = reference_batch()
    closed_form, _ = reference_value_and_grad("list_mle", {}, labels, scores)
    REFERENCES["list_mle"] = _rax_list_mle
    try:
        from_rax, _ = reference_value_and_grad("list_mle", {}, labels, scores)
    finally:
        REFERENCES["list_mle"] = _ref_list_mle
    np.testing.assert_allclose(closed_form, from_rax, rtol=1e-12)
