"""Plain PyTorch/NumPy/pandas behind every page of the lab. Never imports Streamlit."""
