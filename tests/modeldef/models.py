"""Models: a residual unit with a learnable gate, and a small classifier built from it."""
import framework as fw
from framework import nn


class ResidualUnit(fw.HybridBlock):
    """``x + gate * Dense(relu(Dense(x)))`` on the last axis; ``gate`` is a custom Parameter."""

    def __init__(self, width, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.body = nn.HybridSequential()
            with self.body.name_scope():
                self.body.add(nn.Dense(width, flatten=False), nn.HybridLambda("relu"),
                              nn.Dense(width, flatten=False, in_units=width))
            self.gate = self.params.get("gate", shape=(1,), init=fw.init.Constant(0.5))

    def hybrid_forward(self, F, x, gate):
        return x + F.broadcast_mul(self.body(x), gate)


class TinyClassifier(fw.HybridBlock):
    """Scores ``classes`` classes for (batch, features) inputs.

    ``input_scale`` (one factor per input feature) has its size inferred from the first
    batch; ``logit_bias`` is taken with ``params.get`` and not kept as an attribute.
    """

    def __init__(self, classes=3, width=8, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.input_scale = self.params.get("input_scale", shape=(0,), init="ones",
                                               allow_deferred_init=True)
            self.stem = nn.Dense(width)
            self.blocks = nn.HybridSequential()
            with self.blocks.name_scope():
                self.blocks.add(ResidualUnit(width), ResidualUnit(width))
            self.head = nn.Dense(classes, in_units=width)
            self.params.get("logit_bias", shape=(classes,), init="zeros")

    def infer_shape(self, x, *args):
        self.input_scale.shape = (x.shape[1],)

    def hybrid_forward(self, F, x, input_scale):
        logit_bias = self.params.get("logit_bias").data(x.context)
        h = F.relu(self.stem(F.broadcast_mul(x, input_scale.reshape((1, -1)))))
        return F.broadcast_add(self.head(self.blocks(h)), logit_bias.reshape((1, -1)))
