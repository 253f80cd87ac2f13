"""The native baseline in plain PyTorch (eager, as Keras' torch backend runs
by default): autograd for the gradients, Adagrad with ``torch._foreach_*``."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from bench.native.common import ADAGRAD_EPSILON, ADAGRAD_INITIAL_ACCUMULATOR

_DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def forward(params, user, movie):
    user_emb, movie_emb, k0, b0, k1, b1, k2, b2 = params
    movies = F.embedding(movie, movie_emb)  # (batch, list, dim)
    users = F.embedding(user, user_emb)[:, None, :].expand_as(movies)
    x = torch.cat([users, movies], dim=-1)
    x = torch.relu(x @ k0 + b0)
    x = torch.relu(x @ k1 + b1)
    return (x @ k2 + b2)[..., 0]


def mse(labels, scores):
    return torch.mean(torch.mean(torch.square(labels - scores), dim=-1))


def pairwise_hinge(labels, scores):
    pairs = (labels[:, :, None] > labels[:, None, :]).to(scores.dtype)
    hinge = torch.relu(1.0 - (scores[:, :, None] - scores[:, None, :]))
    return torch.sum(pairs * hinge) / labels.numel()


LOSS_FUNCTIONS = {"mse": mse, "pairwise_hinge": pairwise_hinge}


def _tensor(array, dtype=None):
    return torch.as_tensor(np.asarray(array), dtype=dtype, device=_DEVICE)


class Trainer:
    def __init__(self, params: list[np.ndarray], loss_name: str, learning_rate: float) -> None:
        if loss_name not in LOSS_FUNCTIONS:
            raise ValueError(f"no native {loss_name!r}; native losses: {', '.join(LOSS_FUNCTIONS)}")
        self.params = [_tensor(p, torch.float32).clone().requires_grad_(True) for p in params]
        self.accumulators = [torch.full_like(p, ADAGRAD_INITIAL_ACCUMULATOR).detach() for p in self.params]
        self.loss_fn = LOSS_FUNCTIONS[loss_name]
        self.learning_rate = float(learning_rate)

    def _inputs(self, user, movie, label=None):
        out = [_tensor(user, torch.int64), _tensor(movie, torch.int64)]
        if label is not None:
            out.append(_tensor(label, torch.float32))
        return out

    def step(self, user, movie, label):
        user, movie, label = self._inputs(user, movie, label)
        loss = self.loss_fn(label, forward(self.params, user, movie))
        grads = torch.autograd.grad(loss, self.params)
        with torch.no_grad():
            torch._foreach_addcmul_(self.accumulators, grads, grads)
            denominators = torch._foreach_add(self.accumulators, ADAGRAD_EPSILON)
            torch._foreach_sqrt_(denominators)
            torch._foreach_addcdiv_(self.params, grads, denominators, value=-self.learning_rate)
        return loss.detach()

    def loss(self, user, movie, label) -> float:
        user, movie, label = self._inputs(user, movie, label)
        with torch.no_grad():
            return float(self.loss_fn(label, forward(self.params, user, movie)))

    def sync(self) -> None:
        if _DEVICE.type == "cuda":
            torch.cuda.synchronize()

    def scores(self, user, movie) -> np.ndarray:
        user, movie = self._inputs(user, movie)
        with torch.no_grad():
            return forward(self.params, user, movie).cpu().numpy()

    def weights(self) -> list[np.ndarray]:
        return [p.detach().cpu().numpy().copy() for p in self.params]
