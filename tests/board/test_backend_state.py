"""A backend's checkpoint state restores the run exactly (real PyTorch and real MXNet)."""

import numpy as np
import pytest

HPARAMS = {"learning_rate": 0.01, "momentum": 0.9, "weight_decay": 5e-4}


@pytest.mark.parametrize("framework", ["pytorch", "mxnet"])
def test_backend_state_round_trip_continues_identically(framework):
    from edgebench.train.backend import load_backend

    backend_cls = load_backend(framework)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3, 32, 32)).astype(np.float32)
    y = np.array([0, 1, 2, 3])

    def fresh():
        return backend_cls("lenet", 10, 32, HPARAMS, seed=0, use_gpu=False, threads=1)

    original = fresh()
    original.train_step(x, y)  # momentum buffers now hold state that must survive too
    saved, digest = original.state_bytes(), original.weights_digest()
    restored = fresh()
    assert restored.weights_digest() != digest
    restored.load_state_bytes(saved)
    assert restored.weights_digest() == digest
    loss_a, _ = original.train_step(x, y)
    loss_b, _ = restored.train_step(x, y)
    assert loss_a == pytest.approx(loss_b, rel=1e-6)
    from edgebench import models

    after_a = models.to_numpy_weights(framework, original.model)
    after_b = models.to_numpy_weights(framework, restored.model)
    assert all(np.allclose(after_a[name], after_b[name], rtol=1e-6, atol=1e-7) for name in after_a)


@pytest.mark.parametrize("framework", ["pytorch", "mxnet"])
def test_each_backend_implements_the_protocol_with_its_signatures(framework):
    import inspect

    from edgebench.train.backend import Backend, load_backend

    backend_cls = load_backend(framework)
    members = [name for name, value in vars(Backend).items() if callable(value) or isinstance(value, staticmethod)]
    members = [name for name in members if not name.startswith("_") or name == "__init__"]
    assert {"train_step", "eval_step", "device_report", "state_bytes", "gpu_usable"} <= set(members)
    for name in members:
        wanted = list(inspect.signature(getattr(Backend, name)).parameters)
        assert list(inspect.signature(getattr(backend_cls, name)).parameters) == wanted, name
    assert backend_cls.framework == framework
