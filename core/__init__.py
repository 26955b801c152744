"""GAN Lens engine: image-set metrics (SWD, FID, KID), pretrained generators and a GAN training lab.

Pure PyTorch/NumPy; never imports Streamlit. Usable as a library and as a CLI (`python -m core`).
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
