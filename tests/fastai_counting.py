"""A fastai callback for the distributed tests: how many training batches a process ran, and what
its model was during the fit (imports fastai)."""
from fastai.callback.core import Callback


class CountBatches(Callback):
    order = 20  # after the DistributedTrainer (11) has wrapped the model

    def before_fit(self):
        self.batches, self.wrapped = 0, type(self.learn.model).__name__

    def before_batch(self):
        self.batches += self.training
