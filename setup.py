"""srlib: the library behind the image super-resolution tutorials in notebooks/.

`pip install -e .` installs only what `import srlib` needs (numpy, Pillow, scipy...); the
frameworks come as extras: `pip install -e .[torch]`, `.[keras]`, or `.[all]`. The README's
`make` commands build the full pinned environment from requirements.txt instead.
"""
from setuptools import find_packages, setup

setup(
    name="srlib",
    version="0.1.0",
    description="Image super-resolution tutorials and the small library they share",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["srlib", "srlib.*"]),
    package_data={"srlib": ["zoo/*.safetensors", "zoo/*.json"]},  # the model zoo (float16, ~50 MB)
    install_requires=["numpy>=1.24", "pillow>=10", "scipy>=1.10", "scikit-image>=0.22", "tifffile>=2023.1",
                      "tqdm>=4.60"],
    extras_require={
        "torch": ["torch>=2.1", "torchvision>=0.16", "fastai>=2.8.7", "safetensors>=0.4"],
        "keras": ["keras>=3.0", "tensorflow-cpu>=2.16"],
        "data": ["scikit-learn>=1.3", "matplotlib>=3.7", "sporco>=0.2"],
        "weights": ["onnx>=1.14"],
        "export": ["onnx>=1.14", "onnxruntime>=1.14"],
        "all": ["srlib[torch,keras,data,weights,export]", "matplotlib>=3.7", "opencv-python-headless>=4.12"],
    },
    entry_points={"console_scripts": ["srlib=srlib.cli:main"]},
)
