"""Keras model builders (imports keras).

Taught in ``notebooks/01_autoencoder_keras.ipynb``.
"""
from __future__ import annotations

import keras
from keras import layers


def build_autoencoder(filters=(64, 128, 256), dropout: float = 0.3, output_activation: str = "relu",
                      residual: bool = False, name: str = "autoencoder", dtype_policy: str | None = None) -> keras.Model:
    """The original tutorial's convolutional auto-encoder (ilopezfr/image-superres), rebuilt.

    Input and output: NHWC RGB in [0, 1], any height and width divisible by 4 (fully
    convolutional). Encoder: two 3x3 convolutions of ``filters[0]``, max-pool, dropout, two of
    ``filters[1]``, max-pool, one of ``filters[2]``. Decoder: upsample, two convolutions of
    ``filters[1]`` added to the encoder's second stage, upsample, two of ``filters[0]`` added to
    the first stage, then a 3x3 convolution to 3 channels. All ReLU. With the default filters it
    has 1,110,403 parameters, as the original.

    Differences from the original: every call builds new layers (the original built a second
    model from the first one's layers, so "two" models trained the same weights); the
    negligible L1 activity regulariser (1e-9) is left out. ``residual=True`` adds the input to
    the output (the network then learns only the missing detail) and makes the last
    activation linear.

    ``dtype_policy`` (``None``: Keras's global policy, normally ``"float32"``; or
    ``"mixed_bfloat16"``, see :func:`srlib.keras.training.dtype_policy`) applies to every layer but
    the last convolution and the final addition, which stay float32: the output image is then not
    rounded to bfloat16's 8-bit mantissa, and losses see float32 predictions.
    """
    if len(filters) != 3:
        raise ValueError(f"filters must have three entries (stage 1, stage 2, bottleneck), got {filters}")
    small, medium, large = filters

    policy = {"dtype": dtype_policy} if dtype_policy else {}

    def conv(width, activation="relu", **options):
        return layers.Conv2D(width, 3, padding="same", activation=activation, **(options or policy))

    inputs = keras.Input(shape=(None, None, 3), name="lowres")
    stage1 = conv(small)(conv(small)(inputs))
    x = layers.Dropout(dropout, **policy)(layers.MaxPooling2D(padding="same", **policy)(stage1))
    stage2 = conv(medium)(conv(medium)(x))
    x = conv(large)(layers.MaxPooling2D(padding="same", **policy)(stage2))
    x = conv(medium)(conv(medium)(layers.UpSampling2D(**policy)(x)))
    x = layers.Add(**policy)([stage2, x])
    x = conv(small)(conv(small)(layers.UpSampling2D(**policy)(x)))
    x = layers.Add(**policy)([x, stage1])
    if residual:
        x = layers.Add(name="highres", dtype="float32")([inputs, conv(3, activation=None, dtype="float32")(x)])
    else:
        x = conv(3, activation=output_activation, name="highres", dtype="float32")(x)
    return keras.Model(inputs, x, name=name)
