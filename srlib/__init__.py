"""srlib: image super-resolution helpers shared by the tutorials."""
