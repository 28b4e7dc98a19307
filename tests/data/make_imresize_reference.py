"""How tests/data/imresize_dense_reference.npz was made: run at commit 6d08845, whose imresize built dense
(output x input) float64 matrices. Kept as the record of the inputs; the banded imresize must match
these outputs to 1e-6 (tests/test_resize.py). Run from the repository root: PYTHONPATH=. python ..."""
import numpy as np
from srlib.resize import imresize
from tests.conftest import synthetic_photo

cases = {}
photo = synthetic_photo(19, 26, seed=11)
gray = synthetic_photo(17, 23, seed=12)[..., 0]
uint8 = np.round(synthetic_photo(20, 15, seed=13) * 255).astype(np.uint8)
for scale in (0.5, 0.25, 1/3, 0.7, 1.0, 1.5, 2, 3, 4):
    cases[f"photo_scale_{scale:.4f}"] = imresize(photo, scale=scale)
    cases[f"gray_scale_{scale:.4f}"] = imresize(gray, scale=scale)
cases["uint8_scale_0.5000"] = imresize(uint8, scale=0.5)
cases["uint8_scale_2.0000"] = imresize(uint8, scale=2)
cases["photo_size_10x70"] = imresize(photo, size=(10, 70))
cases["photo_size_80x9"] = imresize(photo, size=(80, 9))
cases["photo_size_1x1"] = imresize(photo, size=(1, 1))
cases["photo_noantialias_0.5000"] = imresize(photo, scale=0.5, antialias=False)
np.savez_compressed("tests/data/imresize_dense_reference.npz", **cases)
print(len(cases), sum(v.nbytes for v in cases.values()))
