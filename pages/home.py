"""Home page: what GAN Lens does and where to start."""

import streamlit as st

st.title("GAN Lens")
st.markdown(
    """
Judge image generators and image datasets in the browser, without writing code.

- **Compare image sets** – how far apart two image distributions are: per-level Sliced
  Wasserstein Distance (Progressive GAN), FID and KID, matching the reference implementations.
- **Translate (CycleGAN)** and **Colorize** – what a pretrained generator does to your pictures.
- **Training lab** – train DCGAN and WGAN and scrub two runs side by side.
- **Image-to-image lab** – U-Net vs pix2pixHD-style coarse-to-fine generators on colorization and
  mosaic removal, with train and validation PSNR curves side by side.

Pick a page in the sidebar. Every page works offline with built-in sample data.
"""
)
