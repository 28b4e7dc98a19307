"""srlib's Keras layer (imports keras): the loss study's losses, the original auto-encoder, its
data and training loop, and VGG-16's features, for Keras 3 on any backend (this project runs it
on TensorFlow).

Every module here may import the NumPy core (``srlib.*``) and each other, never ``srlib.torch``
or the applications; a model that should join the zoo (which serves PyTorch) is converted by the
applications (:func:`srlib.export.keras_autoencoder_to_torch`).

- :mod:`srlib.keras.models`: the auto-encoder of the original tutorial (``build_autoencoder``);
- :mod:`srlib.keras.losses`, :mod:`srlib.keras.pretrained`: the losses, the offline VGG-16;
- :mod:`srlib.keras.data`, :mod:`srlib.keras.training`: a ``PyDataset`` of crops, a quiet fit that
  resumes after its last epoch, whole-image prediction.
"""
