"""GAN Lens Streamlit front end: entry point (app.py) and shared UI pieces (ui.py)."""
